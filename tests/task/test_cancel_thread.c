/* test_cancel_thread.c - cancelling a task from a thread that does not
 * drive its loop (loom_future_cancel / loom_wait_for on a task, from a
 * plain thread or another loop's task).
 *
 * A task's waiter in a queue or lock is claimed by its own loop's thread
 * with a plain load and store (loom__waiter_fire_locked): that is only sound
 * if every other firer holds the primitive's lock or runs on that thread.
 * A cancellation is such a firer, so one coming from another thread must be
 * carried out on the loop's thread; done in place it could claim the waiter
 * at the same moment as a put (two wake-ups for one wait) and it wrote the
 * task's cancellation fields while the loop read them.  These tests hammer
 * a ping-pong of two tasks with cancellations from a plain thread (each
 * player takes a cancellation back with loom_task_uncancel and goes on), and
 * check nothing is lost or delivered twice: the score ends exact, in order,
 * with cancellations delivered all along.  (Done in place, the cancel woke
 * a player twice for one wait and corrupted the queue's waiter list.)
 * Also: a task not started yet, on a loop nobody drives, cancelled from
 * another thread never runs its function; wait_for from a plain thread
 * times out a task; a thread running the loop or spawning on it while
 * another borrows it (idle) to cancel waits for the borrow instead of
 * failing (LOOM_EBUSY, LOOM_EINVALIDSTATE); cancellations racing with the
 * loop's close are posted to it and run or freed by the close. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "task_support.h"

#ifdef LOOM_TSAN
enum { HOPS = 20000 };
#else
enum { HOPS = 100000 };
#endif

typedef struct player_arg {
  loom_queue *in, *out;
  long got;          /* items received */
  long cancels;      /* cancellations delivered (and taken back) */
  long bad;          /* an item out of sequence */
  _Atomic bool started; /* received a first item (read by the canceller) */
} player_arg;

/* Take every cancellation back and retry: a cancelled get or put changed
 * nothing (the queue hands an item to the next getter instead). */
static int stubborn_player(loom_future *self, void *arg) {
  player_arg *p = arg;
  long expect = -2;
  for (;;) {
    void *item;
    int rc = loom_queue_get(p->in, &item, 30);
    if (rc == LOOM_ECANCELLED) {
      p->cancels++;
      while (loom_task_uncancel(self) > 0) {}
      continue;
    }
    if (rc < 0) return rc;
    long v = (long)item;
    if (v < 0) return 0;
    if (expect != -2 && v != expect) p->bad++;
    expect = v + 2;
    if (!p->got++) atomic_store(&p->started, true);
    void *next = (void *)(v + 1 >= HOPS ? -1L : v + 1);
    while ((rc = loom_queue_put(p->out, next, 30)) == LOOM_ECANCELLED) {
      p->cancels++;
      while (loom_task_uncancel(self) > 0) {}
    }
    if (rc < 0) return rc;
    if (v + 1 >= HOPS) return 0;
  }
}

typedef struct driver {
  loom_loop *loop;
  loom_future *a, *b;
  int rc_a, rc_b;
} driver;

static void *drive(void *arg) {
  driver *d = arg;
  d->rc_a = loom_loop_run_until_complete(d->loop, d->a);
  d->rc_b = loom_loop_run_until_complete(d->loop, d->b);
  return NULL;
}

static void close_loop(loom_loop *l) {
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

static void nap_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

LOOM_TEST(cancel_thread, plain_thread_cancels_a_pingpong_loses_nothing) {
  loom_loop *l = ts_loop(false);
  loom_queue_options o = {.maxsize = 1};
  loom_queue *ab, *ba;
  LT_RC(loom_queue_create(&ab, &o), 0);
  LT_RC(loom_queue_create(&ba, &o), 0);
  player_arg pa = {.in = ba, .out = ab}, pb = {.in = ab, .out = ba};
  driver d = {.loop = l};
  LT_RC(loom_task_spawn(l, stubborn_player, &pa, "a", &d.a), 0);
  LT_RC(loom_task_spawn(l, stubborn_player, &pb, "b", &d.b), 0);
  LT_RC(loom_queue_put_nowait(ba, (void *)0L), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, drive, &d), 0);
  long sent = 0;
  /* Both players in the game first: a task cancelled before it started
   * would never play. */
  for (int i = 0; i < 100000 && !(atomic_load(&pa.started) && atomic_load(&pb.started)); i++)
    nap_us(100);
  /* Cancel both players, over and over, until the game ends. */
  for (int i = 0; !loom_future_done(d.a) || !loom_future_done(d.b); i++) {
    if (loom_future_cancel(i & 1 ? d.b : d.a)) sent++;
    if (i % 64 == 63) nap_us(20);
  }
  pthread_join(th, NULL);
  LT_RC(d.rc_a, 0);
  LT_RC(d.rc_b, 0);
  LT_RC(loom_future_exception(d.a, NULL, NULL), 0);
  LT_RC(loom_future_exception(d.b, NULL, NULL), 0);
  /* Every item once, in order. */
  assert_int_equal(pa.got + pb.got, HOPS);
  assert_int_equal(pa.bad + pb.bad, 0);
  /* Requests were delivered, never more than were made (several made
   * while a player ran are delivered as one, as in asyncio). */
  long got = pa.cancels + pb.cancels;
  LT_CHECK(got > 0 && got <= sent, "%ld cancellations delivered, %ld made", got, sent);
  loom_future_release(d.a);
  loom_future_release(d.b);
  void *rest;
  while (loom_queue_get_nowait(ab, &rest) == 0) {}
  while (loom_queue_get_nowait(ba, &rest) == 0) {}
  LT_RC(loom_queue_destroy(ab), 0);
  LT_RC(loom_queue_destroy(ba), 0);
  close_loop(l);
}

/* ---- a task of an idle loop, cancelled from another thread ----------------- */

static int must_not_run(loom_future *self, void *arg) {
  (void)self;
  *(bool *)arg = true;
  return 0;
}

typedef struct canceller {
  loom_future *task;
  bool ok;
} canceller;

static void *cancel_it(void *arg) {
  canceller *c = arg;
  c->ok = loom_future_cancel(c->task);
  return NULL;
}

LOOM_TEST(cancel_thread, unstarted_task_of_idle_loop_never_runs) {
  loom_loop *l = ts_loop(false);
  bool ran = false;
  loom_future *t;
  LT_RC(loom_task_spawn(l, must_not_run, &ran, "victim", &t), 0);
  canceller c = {.task = t};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_it, &c), 0);
  pthread_join(th, NULL);
  assert_true(c.ok);
  assert_int_equal(loom_task_cancelling(t), 1); /* recorded at once: nobody drove the loop */
  ts_until(l, t);
  assert_false(ran);
  assert_true(loom_future_cancelled(t));
  loom_future_release(t);
  close_loop(l);
}

/* ---- wait_for from a plain thread on a task of a driven loop --------------- */

static int sleeper(loom_future *self, void *arg) {
  (void)self;
  (void)arg;
  return loom_sleep(30);
}

typedef struct waitfor_arg {
  loom_future *task;
  int rc;
} waitfor_arg;

static void *wait_for_it(void *arg) {
  waitfor_arg *w = arg;
  w->rc = loom_wait_for(w->task, 0.02);
  return NULL;
}

LOOM_TEST(cancel_thread, wait_for_from_thread_times_out_a_task) {
  loom_loop *l = ts_loop(false);
  loom_future *t;
  LT_RC(loom_task_spawn(l, sleeper, NULL, "sleeper", &t), 0);
  waitfor_arg w = {.task = t};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, wait_for_it, &w), 0);
  /* The loop runs here, on the main thread, while the other waits. */
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  pthread_join(th, NULL);
  LT_RC(w.rc, LOOM_ETIMEDOUT);
  assert_true(loom_future_cancelled(t));
  loom_future_release(t);
  close_loop(l);
}

/* ---- borrowing an idle loop never makes a run fail ------------------------- */

typedef struct refuser {
  _Atomic bool stop;
  _Atomic long woken; /* cancellations delivered */
} refuser;

/* Sleeps, refusing every cancellation, until told to stop. */
static int refusing_sleeper(loom_future *self, void *arg) {
  refuser *r = arg;
  while (!atomic_load(&r->stop)) {
    int rc = loom_sleep(30);
    if (rc != LOOM_ECANCELLED) return rc;
    atomic_fetch_add(&r->woken, 1);
    while (loom_task_uncancel(self) > 0) {}
  }
  return 0;
}

typedef struct hammer {
  loom_future *task;
  _Atomic bool done;
  long made;
} hammer;

static void *cancel_until_done(void *arg) {
  hammer *h = arg;
  while (!atomic_load(&h->done)) {
    if (loom_future_cancel(h->task)) h->made++;
    nap_us(5);
  }
  return NULL;
}

static int count_one(loom_future *self, void *arg) {
  (void)self;
  atomic_fetch_add((_Atomic long *)arg, 1);
  return 0;
}

LOOM_TEST(cancel_thread, borrowing_never_makes_a_run_or_spawn_fail) {
  loom_loop *l = ts_loop(false);
  _Atomic long quick = 0;
  refuser r = {0};
  hammer h = {0};
  LT_RC(loom_task_spawn(l, refusing_sleeper, &r, "refuser", &h.task), 0);
  loom_future *done;
  LT_RC(loom_future_create(&done), 0);
  LT_RC(loom_future_set_result(done, NULL, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, done), 0); /* the sleeper parks */
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_until_done, &h), 0);
  /* Each run is one iteration; between runs the canceller borrows the idle
   * loop, and a run or a spawn starting meanwhile must wait for it, not
   * fail. */
  long spawned = 0;
  for (int i = 0; i < 3000 || (atomic_load(&r.woken) < 10 && i < 300000); i++) {
    LT_RC(loom_loop_run_until_complete(l, done), 0);
    if (spawned < 3000) {
      LT_RC(loom_task_spawn(l, count_one, &quick, NULL, NULL), 0);
      spawned++;
    }
  }
  for (int i = 0; i < 1000 && atomic_load(&quick) < spawned; i++)
    LT_RC(loom_loop_run_until_complete(l, done), 0);
  assert_int_equal(atomic_load(&quick), spawned);
  atomic_store(&h.done, true);
  pthread_join(th, NULL);
  LT_CHECK(atomic_load(&r.woken) >= 10, "only %ld cancellations delivered of %ld",
           atomic_load(&r.woken), h.made);
  atomic_store(&r.stop, true);
  loom_task_cancel(h.task, NULL);
  ts_until(l, h.task);
  LT_RC(loom_future_exception(h.task, NULL, NULL), 0);
  loom_future_release(h.task);
  loom_future_release(done);
  close_loop(l);
}

/* ---- cancellations racing with the loop's close ------------------------------ */

enum { RACERS = 200 };

typedef struct close_race {
  loom_future *t[RACERS];
  _Atomic bool go, stop;
} close_race;

static void *cancel_all_until_stop(void *arg) {
  close_race *c = arg;
  while (!atomic_load(&c->go)) nap_us(10);
  while (!atomic_load(&c->stop))
    for (int i = 0; i < RACERS; i++) loom_future_cancel(c->t[i]);
  return NULL;
}

LOOM_TEST(cancel_thread, cancels_racing_a_close_lose_nothing) {
  loom_loop *l = ts_loop(false);
  close_race c = {0};
  for (int i = 0; i < RACERS; i++) LT_RC(loom_task_spawn(l, sleeper, NULL, NULL, &c.t[i]), 0);
  loom_future *done;
  LT_RC(loom_future_create(&done), 0);
  LT_RC(loom_future_set_result(done, NULL, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, done), 0); /* all asleep */
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, cancel_all_until_stop, &c), 0);
  atomic_store(&c.go, true);
  /* The close cancels them too, while the other thread does: the close
   * holds the loop, so the other thread's requests are posted, and run or
   * freed by the close (the harness checks nothing leaked). */
  LT_RC(loom_loop_close(l), 0);
  atomic_store(&c.stop, true);
  pthread_join(th, NULL);
  for (int i = 0; i < RACERS; i++) {
    assert_true(loom_future_cancelled(c.t[i]));
    loom_future_release(c.t[i]);
  }
  loom_future_release(done);
  loom_loop_destroy(l);
}
