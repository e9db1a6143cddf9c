/* test_taskpool.c - the bounded task pool (at most N in flight, FIFO slot
 * hand-over, join, cancellation while waiting for a slot) and the executor
 * bridge (run_in_executor, to_thread, the default executor). */
#include <stdatomic.h>
#include <unistd.h>

#include "../task/task_support.h"
#include "loop/loop_internal.h"

typedef struct pctx {
  loom_loop *l;
  int running, max_running, finished;
  int order[32], n_order;
  int submit_rc[32];
  double took;
} pctx;

typedef struct job {
  pctx *c;
  int id;
  double secs;
} job;

static int job_fn(loom_future *self, void *arg) {
  job *j = arg;
  pctx *c = j->c;
  c->order[c->n_order++] = j->id;
  if (++c->running > c->max_running) c->max_running = c->running;
  int rc = loom_sleep(j->secs);
  c->running--;
  c->finished++;
  return rc;
}

static job jobs[32];

static int submitter(loom_future *self, void *arg) {
  pctx *c = arg;
  loom_task_pool *p = NULL;
  LT_RC(loom_task_pool_create(c->l, 3, &p), 0);
  double t0 = loom_loop_time(c->l);
  for (int i = 0; i < 10; i++) {
    jobs[i] = (job){c, i, 0.1 * (1 + i % 3)};
    c->submit_rc[i] = loom_task_pool_submit(p, job_fn, &jobs[i], NULL, NULL);
    LT_CHECK(loom_task_pool_in_flight(p) <= 3, "%zu in flight", loom_task_pool_in_flight(p));
  }
  LT_RC(loom_task_pool_join(p, LOOM_FOREVER), 0);
  c->took = loom_loop_time(c->l) - t0;
  assert_int_equal(loom_task_pool_in_flight(p), 0);
  loom_task_pool_destroy(p);
  return 0;
}

LOOM_TEST(taskpool, at_most_n_in_flight) {
  pctx c = {.l = ts_loop(true)};
  loom_future *t = ts_run(c.l, submitter, &c, "submitter");
  LT_RC(loom_future_result(t, 0, NULL), 0);
  for (int i = 0; i < 10; i++) LT_RC(c.submit_rc[i], 0);
  assert_int_equal(c.finished, 10);
  assert_int_equal(c.max_running, 3);
  for (int i = 0; i < 10; i++) assert_int_equal(c.order[i], i); /* started in order */
  /* 10 jobs of 0.1..0.3 s, three at a time: well under running them one by one. */
  assert_true(c.took >= 0.6 - 1e-9 && c.took < 2.0);
  loom_future_release(t);
  loom_loop_destroy(c.l);
}

/* Two submitters compete for slots: hand-over is first come, first served. */
typedef struct sub {
  pctx *c;
  loom_task_pool *p;
  int base;
} sub;

static int compete(loom_future *self, void *arg) {
  sub *s = arg;
  for (int i = 0; i < 4; i++) {
    jobs[s->base + i] = (job){s->c, s->base + i, 1.0};
    LT_RC(loom_task_pool_submit(s->p, job_fn, &jobs[s->base + i], NULL, NULL), 0);
  }
  return 0;
}

static int joiner(loom_future *self, void *arg) {
  loom_yield(); /* let the submitters queue up first */
  return loom_task_pool_join(arg, LOOM_FOREVER);
}

LOOM_TEST(taskpool, fifo_hand_over) {
  pctx c = {.l = ts_loop(true)};
  loom_task_pool *p = NULL;
  LT_RC(loom_task_pool_create(c.l, 1, &p), 0);
  sub a = {&c, p, 0}, b = {&c, p, 10};
  loom_future *ta, *tb, *tj;
  LT_RC(loom_task_spawn(c.l, compete, &a, "a", &ta), 0);
  LT_RC(loom_task_spawn(c.l, compete, &b, "b", &tb), 0);
  LT_RC(loom_task_spawn(c.l, joiner, p, "joiner", &tj), 0);
  ts_until(c.l, tj);
  LT_RC(loom_future_result(tj, 0, NULL), 0);
  assert_true(loom_future_done(ta) && loom_future_done(tb));
  assert_int_equal(c.finished, 8);
  assert_int_equal(c.max_running, 1);
  /* a takes the free slot, then a and b alternate as slots free up. */
  int want[8] = {0, 1, 10, 2, 11, 3, 12, 13};
  for (int i = 0; i < c.n_order && i < 8; i++)
    LT_CHECK(c.order[i] == want[i], "start %d was job %d", i, c.order[i]);
  loom_future_release(ta);
  loom_future_release(tb);
  loom_future_release(tj);
  loom_task_pool_destroy(p);
  loom_loop_destroy(c.l);
}

/* A submitter cancelled while waiting for a slot gets LOOM_ECANCELLED and
 * its turn passes to the next one. */
typedef struct cw {
  pctx *c;
  loom_task_pool *p;
  int rc;
} cw;

static int wait_slot(loom_future *self, void *arg) {
  cw *w = arg;
  jobs[20] = (job){w->c, 20, 0.5};
  w->rc = loom_task_pool_submit(w->p, job_fn, &jobs[20], NULL, NULL);
  return w->rc;
}

static void cancel_task_cb(void *arg) { loom_task_cancel(arg, NULL); }

LOOM_TEST(taskpool, cancelled_while_waiting_for_slot) {
  pctx c = {.l = ts_loop(true)};
  loom_task_pool *p = NULL;
  LT_RC(loom_task_pool_create(c.l, 1, &p), 0);
  jobs[0] = (job){&c, 0, 2.0};
  LT_RC(loom_task_pool_submit(p, job_fn, &jobs[0], NULL, NULL), 0); /* takes the slot */
  jobs[1] = (job){&c, 1, 0.0};
  LT_RC(loom_task_pool_submit(p, job_fn, &jobs[1], NULL, NULL), LOOM_EAGAIN); /* not a task */
  cw w1 = {&c, p, 1}, w2 = {&c, p, 1};
  loom_future *t1, *t2;
  LT_RC(loom_task_spawn(c.l, wait_slot, &w1, "w1", &t1), 0);
  LT_RC(loom_task_spawn(c.l, wait_slot, &w2, "w2", &t2), 0);
  LT_RC(loom_call_later(c.l, 1.0, cancel_task_cb, t1, NULL), 0);
  ts_until(c.l, t1);
  LT_RC(w1.rc, LOOM_ECANCELLED);
  ts_until(c.l, t2);
  LT_RC(w2.rc, 0);
  while (loom_task_pool_in_flight(p)) LT_RC(loom__loop_run_once(c.l, false), 0);
  assert_int_equal(c.finished, 2);
  assert_int_equal(c.max_running, 1);
  loom_future_release(t1);
  loom_future_release(t2);
  loom_task_pool_destroy(p);
  loom_loop_destroy(c.l);
}

/* ---- executor bridge ------------------------------------------------------------ */

static int blocking(loom_future *self, void *arg) {
  usleep(20000);
  return loom_future_set_result(self, (void *)((long)arg + 1), NULL);
}

typedef struct tt {
  loom_loop *l;
  int rc;
  long value;
  _Atomic int ticks;
  _Atomic int saw_cancel;
  _Atomic int job_started;
  loom_future *task;
} tt;

static void tick(void *arg) {
  tt *c = arg;
  if (atomic_fetch_add(&c->ticks, 1) < 100000) loom_call_later(c->l, 0.001, tick, c, NULL);
}

/* Runs on a pool thread: returns once the loop has ticked twice more, which
 * it can only do if waiting for this job does not block it (bounded: 10 s). */
static int watch_loop(loom_future *self, void *arg) {
  tt *c = arg;
  int start = atomic_load(&c->ticks);
  for (int i = 0; i < 10000 && atomic_load(&c->ticks) < start + 2; i++) usleep(1000);
  return loom_future_set_result(self, (void *)(long)(atomic_load(&c->ticks) - start), NULL);
}

static int to_thread_fn(loom_future *self, void *arg) {
  tt *c = arg;
  loom_future *jf = NULL;
  c->rc = loom_to_thread(watch_loop, c, &jf);
  void *v = NULL;
  if (jf) loom_future_result(jf, 0, &v);
  c->value = (long)v;
  loom_future_release(jf);
  atomic_store(&c->ticks, 1000000); /* stop ticking */
  return 0;
}

LOOM_TEST(executor_bridge, to_thread_does_not_block_the_loop) {
  tt c = {.l = ts_loop(false)};
  LT_RC(loom_call_soon(c.l, tick, &c, NULL), 0);
  loom_future *t = ts_run(c.l, to_thread_fn, &c, "to_thread");
  LT_RC(c.rc, 0);
  /* The loop kept ticking while the task awaited the job. */
  LT_CHECK(c.value >= 2, "the loop ticked %ld times during the job", c.value);
  loom_future_release(t);
  loom_loop_destroy(c.l); /* shuts the default executor down */
}

static int cancellable_job(loom_future *self, void *arg) {
  tt *c = arg;
  atomic_store(&c->job_started, 1);
  for (int i = 0; i < 2000 && !loom_future_cancel_requested(self); i++) usleep(1000);
  atomic_store(&c->saw_cancel, loom_future_cancel_requested(self));
  return 0;
}

static int to_thread_cancel_fn(loom_future *self, void *arg) {
  tt *c = arg;
  c->rc = loom_to_thread(cancellable_job, c, NULL);
  return c->rc;
}

/* Cancel the task once its job is running on the pool (a job cancelled
 * while still queued never runs, so it could not see its token). */
static void cancel_later(void *arg) {
  tt *c = arg;
  if (atomic_load(&c->job_started))
    loom_task_cancel(c->task, NULL);
  else
    loom_call_later(c->l, 0.005, cancel_later, c, NULL);
}

LOOM_TEST(executor_bridge, cancel_sets_job_token) {
  tt c = {.l = ts_loop(false)};
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(c.l, to_thread_cancel_fn, &c, "canceller", &t), 0);
  c.task = t;
  LT_RC(loom_call_later(c.l, 0.02, cancel_later, &c, NULL), 0);
  ts_until(c.l, t);
  LT_RC(c.rc, LOOM_ECANCELLED);
  assert_true(loom_future_cancelled(t));
  loom_future_release(t);
  loom_loop_destroy(c.l); /* waits for the job, which saw its token */
  assert_true(atomic_load(&c.saw_cancel));
}

LOOM_TEST(executor_bridge, run_in_given_executor) {
  loom_loop *l = ts_loop(false);
  loom_executor *ex = NULL;
  LT_RC(loom_thread_pool_create(&ex, NULL), 0);
  LT_RC(loom_loop_set_default_executor(l, ex), 0);
  loom_future *f = NULL;
  LT_RC(loom_run_in_executor(l, NULL, blocking, (void *)1L, &f), 0);
  ts_until(l, f);
  void *v;
  LT_RC(loom_future_result(f, 0, &v), 0);
  assert_int_equal((long)v, 2);
  loom_future_release(f);
  LT_RC(loom_to_thread(blocking, NULL, NULL), LOOM_ENOTASK);
  loom_loop_destroy(l);
  loom_executor_destroy(ex); /* borrowed by the loop: still ours */
}
