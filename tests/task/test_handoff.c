/* test_handoff.c - the task hot paths: the direct hand-off (a suspending task
 * switches straight to the task the loop would run next) and task storage
 * (slab slots reused after the last reference, from any thread).
 *
 * The hand-off must be invisible: FIFO order among ready tasks, I/O and
 * timers still served while two tasks ping-pong forever, run_until_complete
 * returning when its future is done, wake-ups from plain threads mixed with
 * wake-ups from tasks of the same loop, cancellation delivered at the next
 * suspension, and the stall detector still naming the slow task. */
#include <unistd.h>

#include "pingpong.h"

#if defined(LOOM_ASAN)
#include <sanitizer/asan_interface.h>
#endif

LOOM_TEST(handoff, pingpong_alternates_and_counts) {
  loom_loop *l = ts_loop(false);
  char log[1000] = {0};
  pingpong g;
  pingpong_start(l, &g, 1000, log);
  pingpong_finish(l, &g);
  assert_int_equal(g.hops, 1000);
  for (int i = 0; i < 1000; i++)
    LT_CHECK(log[i] == (i % 2 ? 'b' : 'a'), "hop %d received by '%c'", i, log[i]);
  loom_loop_destroy(l);
}

/* A third task yields in a loop: FIFO among ready tasks means it runs once
 * per round of the ping-pong, never starved by the hand-off. */
typedef struct yielder {
  bool *stop;
  long runs;
} yielder;

static int yield_loop(loom_future *self, void *arg) {
  (void)self;
  yielder *y = arg;
  while (!*y->stop) {
    y->runs++;
    int rc = loom_yield();
    if (rc < 0) return rc;
  }
  return 0;
}

LOOM_TEST(handoff, ready_tasks_keep_fifo_turns) {
  loom_loop *l = ts_loop(false);
  pingpong g;
  pingpong_start(l, &g, 2000, NULL);
  yielder y = {&g.stop, 0};
  loom_future *ty;
  LT_RC(loom_task_spawn(l, yield_loop, &y, "yielder", &ty), 0);
  ts_until(l, g.ta);
  ts_until(l, g.tb);
  g.stop = true;
  ts_until(l, ty);
  /* Each hop readies one player; the yielder readies itself once per turn:
   * in FIFO order it runs once per hop, give or take the start and end. */
  LT_CHECK(y.runs >= 1990 && y.runs <= 2010, "yielder ran %ld times in 2000 hops", y.runs);
  pingpong_finish(l, &g);
  loom_future_release(ty);
  loom_loop_destroy(l);
}

/* I/O is served while two tasks hand the CPU to each other forever: the
 * hand-offs count as skipped polls, so the backend is polled again soon. */
static void on_readable(void *arg) { *(bool *)arg = true; }

LOOM_TEST(handoff, io_not_starved_by_pingpong) {
  loom_loop *l = ts_loop(false);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  pingpong g;
  pingpong_start(l, &g, 0, NULL);
  LT_RC(loom_loop_add_reader(l, fds[0], on_readable, &g.stop), 0);
  ts_until(l, g.ta);
  ts_until(l, g.tb);
  /* The reader ran (it set stop) within a bounded number of hops. */
  LT_CHECK(g.hops > 0 && g.hops < 100000, "reader ran after %ld hops", g.hops);
  LT_RC(loom_loop_remove_reader(l, fds[0]), 1); /* 1: it was registered */
  pingpong_finish(l, &g);
  close(fds[0]);
  close(fds[1]);
  loom_loop_destroy(l);
}

/* A timer fires while two tasks ping-pong (each wait arms a 10 s timer too):
 * no hand-off runs past a timer that is due. */
LOOM_TEST(handoff, timer_fires_during_pingpong) {
  loom_loop *l = ts_loop(false);
  pingpong g;
  pingpong_start(l, &g, 0, NULL);
  loom_handle *h;
  double t0 = loom_now();
  LT_RC(loom_call_later(l, 0.02, on_readable, &g.stop, &h), 0);
  ts_until(l, g.ta);
  ts_until(l, g.tb);
  double took = loom_now() - t0;
  LT_CHECK(took >= 0.019, "the 20 ms timer stopped the game after %.4f s", took);
  assert_true(g.hops > 0);
  loom_handle_release(h);
  pingpong_finish(l, &g);
  loom_loop_destroy(l);
}

/* run_until_complete returns as soon as its future is done, even while the
 * other tasks could keep handing over to each other. */
static int finish_after_hops(loom_future *self, void *arg) {
  (void)self;
  long *hops = arg;
  while (*hops < 500) {
    int rc = loom_yield();
    if (rc < 0) return rc;
  }
  return 0;
}

LOOM_TEST(handoff, run_until_complete_returns_mid_game) {
  loom_loop *l = ts_loop(false);
  pingpong g;
  pingpong_start(l, &g, 0, NULL);
  loom_future *w;
  LT_RC(loom_task_spawn(l, finish_after_hops, &g.hops, "watcher", &w), 0);
  ts_until(l, w);
  /* The game went on only for the rest of the batch, not forever. */
  LT_CHECK(g.hops >= 500 && g.hops < 600, "%ld hops when the watcher finished", g.hops);
  assert_false(loom_future_done(g.ta) && loom_future_done(g.tb));
  g.stop = true;
  pingpong_finish(l, &g);
  loom_future_release(w);
  loom_loop_destroy(l);
}

/* A loop may be driven by one thread, then another: tasks that hand over to
 * each other must return to the loop context of the thread driving now. */
typedef struct watch {
  long *hops, target;
} watch;

static int watch_hops(loom_future *self, void *arg) {
  (void)self;
  watch *w = arg;
  while (*w->hops < w->target) {
    int rc = loom_yield();
    if (rc < 0) return rc;
  }
  return 0;
}

typedef struct drive {
  loom_loop *l;
  loom_future *f;
  int rc;
  pthread_t th;
  loom_event *linger; /* the thread stays alive until this is set */
} drive;

static void *drive_until(void *arg) {
  drive *d = arg;
  d->rc = loom_loop_run_until_complete(d->l, d->f);
  loom_event_wait(d->linger, 10.0);
  return NULL;
}

/* Drive l on a new thread until f is done; the thread then lingers (so the
 * next driver's thread-local state is not at the same addresses). */
static void drive_on_thread(drive *d, loom_loop *l, loom_future *f, loom_event *linger) {
  *d = (drive){l, f, 1, 0, linger};
  assert_int_equal(pthread_create(&d->th, NULL, drive_until, d), 0);
  for (int i = 0; i < 10000 && !loom_future_done(f); i++) usleep(1000);
  assert_true(loom_future_done(f));
}

LOOM_TEST(handoff, loop_driven_by_threads_in_turn) {
  loom_loop *l = ts_loop(false);
  loom_event *linger;
  LT_RC(loom_event_create(&linger), 0);
  pingpong g;
  pingpong_start(l, &g, 0, NULL);
  watch w1 = {&g.hops, 300}, w2 = {&g.hops, 600};
  loom_future *f1, *f2;
  drive d1, d2;
  LT_RC(loom_task_spawn(l, watch_hops, &w1, "w1", &f1), 0);
  drive_on_thread(&d1, l, f1, linger);
  while (loom_loop_is_running(l)) usleep(1000); /* d1 returned from the loop */
  LT_RC(loom_task_spawn(l, watch_hops, &w2, "w2", &f2), 0);
  drive_on_thread(&d2, l, f2, linger);
  while (loom_loop_is_running(l)) usleep(1000);
  assert_true(g.hops >= 600);
  g.stop = true;
  pingpong_finish(l, &g); /* and the main thread drives the end */
  loom_event_set(linger);
  pthread_join(d1.th, NULL);
  pthread_join(d2.th, NULL);
  LT_RC(d1.rc, 0);
  LT_RC(d2.rc, 0);
  loom_future_release(f1);
  loom_future_release(f2);
  loom_event_destroy(linger);
  loom_loop_destroy(l);
}

/* ---- wake-ups: same-loop task and plain thread, one queue ------------------ */

typedef struct feeder {
  loom_queue *q;
  long from, n;
} feeder;

static void *thread_feed(void *arg) {
  feeder *f = arg;
  for (long i = 0; i < f->n; i++)
    if (loom_queue_put(f->q, (void *)(f->from + i), 10.0) < 0) return (void *)1;
  return NULL;
}

static int task_feed(loom_future *self, void *arg) {
  (void)self;
  feeder *f = arg;
  for (long i = 0; i < f->n; i++) {
    int rc = loom_queue_put(f->q, (void *)(f->from + i), 10.0);
    if (rc < 0) return rc;
  }
  return 0;
}

typedef struct eater {
  loom_queue *q;
  long n, last_task, last_thread, bad;
} eater;

static int task_eat(loom_future *self, void *arg) {
  (void)self;
  eater *e = arg;
  for (long i = 0; i < e->n; i++) {
    void *item;
    int rc = loom_queue_get(e->q, &item, 10.0);
    if (rc < 0) return rc;
    long v = (long)item;
    long *last = v >= 1000000 ? &e->last_thread : &e->last_task;
    if (v <= *last) e->bad++; /* each producer's items arrive in order */
    *last = v;
  }
  return 0;
}

LOOM_TEST(handoff, woken_by_task_and_by_thread) {
  loom_loop *l = ts_loop(false);
  loom_queue_options o = {.maxsize = 2};
  loom_queue *q;
  LT_RC(loom_queue_create(&q, &o), 0);
  enum { N = 3000 };
  feeder ft = {q, 1, N}, fh = {q, 1000000, N};
  eater e = {q, 2 * N, 0, 999999, 0};
  loom_future *te, *tf;
  LT_RC(loom_task_spawn(l, task_eat, &e, "eater", &te), 0);
  LT_RC(loom_task_spawn(l, task_feed, &ft, "feeder", &tf), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, thread_feed, &fh), 0);
  ts_until(l, te);
  ts_until(l, tf);
  void *trc;
  pthread_join(th, &trc);
  assert_null(trc);
  LT_RC(loom_future_exception(te, NULL, NULL), 0);
  assert_int_equal(e.bad, 0);
  assert_int_equal(e.last_task, N);
  assert_int_equal(e.last_thread, 1000000 + N - 1);
  loom_future_release(te);
  loom_future_release(tf);
  LT_RC(loom_queue_destroy(q), 0);
  loom_loop_destroy(l);
}

/* ---- cancellation of a task that was handed an item ------------------------ */

typedef struct victim {
  loom_queue *q;
  int first_rc, second_rc;
  void *first;
} victim;

static int victim_body(loom_future *self, void *arg) {
  (void)self;
  victim *v = arg;
  v->first_rc = loom_queue_get(v->q, &v->first, 10.0);
  void *item;
  v->second_rc = loom_queue_get(v->q, &item, 10.0);
  return v->second_rc;
}

static int give_then_cancel(loom_future *self, void *arg) {
  (void)self;
  loom_future *victim_task = ((void **)arg)[0];
  loom_queue *q = ((void **)arg)[1];
  int rc = loom_queue_put(q, (void *)7L, 10.0); /* readies the victim */
  if (rc < 0) return rc;
  loom_task_cancel(victim_task, "after the item");
  return 0;
}

LOOM_TEST(handoff, cancel_after_handoff_is_delivered_next) {
  loom_loop *l = ts_loop(false);
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  victim v = {q, 1, 1, NULL};
  loom_future *tv, *tg;
  LT_RC(loom_task_spawn(l, victim_body, &v, "victim", &tv), 0);
  /* Spawned second, the giver first runs after the victim parked in get. */
  void *args[2] = {tv, q};
  LT_RC(loom_task_spawn(l, give_then_cancel, args, "giver", &tg), 0);
  ts_until(l, tv);
  ts_until(l, tg);
  LT_RC(v.first_rc, 0); /* the item was handed over: never lost */
  assert_int_equal((long)v.first, 7);
  LT_RC(v.second_rc, LOOM_ECANCELLED);
  assert_true(loom_future_cancelled(tv));
  loom_future_release(tv);
  loom_future_release(tg);
  LT_RC(loom_queue_destroy(q), 0);
  loom_loop_destroy(l);
}

/* ---- task storage ------------------------------------------------------------ */

static int fail_with_message(loom_future *self, void *arg) {
  (void)arg;
  return loom_future_set_error(self, LOOM_EFAILED, "first life");
}

static int return_arg(loom_future *self, void *arg) {
  return loom_future_set_result(self, arg, NULL);
}

/* A task's slot goes back to this thread's free list when its last
 * reference is dropped, and the next task takes it (warm, LIFO): the new
 * task must start clean, with nothing of the old one. */
LOOM_TEST(alloc, task_slot_reused_clean) {
  loom_loop *l = ts_loop(false);
  loom_task_options o = {.name = "old"};
  loom_future *t;
  LT_RC(loom_task_spawn_ex(l, fail_with_message, NULL, &o, &t), 0);
  LT_RC(loom_task_cancel(t, "too late") ? LOOM_EFAILED : 0, LOOM_EFAILED);
  ts_until(l, t);
  int code = 0;
  const char *msg = NULL;
  LT_RC(loom_future_exception(t, &code, &msg), 0);
  /* Cancelled before it started: it never ran. */
  assert_true(loom_future_cancelled(t));
  void *old = t;
  loom_future_release(t);
#if defined(LOOM_ASAN)
  /* A free slot is poisoned: a use after free is caught until it is reused. */
  assert_true(__asan_address_is_poisoned((char *)old + 100));
#endif
  loom_future *n;
  LT_RC(loom_task_spawn(l, return_arg, (void *)42L, NULL, &n), 0);
  LT_CHECK((void *)n == old, "new task at %p, the freed one was at %p", (void *)n, old);
  LT_CHECK(strncmp(loom_task_name(n), "Task-", 5) == 0, "name '%s'", loom_task_name(n));
  assert_int_equal(loom_task_cancelling(n), 0);
  ts_until(l, n);
  void *v = NULL;
  LT_RC(loom_future_result(n, 0, &v), 0);
  assert_int_equal((long)v, 42);
  assert_false(loom_future_cancelled(n));
  loom_future_release(n);
  loom_loop_destroy(l);
}

static void *release_on_thread(void *arg) {
  loom_future *f = arg;
  void *v = NULL;
  if (loom_future_result(f, 0, &v) < 0 || (long)v != 5) return (void *)1;
  loom_future_release(f);
  return NULL;
}

/* A task future may outlive its loop and be freed by another thread; the
 * storage is process-wide, so later tasks on a new loop are unaffected. */
LOOM_TEST(alloc, task_outlives_loop_freed_on_thread) {
  loom_loop *l = ts_loop(false);
  loom_future *t = ts_run(l, return_arg, (void *)5L, "survivor");
  loom_loop_destroy(l);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, release_on_thread, t), 0);
  void *trc;
  pthread_join(th, &trc);
  assert_null(trc);
  l = ts_loop(false);
  loom_future *ts[100];
  for (long i = 0; i < 100; i++) LT_RC(loom_task_spawn(l, return_arg, (void *)i, NULL, &ts[i]), 0);
  ts_until(l, ts[99]);
  for (long i = 0; i < 100; i++) {
    void *v = NULL;
    LT_RC(loom_future_result(ts[i], 0, &v), 0);
    assert_int_equal((long)v, i);
    loom_future_release(ts[i]);
  }
  loom_loop_destroy(l);
}

/* Loops on several threads spawn and free tasks at once; threads exit with
 * free slots in their lists (given back), and the main thread goes on. */
static void *spawn_many(void *arg) {
  (void)arg;
  loom_loop *l;
  if (loom_loop_create(&l, NULL) < 0) return (void *)1;
  enum { N = 1500 };
  static _Thread_local loom_future *ts[N];
  for (long i = 0; i < N; i++)
    if (loom_task_spawn(l, return_arg, (void *)i, NULL, &ts[i]) < 0) return (void *)2;
  if (loom_loop_run_until_complete(l, ts[N - 1]) < 0) return (void *)3;
  long bad = 0;
  for (long i = 0; i < N; i++) {
    void *v = NULL;
    if (loom_future_result(ts[i], 0, &v) < 0 || (long)v != i) bad++;
    loom_future_release(ts[i]);
  }
  loom_loop_destroy(l);
  return bad ? (void *)4 : NULL;
}

LOOM_TEST(alloc, loops_on_threads_share_storage) {
  pthread_t th[3];
  for (int i = 0; i < 3; i++) assert_int_equal(pthread_create(&th[i], NULL, spawn_many, NULL), 0);
  for (int i = 0; i < 3; i++) {
    void *trc;
    pthread_join(th[i], &trc);
    LT_CHECK(trc == NULL, "thread %d failed at step %ld", i, (long)trc);
  }
  assert_null(spawn_many(NULL));
}

LOOM_TEST(alloc, stack_size_above_limit_refused) {
  loom_loop *l = ts_loop(false);
  loom_task_options o = {.stack_size = ((size_t)1 << 30) + 1};
  loom_future *t = (loom_future *)&o;
  LT_RC(loom_task_spawn_ex(l, return_arg, NULL, &o, &t), LOOM_EINVAL);
  assert_null(t);
  loom_loop_destroy(l);
}

/* Every allocation of a spawn + ping-pong + teardown can fail: each run ends
 * with a clean error and nothing leaked (the harness checks the counters). */
static int sweep_pingpong(void *ctx) {
  (void)ctx;
  loom_loop *l;
  int rc = loom_loop_create(&l, NULL);
  if (rc < 0) return rc;
  loom_queue_options o = {.maxsize = 1};
  loom_queue *ab = NULL, *ba = NULL;
  loom_future *ta = NULL, *tb = NULL;
  long hops = 0;
  bool stop = false;
  pp a = {0}, b = {0};
  if ((rc = loom_queue_create(&ab, &o)) < 0 || (rc = loom_queue_create(&ba, &o)) < 0) goto out;
  /* A short timeout: when one player could not start, the other gives up
   * soon instead of waiting 10 s per faulted run. */
  a = (pp){ba, ab, 40, &hops, &stop, 'a', NULL, 0.5, NULL, NULL};
  b = (pp){ab, ba, 40, &hops, &stop, 'b', NULL, 0.5, NULL, NULL};
  if ((rc = loom_task_spawn(l, player, &a, "ping", &ta)) < 0) goto out;
  if ((rc = loom_task_spawn(l, player, &b, "pong", &tb)) < 0) goto out;
  if ((rc = loom_queue_put_nowait(ba, (void *)0L)) < 0) goto out;
  if ((rc = loom_loop_run_until_complete(l, ta)) < 0) goto out;
  if (!loom_future_done(tb) && (rc = loom_loop_run_until_complete(l, tb)) < 0) goto out;
  rc = loom_future_exception(ta, NULL, NULL);
  if (rc == 0) rc = loom_future_exception(tb, NULL, NULL);
  if (rc == 0 && hops != 40) rc = LOOM_EFAILED;
out:
  if (ta && !loom_future_done(ta)) loom_task_cancel(ta, NULL);
  if (tb && !loom_future_done(tb)) loom_task_cancel(tb, NULL);
  loom_loop_close(l); /* lets cancelled players unwind */
  if (ta) loom_future_release(ta);
  if (tb) loom_future_release(tb);
  void *rest;
  if (ab) {
    while (loom_queue_get_nowait(ab, &rest) == 0) {}
    loom_queue_destroy(ab);
  }
  if (ba) {
    while (loom_queue_get_nowait(ba, &rest) == 0) {}
    loom_queue_destroy(ba);
  }
  loom_loop_destroy(l);
  return rc;
}

LOOM_TEST_T(alloc, fault_sweep_spawn_pingpong, 120) {
  int faulted = loom_test_fault_sweep(sweep_pingpong, NULL, LOOM_FAULT_ALLOC, 200);
  LT_CHECK(faulted > 0, "no allocation failed in the sweep (%d)", faulted);
  LT_RC(sweep_pingpong(NULL), 0); /* and without faults the game completes */
}
