/* test_signal_watch.c - awaitable signals (loom/signal.h): a task waiting on
 * a watch wakes with a signal sent by another thread; deliveries between two
 * waits are kept, repeated ones coalesce; cancel, timeout and timeout scopes
 * end a wait; handlers and several watches all see a delivery; two loops in
 * two threads each own their own signals; a closed loop ends its waits. */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "../task/task_support.h"

static const int USR12[] = {SIGUSR1, SIGUSR2};

typedef struct ctx {
  loom_signal_watch *w;
  int rc, signo;
  double took;
  loom_event *ready;
} ctx;

static void *killer(void *arg) {
  usleep(20000);
  kill(getpid(), *(int *)arg);
  return NULL;
}

static int wait_from_thread_kill(loom_future *self, void *arg) {
  ctx *c = arg;
  LT_RC(loom_signal_watch_create(NULL, USR12, 2, &c->w), 0);
  int sig = SIGUSR2;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, killer, &sig), 0);
  c->rc = loom_signal_watch_wait(c->w, 5.0, &c->signo);
  pthread_join(th, NULL);
  LT_RC(loom_signal_watch_destroy(c->w), 0);
  return 0;
}

LOOM_TEST(signal_watch, task_wakes_on_kill_from_thread) {
  ctx c = {0};
  LT_RC(loom_run(wait_from_thread_kill, &c, NULL, NULL), 0);
  LT_RC(c.rc, 0);
  assert_int_equal(c.signo, SIGUSR2);
}

/* raise() runs the process handler at once; the loop delivers on its next
 * poll, which the first wait triggers. */
static int keep_and_coalesce(loom_future *self, void *arg) {
  ctx *c = arg;
  loom_signal_watch *w;
  LT_RC(loom_signal_watch_create(NULL, USR12, 2, &w), 0);
  raise(SIGUSR2);
  raise(SIGUSR1);
  raise(SIGUSR1);
  int s = 0;
  LT_RC(loom_signal_watch_wait(w, 5.0, &s), 0);
  assert_int_equal(s, SIGUSR1); /* lowest number first */
  assert_int_equal(loom_signal_watch_pending(w), 1);
  LT_RC(loom_signal_watch_wait(w, 5.0, &s), 0);
  assert_int_equal(s, SIGUSR2);
  /* The second SIGUSR1 merged with the first. */
  LT_RC(loom_signal_watch_wait(w, 0.05, &s), LOOM_ETIMEDOUT);
  assert_int_equal(s, 0);
  LT_RC(loom_signal_watch_wait(w, 0, &s), LOOM_ETIMEDOUT);
  /* A signal that arrives while nobody waits is kept for the next wait. */
  raise(SIGUSR2);
  LT_RC(loom_sleep(0.02), 0);
  assert_int_equal(loom_signal_watch_pending(w), 1);
  LT_RC(loom_signal_watch_wait(w, 0, &s), 0);
  assert_int_equal(s, SIGUSR2);
  LT_RC(loom_signal_watch_destroy(w), 0);
  c->rc = 0;
  return 0;
}

LOOM_TEST(signal_watch, no_loss_between_waits_and_coalescing) {
  ctx c = {.rc = -1};
  LT_RC(loom_run(keep_and_coalesce, &c, NULL, NULL), 0);
  LT_RC(c.rc, 0);
}

static int waiter_task(loom_future *self, void *arg) {
  ctx *c = arg;
  double t0 = loom_now();
  c->rc = loom_signal_watch_wait(c->w, LOOM_FOREVER, &c->signo);
  c->took = loom_now() - t0;
  return 0;
}

static int cancel_while_waiting(loom_future *self, void *arg) {
  ctx *c = arg;
  LT_RC(loom_signal_watch_create(NULL, USR12, 2, &c->w), 0);
  loom_future *t;
  LT_RC(loom_task_spawn(loom_loop_current(), waiter_task, c, "waiter", &t), 0);
  LT_RC(loom_sleep(0.02), 0);
  LT_RC(loom_signal_watch_destroy(c->w), LOOM_EBUSY); /* still waited on */
  assert_true(loom_task_cancel(t, "stop"));
  LT_RC(loom_future_wait(t, 5.0), 0);
  loom_future_release(t);
  LT_RC(c->rc, LOOM_ECANCELLED);
  /* Nothing was taken: a later signal still reaches the next wait. */
  raise(SIGUSR1);
  LT_RC(loom_signal_watch_wait(c->w, 5.0, &c->signo), 0);
  assert_int_equal(c->signo, SIGUSR1);
  LT_RC(loom_signal_watch_destroy(c->w), 0);
  return 0;
}

LOOM_TEST(signal_watch, cancel_while_waiting) {
  ctx c = {0};
  LT_RC(loom_run(cancel_while_waiting, &c, NULL, NULL), 0);
}

static int timeouts(loom_future *self, void *arg) {
  loom_signal_watch *w;
  LT_RC(loom_signal_watch_create(NULL, USR12, 2, &w), 0);
  int s = -1;
  double t0 = loom_now();
  LT_RC(loom_signal_watch_wait(w, 0.05, &s), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "took %.3f s", loom_now() - t0);
  assert_int_equal(s, 0);
  /* A timeout scope around a wait without its own limit. */
  loom_timeout *scope;
  LT_RC(loom_timeout_begin(0.05, &scope), 0);
  t0 = loom_now();
  int rc = loom_signal_watch_wait(w, LOOM_FOREVER, &s);
  LT_RC(loom_timeout_end(scope, rc), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "took %.3f s", loom_now() - t0);
  /* The one-shot form times out the same way. */
  LT_RC(loom_signal_wait(USR12, 2, 0.02, &s), LOOM_ETIMEDOUT);
  LT_RC(loom_signal_watch_destroy(w), 0);
  return 0;
}

LOOM_TEST(signal_watch, timeout_and_timeout_scope) {
  LT_RC(loom_run(timeouts, NULL, NULL, NULL), 0);
}

typedef struct fan {
  int handler_hits;
  ctx a, b;
} fan;

static void on_usr1(int signum, void *arg) { ((fan *)arg)->handler_hits++; }

static int handlers_and_watches(loom_future *self, void *arg) {
  fan *f = arg;
  loom_loop *loop = loom_loop_current();
  loom_signal_watch *w1, *w2;
  LT_RC(loom_loop_add_signal_handler(loop, SIGUSR1, on_usr1, f), 0);
  LT_RC(loom_signal_watch_create(loop, USR12, 1, &w1), 0);
  LT_RC(loom_signal_watch_create(loop, USR12, 2, &w2), 0);
  /* Two tasks wait on w2: one delivery each. */
  f->a.w = f->b.w = w2;
  loom_future *ta, *tb;
  LT_RC(loom_task_spawn(loop, waiter_task, &f->a, "a", &ta), 0);
  LT_RC(loom_task_spawn(loop, waiter_task, &f->b, "b", &tb), 0);
  LT_RC(loom_sleep(0.02), 0);
  raise(SIGUSR1);
  int s = 0;
  LT_RC(loom_signal_watch_wait(w1, 5.0, &s), 0); /* w1 saw it too */
  assert_int_equal(s, SIGUSR1);
  assert_int_equal(f->handler_hits, 1);
  raise(SIGUSR2);
  LT_RC(loom_future_wait(ta, 5.0), 0);
  LT_RC(loom_future_wait(tb, 5.0), 0);
  loom_future_release(ta);
  loom_future_release(tb);
  LT_RC(f->a.rc, 0);
  LT_RC(f->b.rc, 0);
  assert_int_equal(f->a.signo, SIGUSR1); /* first come, first served */
  assert_int_equal(f->b.signo, SIGUSR2);
  assert_int_equal(loom_signal_watch_pending(w1), 0); /* w1 watches SIGUSR1 only */
  /* Removing the handler keeps the signal for the watches. */
  assert_int_equal(loom_loop_remove_signal_handler(loop, SIGUSR1), 1);
  raise(SIGUSR1);
  LT_RC(loom_signal_watch_wait(w1, 5.0, &s), 0);
  assert_int_equal(f->handler_hits, 1);
  LT_RC(loom_signal_watch_destroy(w1), 0);
  LT_RC(loom_signal_watch_destroy(w2), 0);
  return 0;
}

LOOM_TEST(signal_watch, handlers_and_every_watch_notified) {
  fan f = {0};
  LT_RC(loom_run(handlers_and_watches, &f, NULL, NULL), 0);
}

/* Loop B in its own thread watches SIGUSR2; SIGUSR1 belongs to loop A. */
typedef struct two {
  loom_event *ready;
  int busy_rc, rc, signo;
} two;

static int loop_b_main(loom_future *self, void *arg) {
  two *t = arg;
  loom_signal_watch *w;
  const int usr1 = SIGUSR1, usr2 = SIGUSR2;
  t->busy_rc = loom_signal_watch_create(NULL, &usr1, 1, &w);
  LT_RC(loom_signal_watch_create(NULL, &usr2, 1, &w), 0);
  loom_event_set(t->ready);
  t->rc = loom_signal_watch_wait(w, 5.0, &t->signo);
  LT_RC(loom_signal_watch_destroy(w), 0);
  return 0;
}

static void *loop_b_thread(void *arg) {
  loom_run(loop_b_main, arg, NULL, NULL);
  return NULL;
}

static int loop_a_main(loom_future *self, void *arg) {
  two *t = arg;
  loom_signal_watch *w;
  const int usr1 = SIGUSR1;
  LT_RC(loom_signal_watch_create(NULL, &usr1, 1, &w), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, loop_b_thread, t), 0);
  LT_RC(loom_event_wait(t->ready, 5.0), 0);
  kill(getpid(), SIGUSR2); /* to loop B, whichever thread the kernel picks */
  kill(getpid(), SIGUSR1); /* to loop A */
  int s = 0;
  LT_RC(loom_signal_watch_wait(w, 5.0, &s), 0);
  assert_int_equal(s, SIGUSR1);
  pthread_join(th, NULL); /* B ends within its 5 s bound */
  assert_int_equal(loom_signal_watch_pending(w), 0);
  LT_RC(loom_signal_watch_destroy(w), 0);
  return 0;
}

LOOM_TEST(signal_watch, two_loops_two_threads) {
  two t = {0};
  LT_RC(loom_event_create(&t.ready), 0);
  LT_RC(loom_run(loop_a_main, &t, NULL, NULL), 0);
  loom_event_destroy(t.ready);
  LT_RC(t.busy_rc, LOOM_EBUSY);
  LT_RC(t.rc, 0);
  assert_int_equal(t.signo, SIGUSR2);
}

typedef struct tw {
  ctx c;
  loom_future *done;
} tw;

static void *thread_waiter(void *arg) {
  tw *t = arg;
  t->c.rc = loom_signal_watch_wait(t->c.w, 5.0, &t->c.signo);
  loom_future_set_result(t->done, NULL, NULL); /* wakes the loop's thread */
  return NULL;
}

static void raise_usr2(void *arg) { raise(SIGUSR2); }

/* A plain thread waits on a watch whose loop runs elsewhere; then the loop
 * closes under a watch, which ends later waits with LOOM_ECLOSED. */
LOOM_TEST(signal_watch, plain_thread_waiter_and_closed_loop) {
  loom_loop *l = ts_loop(false);
  tw t = {0};
  LT_RC(loom_future_create(&t.done), 0);
  LT_RC(loom_signal_watch_create(l, USR12, 2, &t.c.w), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, thread_waiter, &t), 0);
  LT_RC(loom_call_later(l, 0.05, raise_usr2, NULL, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, t.done), 0); /* bounded by the 5 s wait */
  pthread_join(th, NULL);
  LT_RC(t.c.rc, 0);
  assert_int_equal(t.c.signo, SIGUSR2);
  loom_future_release(t.done);
  ctx c = t.c;
  /* A thread still waiting when the loop closes is woken with ECLOSED
   * (parked by then or not, it gets the same answer). */
  tw t2 = {.c = {.w = c.w}};
  LT_RC(loom_future_create(&t2.done), 0);
  assert_int_equal(pthread_create(&th, NULL, thread_waiter, &t2), 0);
  usleep(50000);
  LT_RC(loom_loop_close(l), 0);
  pthread_join(th, NULL);
  LT_RC(t2.c.rc, LOOM_ECLOSED);
  loom_future_release(t2.done);
  int s = -1;
  LT_RC(loom_signal_watch_wait(c.w, 1.0, &s), LOOM_ECLOSED);
  LT_RC(loom_signal_watch_destroy(c.w), 0);
  loom_signal_watch *late = NULL;
  LT_RC(loom_signal_watch_create(l, USR12, 2, &late), LOOM_ECLOSED);
  assert_null(late);
  loom_loop_destroy(l);
  /* The disposition was restored: the loop no longer owns SIGUSR1. */
  loom_loop *l2 = ts_loop(false);
  LT_RC(loom_signal_watch_create(l2, USR12, 2, &c.w), 0);
  LT_RC(loom_signal_watch_destroy(c.w), 0);
  loom_loop_destroy(l2);
}

LOOM_TEST(signal_watch, bad_arguments) {
  loom_signal_watch *w = (void *)1;
  const int bad[] = {SIGKILL}, zero[] = {0};
  LT_RC(loom_signal_watch_create(NULL, USR12, 2, &w), LOOM_EINVAL); /* no loop */
  assert_null(w);
  loom_loop *l = ts_loop(false);
  LT_RC(loom_signal_watch_create(l, bad, 1, &w), LOOM_EINVAL);
  LT_RC(loom_signal_watch_create(l, zero, 1, &w), LOOM_EINVAL);
  LT_RC(loom_signal_watch_create(l, USR12, 0, &w), LOOM_EINVAL);
  LT_RC(loom_signal_watch_create(l, USR12, 2, NULL), LOOM_EINVAL);
  LT_RC(loom_signal_watch_wait(NULL, 0, NULL), LOOM_EINVAL);
  LT_RC(loom_signal_watch_destroy(NULL), LOOM_EINVAL);
  assert_int_equal(loom_signal_watch_pending(NULL), 0);
  loom_loop_destroy(l);
}

static int fault_create(void *arg) {
  loom_loop *l = arg;
  loom_signal_watch *w;
  int rc = loom_signal_watch_create(l, USR12, 2, &w);
  if (rc == 0) LT_RC(loom_signal_watch_destroy(w), 0);
  return rc;
}

LOOM_TEST(signal_watch, fault_sweep_create) {
  loom_loop *l = ts_loop(false);
  int fired = loom_test_fault_sweep(fault_create, l, ~0u, 20);
  LT_CHECK(fired >= 2, "faults fired in %d runs", fired); /* alloc, sigaction */
  loom_loop_destroy(l);
  /* Every failed attempt released what it took: a fresh loop can own both. */
  l = ts_loop(false);
  LT_RC(fault_create(l), 0);
  loom_loop_destroy(l);
}
