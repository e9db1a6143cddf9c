/* test_loop_threads.c - the loop and other threads: call_soon_threadsafe
 * from 8 threads x 10,000 calls (each runs exactly once, each thread's calls
 * in order), run_until_complete on a future finished by another thread, stop
 * from another thread, and two loops running in two threads at once. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "loom_test.h"

enum { THREADS = 8, PER_THREAD = 10000 };

typedef struct ts {
  loom_loop *loop;
  int ran[THREADS][PER_THREAD];
  int last[THREADS];
  int order_bad;
  int total;
} ts;

typedef struct ts_item {
  ts *t;
  int thread, i;
} ts_item;

static ts_item items[THREADS][PER_THREAD];

static void ts_run(void *arg) {
  ts_item *it = arg;
  ts *t = it->t;
  t->ran[it->thread][it->i]++;
  if (it->i != t->last[it->thread] + 1) t->order_bad++;
  t->last[it->thread] = it->i;
  if (++t->total == THREADS * PER_THREAD) loom_loop_stop(t->loop);
}

static void *producer(void *arg) {
  ts_item *row = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    int rc = loom_call_soon_threadsafe(row[i].t->loop, ts_run, &row[i], NULL);
    if (rc) abort();
  }
  return NULL;
}

LOOM_TEST(loop_threads, call_soon_threadsafe_8x10000) {
  ts *t = calloc(1, sizeof *t);
  LT_RC(loom_loop_create(&t->loop, NULL), 0);
  pthread_t th[THREADS];
  for (int k = 0; k < THREADS; k++) {
    t->last[k] = -1;
    for (int i = 0; i < PER_THREAD; i++) items[k][i] = (ts_item){t, k, i};
  }
  for (int k = 0; k < THREADS; k++) pthread_create(&th[k], NULL, producer, items[k]);
  LT_RC(loom_loop_run_forever(t->loop), 0);
  for (int k = 0; k < THREADS; k++) pthread_join(th[k], NULL);
  assert_int_equal(t->total, THREADS * PER_THREAD);
  assert_int_equal(t->order_bad, 0);
  for (int k = 0; k < THREADS; k++)
    for (int i = 0; i < PER_THREAD; i++) LT_CHECK(t->ran[k][i] == 1, "[%d][%d] ran %d", k, i, t->ran[k][i]);
  loom_loop_destroy(t->loop);
  free(t);
}

static void *complete_later(void *arg) {
  usleep(20000);
  loom_future_set_result(arg, (void *)(intptr_t)7, NULL);
  return NULL;
}

LOOM_TEST(loop_threads, run_until_complete_foreign_future) {
  loom_loop *loop = NULL;
  LT_RC(loom_loop_create(&loop, NULL), 0);
  loom_future *f = NULL;
  LT_RC(loom_future_create(&f), 0);
  pthread_t th;
  double t0 = loom_now(); /* before the thread starts its 20 ms sleep */
  pthread_create(&th, NULL, complete_later, f);
  LT_RC(loom_loop_run_until_complete(loop, f), 0);
  assert_true(loom_future_done(f));
  LT_CHECK(loom_now() - t0 >= 0.019, "returned after %.4f s", loom_now() - t0);
  pthread_join(th, NULL);
  void *v;
  LT_RC(loom_future_result(f, 0, &v), 0);
  assert_int_equal((intptr_t)v, 7);
  loom_future_release(f);
  loom_loop_destroy(loop);
}

static void *stop_later(void *arg) {
  usleep(20000);
  loom_loop_stop(arg);
  return NULL;
}

LOOM_TEST(loop_threads, stop_from_other_thread) {
  loom_loop *loop = NULL;
  LT_RC(loom_loop_create(&loop, NULL), 0);
  pthread_t th;
  pthread_create(&th, NULL, stop_later, loop);
  LT_RC(loom_loop_run_forever(loop), 0); /* sleeps in epoll until woken */
  pthread_join(th, NULL);
  loom_loop_destroy(loop);
}

/* Two loops in two threads, each with its own timers and current loop. */
typedef struct two {
  loom_loop *loop;
  int fired;
  int current_ok;
} two;

static void two_tick(void *arg) {
  two *t = arg;
  t->fired++;
  t->current_ok += loom_loop_current() == t->loop;
  if (t->fired == 20) loom_loop_stop(t->loop);
  else loom_call_later(t->loop, 0.001, two_tick, t, NULL);
}

static void *two_run(void *arg) {
  two *t = arg;
  loom_call_soon(t->loop, two_tick, t, NULL);
  loom_loop_run_forever(t->loop);
  return NULL;
}

LOOM_TEST(loop_threads, two_loops_two_threads) {
  two a = {0}, b = {0};
  LT_RC(loom_loop_create(&a.loop, NULL), 0);
  LT_RC(loom_loop_create(&b.loop, NULL), 0);
  pthread_t ta, tb;
  pthread_create(&ta, NULL, two_run, &a);
  pthread_create(&tb, NULL, two_run, &b);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  assert_int_equal(a.fired, 20);
  assert_int_equal(b.fired, 20);
  assert_int_equal(a.current_ok, 20);
  assert_int_equal(b.current_ok, 20);
  loom_loop_destroy(a.loop);
  loom_loop_destroy(b.loop);
}

/* A thread-safe post races with close: either it runs or it is refused. */
static void count(void *arg) { (*(int *)arg)++; }
typedef struct race {
  loom_loop *loop;
  int accepted, ran;
} race;
static void *post_many(void *arg) {
  race *r = arg;
  for (int i = 0; i < 1000; i++)
    if (loom_call_soon_threadsafe(r->loop, count, &r->ran, NULL) == 0) r->accepted++;
  return NULL;
}

LOOM_TEST(loop_threads, post_races_close) {
  race r = {0};
  LT_RC(loom_loop_create(&r.loop, NULL), 0);
  pthread_t th;
  pthread_create(&th, NULL, post_many, &r);
  usleep(100);
  LT_RC(loom_loop_close(r.loop), 0);
  pthread_join(th, NULL);
  assert_int_equal(r.ran, 0); /* accepted ones were dropped by close */
  loom_loop_destroy(r.loop); /* no leaked handles: the harness checks */
}
