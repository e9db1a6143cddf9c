/* test_threads.c - tasks and other threads: a future completed by a plain
 * thread wakes the awaiting task (and only the task waited: the loop kept
 * running others); the fired-before-park race, many times over; loops with
 * their tasks in two threads at once. */
#include <stdatomic.h>
#include <unistd.h>

#include "task_support.h"

typedef struct ticker {
  bool stop;
  _Atomic int ticks; /* read by the completing thread */
} ticker;

static int tick(loom_future *self, void *arg) {
  ticker *tk = arg;
  while (!tk->stop) {
    atomic_fetch_add(&tk->ticks, 1);
    int rc = loom_sleep(0.001);
    if (rc < 0) return rc;
  }
  return 0;
}

typedef struct completer {
  loom_future *f;
  ticker *tk;
  long value;
} completer;

/* Completes the future once the loop has ticked 5 times (at most 10 s): the
 * ticks happen while the awaiting task waits, which they could not if the
 * wait blocked the loop.  (A fixed 50 ms delay made the count depend on the
 * machine's load: 3 ticks under valgrind.) */
static void *complete_from_thread(void *arg) {
  completer *c = arg;
  for (int i = 0; i < 10000 && atomic_load(&c->tk->ticks) < 5; i++) usleep(1000);
  loom_future_set_result(c->f, (void *)c->value, NULL);
  return NULL;
}

typedef struct awaiter {
  loom_future *f;
  ticker *tk;
  void *got;
} awaiter;

static int await_thread_future(loom_future *self, void *arg) {
  awaiter *a = arg;
  int rc = loom_future_result(a->f, 30.0, &a->got);
  a->tk->stop = true;
  return rc;
}

LOOM_TEST(threads, await_future_completed_by_a_thread) {
  loom_loop *l = ts_loop(false);
  ticker tk = {.stop = false};
  awaiter a = {NULL, &tk, NULL};
  LT_RC(loom_future_create(&a.f), 0);
  completer c = {a.f, &tk, 1234};
  loom_future *t1, *t2;
  LT_RC(loom_task_spawn(l, tick, &tk, "ticker", &t1), 0);
  LT_RC(loom_task_spawn(l, await_thread_future, &a, "awaiter", &t2), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, complete_from_thread, &c), 0);
  LT_RC(loom_loop_run_until_complete(l, t2), 0);
  ts_until(l, t1);
  pthread_join(th, NULL);
  LT_RC(loom_future_result(t2, 0, NULL), 0);
  assert_int_equal((long)a.got, 1234);
  /* The loop was not blocked while the task waited. */
  LT_CHECK(atomic_load(&tk.ticks) >= 5, "only %d ticks while the task waited",
           atomic_load(&tk.ticks));
  loom_future_release(a.f);
  loom_future_release(t1);
  loom_future_release(t2);
  loom_loop_destroy(l);
}

/* The completing thread races the task's subscribe/park: the future may be
 * completed before, during or after the task parks.  Every round must end
 * with the task resumed exactly once. */
enum { RACE_ROUNDS = 2000 };

typedef struct racer {
  loom_future *futs[RACE_ROUNDS];
  int got;
} racer;

static void *complete_all(void *arg) {
  racer *r = arg;
  for (int i = 0; i < RACE_ROUNDS; i++) {
    if (i % 3 == 0) sched_yield();
    loom_future_set_result(r->futs[i], (void *)(long)i, NULL);
  }
  return NULL;
}

static int await_all(loom_future *self, void *arg) {
  racer *r = arg;
  for (int i = 0; i < RACE_ROUNDS; i++) {
    void *v;
    int rc = loom_future_result(r->futs[i], 10.0, &v);
    if (rc < 0) return rc;
    if ((long)v == i) r->got++;
    if (i % 7 == 0) loom_yield(); /* leaves a stale wake-up now and then */
  }
  return 0;
}

LOOM_TEST(threads, fired_before_park_race) {
  loom_loop *l = ts_loop(false);
  racer *r = calloc(1, sizeof *r);
  for (int i = 0; i < RACE_ROUNDS; i++) LT_RC(loom_future_create(&r->futs[i]), 0);
  loom_future *t;
  LT_RC(loom_task_spawn(l, await_all, r, NULL, &t), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, complete_all, r), 0);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  pthread_join(th, NULL);
  LT_RC(loom_future_result(t, 0, NULL), 0);
  assert_int_equal(r->got, RACE_ROUNDS);
  for (int i = 0; i < RACE_ROUNDS; i++) loom_future_release(r->futs[i]);
  free(r);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* Two loops, each in its own thread, each with tasks handing a token around
 * through futures. */
typedef struct ring {
  loom_future *next[8];
  int hops;
} ring;

typedef struct ring_member {
  ring *r;
  int i;
} ring_member;

static int ring_task(loom_future *self, void *arg) {
  ring_member *m = arg;
  ring *r = m->r;
  for (int round = 0; round < 50; round++) {
    if (!(m->i == 0 && round == 0)) {
      int rc = loom_future_wait(r->next[m->i], 5.0);
      if (rc < 0) return rc;
      loom_future_release(r->next[m->i]);
      if (loom_future_create(&r->next[m->i]) < 0) return LOOM_ENOMEM;
    }
    r->hops++;
    int to = (m->i + 1) % 8;
    loom_future_set_result(r->next[to], NULL, NULL);
    if (m->i == 7 && round == 49) break;
  }
  return 0;
}

static void *loop_thread(void *arg) {
  int *result = arg;
  loom_loop *l = NULL;
  if (loom_loop_create(&l, NULL) < 0) return NULL;
  ring r = {{0}, 0};
  ring_member m[8];
  loom_future *t[8];
  for (int i = 0; i < 8; i++) loom_future_create(&r.next[i]);
  for (int i = 0; i < 8; i++) {
    m[i] = (ring_member){&r, i};
    loom_task_spawn(l, ring_task, &m[i], NULL, &t[i]);
  }
  for (int i = 0; i < 8; i++) {
    if (!loom_future_done(t[i])) loom_loop_run_until_complete(l, t[i]);
    if (loom_future_result(t[i], 0, NULL) == 0) result[0]++;
    loom_future_release(t[i]);
  }
  result[1] = r.hops;
  for (int i = 0; i < 8; i++) loom_future_release(r.next[i]);
  loom_loop_destroy(l);
  return NULL;
}

LOOM_TEST(threads, two_loops_two_threads) {
  int res[2][2] = {{0, 0}, {0, 0}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, loop_thread, res[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(res[i][0], 8);
    assert_int_equal(res[i][1], 8 * 50);
  }
}

/* Tasks awaiting jobs of the thread pool: the workers complete the futures
 * from their threads, the tasks resume on the loop. */
static int square_job(loom_future *self, void *arg) {
  usleep(2000);
  long x = (long)arg;
  return loom_future_set_result(self, (void *)(x * x), NULL);
}

typedef struct pool_user {
  loom_executor *pool;
  long sum;
} pool_user;

static int submit_and_await(loom_future *self, void *arg) {
  pool_user *u = arg;
  loom_future *jobs[8];
  for (long i = 0; i < 8; i++) {
    int rc = loom_executor_submit(u->pool, square_job, (void *)i, &jobs[i]);
    if (rc < 0) return rc;
  }
  for (int i = 0; i < 8; i++) {
    void *v;
    int rc = loom_future_result(jobs[i], 10.0, &v);
    loom_future_release(jobs[i]);
    if (rc < 0) return rc;
    u->sum += (long)v;
  }
  return 0;
}

LOOM_TEST(threads, await_thread_pool_jobs) {
  loom_executor *pool = NULL;
  LT_RC(loom_thread_pool_create(&pool, NULL), 0);
  loom_loop *l = ts_loop(false);
  pool_user u[3] = {{pool, 0}, {pool, 0}, {pool, 0}};
  loom_future *t[3];
  for (int i = 0; i < 3; i++) LT_RC(loom_task_spawn(l, submit_and_await, &u[i], NULL, &t[i]), 0);
  for (int i = 0; i < 3; i++) {
    ts_until(l, t[i]);
    LT_RC(loom_future_result(t[i], 0, NULL), 0);
    assert_int_equal(u[i].sum, 0 + 1 + 4 + 9 + 16 + 25 + 36 + 49);
    loom_future_release(t[i]);
  }
  loom_loop_destroy(l);
  loom_executor_destroy(pool);
}

/* Spawning on a loop that another thread is driving is refused (the loop's
 * structures belong to that thread); through call_soon_threadsafe it works. */
typedef struct foreign {
  loom_loop *l;
  int direct_rc;
  loom_future *spawned;
} foreign;

static int forty_two(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)42L, NULL);
}

static void spawn_cb(void *arg) {
  foreign *f = arg;
  loom_task_spawn(f->l, forty_two, NULL, "posted", &f->spawned);
  loom_loop_stop(f->l);
}

static void *from_other_thread(void *arg) {
  foreign *f = arg;
  while (!loom_loop_is_running(f->l)) usleep(100);
  f->direct_rc = loom_task_spawn(f->l, forty_two, NULL, NULL, NULL);
  loom_call_soon_threadsafe(f->l, spawn_cb, f, NULL);
  return NULL;
}

LOOM_TEST(threads, spawn_from_another_thread) {
  foreign f = {ts_loop(false), 1, NULL};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, from_other_thread, &f), 0);
  LT_RC(loom_loop_run_forever(f.l), 0);
  pthread_join(th, NULL);
  LT_RC(f.direct_rc, LOOM_EINVALIDSTATE);
  assert_non_null(f.spawned);
  ts_until(f.l, f.spawned);
  void *v;
  LT_RC(loom_future_result(f.spawned, 0, &v), 0);
  assert_int_equal((long)v, 42);
  loom_future_release(f.spawned);
  loom_loop_destroy(f.l);
}
