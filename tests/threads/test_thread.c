/* test_thread.c - loom_thread: start/join/is_alive/name/ident, the result
 * future (mixing with loom_wait), join timeouts, detaching, fault injection
 * (semantics of CPython's test_threading ThreadTests where they apply). */
#include "threads_util.h"

static int add_one(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((uintptr_t)arg + 1), NULL);
}

LOOM_TEST(thread, start_join_result) {
  loom_thread *t;
  LT_RC(loom_thread_start(NULL, "x", add_one, NULL), LOOM_EINVAL);
  LT_RC(loom_thread_start(&t, "x", NULL, NULL), LOOM_EINVAL);
  assert_null(t);
  LT_RC(loom_thread_start(&t, "adder", add_one, (void *)41), 0);
  LT_RC(loom_thread_join(t, 10), 0);
  assert_false(loom_thread_is_alive(t));
  void *v;
  LT_RC(loom_future_result(loom_thread_future(t), 0, &v), 0);
  assert_int_equal((uintptr_t)v, 42);
  LT_RC(loom_thread_join(t, 0), 0); /* joining twice is fine */
  assert_string_equal(loom_thread_name(t), "adder");
  assert_string_equal(loom_future_label(loom_thread_future(t)), "adder");
  LT_RC(loom_thread_destroy(t), 0);
  LT_RC(loom_thread_destroy(NULL), 0);
  LT_RC(loom_thread_join(NULL, 0), LOOM_EINVAL);
}

static int fail_with_message(loom_future *self, void *arg) {
  (void)arg;
  return loom_future_set_error(self, LOOM_ENOENT, "no such %s", "thing");
}
static int return_code(loom_future *self, void *arg) {
  (void)self;
  (void)arg;
  return LOOM_EPIPE;
}

LOOM_TEST(thread, errors_reach_the_future) {
  loom_thread *a, *b;
  LT_RC(loom_thread_start(&a, NULL, fail_with_message, NULL), 0);
  LT_RC(loom_thread_start(&b, NULL, return_code, NULL), 0);
  const char *msg;
  LT_RC(loom_future_error(loom_thread_future(a), 10, &msg), LOOM_ENOENT);
  assert_string_equal(msg, "no such thing");
  LT_RC(loom_future_result(loom_thread_future(b), 10, NULL), LOOM_EPIPE);
  LT_RC(loom_thread_join(a, 10), 0);
  LT_RC(loom_thread_join(b, 10), 0);
  LT_RC(loom_thread_destroy(a), 0);
  LT_RC(loom_thread_destroy(b), 0);
}

typedef struct {
  loom_event *go;
  char name[64];
  uint64_t ident;
} gate_arg;

static int wait_gate(loom_future *self, void *arg) {
  gate_arg *g = arg;
  snprintf(g->name, sizeof g->name, "%s", loom_thread_current_name());
  g->ident = loom_thread_current_ident();
  int rc = loom_event_wait(g->go, 10);
  if (rc == 0 && loom_future_cancel_requested(self)) return LOOM_ECANCELLED;
  return rc;
}

LOOM_TEST(thread, alive_join_timeout_names_idents) {
  loom_event *go;
  LT_RC(loom_event_create(&go), 0);
  gate_arg g = {.go = go};
  loom_thread *t;
  LT_RC(loom_thread_start(&t, NULL, wait_gate, &g), 0);
  assert_true(loom_thread_is_alive(t));
  assert_non_null(strstr(loom_thread_name(t), "Thread-"));
  LT_RC(loom_thread_join(t, 0), LOOM_ETIMEDOUT);
  double t0 = loom_now();
  LT_RC(loom_thread_join(t, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms join too short");
  assert_true(loom_thread_is_alive(t));
  assert_string_equal(loom_thread_current_name(), "MainThread");
  LT_RC(loom_event_set(go), 0);
  LT_RC(loom_thread_join(t, 10), 0);
  assert_false(loom_thread_is_alive(t));
  assert_string_equal(g.name, loom_thread_name(t));
  assert_true(g.ident == loom_thread_ident(t));
  assert_true(g.ident != loom_thread_current_ident());
  LT_RC(loom_thread_destroy(t), 0);
  LT_RC(loom_event_destroy(go), 0);
}

LOOM_TEST(thread, default_names_count_up) {
  loom_thread *a, *b;
  LT_RC(loom_thread_start(&a, NULL, add_one, NULL), 0);
  LT_RC(loom_thread_start(&b, NULL, add_one, NULL), 0);
  unsigned na = 0, nb = 0;
  assert_int_equal(sscanf(loom_thread_name(a), "Thread-%u", &na), 1);
  assert_int_equal(sscanf(loom_thread_name(b), "Thread-%u", &nb), 1);
  assert_int_equal(nb, na + 1);
  loom_thread_join(a, 10);
  loom_thread_join(b, 10);
  loom_thread_destroy(a);
  loom_thread_destroy(b);
}

LOOM_TEST(thread, cancel_is_a_request_the_thread_can_honour) {
  loom_event *go;
  LT_RC(loom_event_create(&go), 0);
  gate_arg g = {.go = go};
  loom_thread *t;
  LT_RC(loom_thread_start(&t, "c", wait_gate, &g), 0);
  loom_future *f = loom_thread_future(t);
  assert_true(loom_future_running(f));
  assert_false(loom_future_cancel(f)); /* running: only a request */
  assert_true(loom_future_cancel_requested(f));
  loom_event_set(go);
  LT_RC(loom_thread_join(t, 10), 0);
  assert_true(loom_future_cancelled(f));
  LT_RC(loom_thread_destroy(t), 0);
  LT_RC(loom_event_destroy(go), 0);
}

static int join_self(loom_future *self, void *arg) {
  (void)self;
  loom_thread **tp = arg;
  /* Wait until the starter published the handle. */
  loom_thread *t;
  while (!(t = __atomic_load_n(tp, __ATOMIC_ACQUIRE))) sleep_ms(0.1);
  return loom_thread_join(t, 1) == LOOM_EDEADLOCK ? 0 : LOOM_EFAILED;
}

LOOM_TEST(thread, join_self_is_deadlock) {
  loom_thread *t = NULL, *slot = NULL;
  LT_RC(loom_thread_start(&t, "selfish", join_self, &slot), 0);
  __atomic_store_n(&slot, t, __ATOMIC_RELEASE);
  LT_RC(loom_future_result(loom_thread_future(t), 10, NULL), 0);
  LT_RC(loom_thread_join(t, 10), 0);
  LT_RC(loom_thread_destroy(t), 0);
}

static int sleep_then(loom_future *self, void *arg) {
  sleep_ms((double)(uintptr_t)arg);
  return loom_future_set_result(self, arg, NULL);
}

LOOM_TEST(thread, futures_mix_with_wait_and_as_completed) {
  loom_thread *slow, *fast;
  LT_RC(loom_thread_start(&slow, "slow", sleep_then, (void *)300), 0);
  LT_RC(loom_thread_start(&fast, "fast", sleep_then, (void *)1), 0);
  loom_future *fs[2] = {loom_thread_future(slow), loom_thread_future(fast)};
  loom_future *done[2];
  size_t nd = 0;
  LT_RC(loom_wait(fs, 2, 10, LOOM_FIRST_COMPLETED, done, &nd, NULL, NULL), 0);
  assert_true(nd >= 1);
  assert_ptr_equal(done[0], fs[1]);
  loom_as_completed *it;
  LT_RC(loom_as_completed_create(fs, 2, 10, &it), 0);
  loom_future *f;
  LT_RC(loom_as_completed_next(it, &f), 0);
  assert_ptr_equal(f, fs[1]);
  LT_RC(loom_as_completed_next(it, &f), 0);
  assert_ptr_equal(f, fs[0]);
  LT_RC(loom_as_completed_next(it, &f), LOOM_ESTOP);
  loom_as_completed_destroy(it);
  loom_thread_join(slow, 10);
  loom_thread_join(fast, 10);
  loom_thread_destroy(slow);
  loom_thread_destroy(fast);
}

LOOM_TEST(thread, destroy_without_join_detaches) {
  loom_event *go;
  LT_RC(loom_event_create(&go), 0);
  gate_arg g = {.go = go};
  loom_thread *t;
  LT_RC(loom_thread_start(&t, "detached", wait_gate, &g), 0);
  loom_future *f = loom_future_retain(loom_thread_future(t));
  assert_int_equal(loom_live_count(LOOM_LIVE_THREADS), 1);
  LT_RC(loom_thread_destroy(t), 0); /* still running: detached */
  assert_int_equal(loom_live_count(LOOM_LIVE_THREADS), 1);
  loom_event_set(go);
  LT_RC(loom_future_wait(f, 10), 0);
  assert_true(WAIT_UNTIL(loom_live_count(LOOM_LIVE_THREADS) == 0, 5));
  loom_future_release(f);
  /* destroy after the thread finished, without a join */
  LT_RC(loom_thread_start(&t, "done", add_one, NULL), 0);
  LT_RC(loom_future_wait(loom_thread_future(t), 10), 0);
  assert_true(WAIT_UNTIL(!loom_thread_is_alive(t), 5));
  LT_RC(loom_thread_destroy(t), 0);
  assert_int_equal(loom_live_count(LOOM_LIVE_THREADS), 0);
  LT_RC(loom_event_destroy(go), 0);
}

typedef struct {
  loom_thread *t;
  int rc;
  fake_task *task;
} j_arg;

static void *join_as_task(void *p) {
  j_arg *a = p;
  ft_enter(a->task);
  a->rc = loom_thread_join(a->t, 10);
  ft_leave();
  return NULL;
}

LOOM_TEST(thread, join_from_a_task_parks_and_can_be_cancelled) {
  loom_event *go;
  LT_RC(loom_event_create(&go), 0);
  gate_arg g = {.go = go};
  loom_thread *t;
  LT_RC(loom_thread_start(&t, "joined", wait_gate, &g), 0);
  fake_task ft;
  ft_init(&ft);
  j_arg a = {.t = t, .task = &ft};
  pthread_t j = spawn(join_as_task, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&ft), 5));
  assert_true(ft_cancel(&ft));
  pthread_join(j, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  j = spawn(join_as_task, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&ft), 5));
  loom_event_set(go);
  pthread_join(j, NULL);
  LT_RC(a.rc, 0);
  LT_RC(loom_thread_destroy(t), 0);
  LT_RC(loom_event_destroy(go), 0);
}

static int start_sweep(void *ctx) {
  (void)ctx;
  loom_thread *t;
  int rc = loom_thread_start(&t, NULL, add_one, (void *)1);
  if (rc < 0) return rc;
  rc = loom_thread_join(t, 10);
  void *v = NULL;
  if (rc == 0) rc = loom_future_result(loom_thread_future(t), 0, &v);
  if (rc == 0 && (uintptr_t)v != 2) rc = 1;
  loom_thread_destroy(t);
  return rc;
}

LOOM_TEST(thread, fault_sweep_start) {
  /* allocation of the handle, of the name, and pthread_create */
  assert_true(loom_test_fault_sweep(start_sweep, NULL, LOOM_FAULT_ALL, 20) >= 3);
  loom_fault_arm(1, 0, LOOM_FAULT_SYSCALL);
  loom_thread *t = (loom_thread *)1;
  LT_RC(loom_thread_start(&t, "x", add_one, NULL), LOOM_EAGAIN);
  loom_fault_disarm();
  assert_null(t);
}
