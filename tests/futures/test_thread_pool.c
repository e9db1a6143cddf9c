/* test_thread_pool.c - the thread pool executor: submit, results, errors,
 * workers on demand and reused, names, initializer, cancel token, many
 * submitters (semantics of CPython's test_thread_pool.py and executor.py). */
#include "pool_util.h"

#include <unistd.h>

LOOM_TEST(thread_pool, defaults) {
  loom_executor *ex = NULL;
  LT_RC(loom_thread_pool_create(&ex, NULL), 0);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int want = cpus + 4 < 32 ? (int)cpus + 4 : 32;
  LT_CHECK(loom_executor_max_workers(ex) == want, "max_workers %d, want %d",
           loom_executor_max_workers(ex), want);
  assert_string_equal(loom_executor_kind(ex), "thread_pool");
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  LT_CHECK(st.workers == 0 && st.started == 0, "no thread before the first submit");
  loom_executor_destroy(ex);
}

LOOM_TEST(thread_pool, invalid_arguments) {
  loom_executor *ex = (loom_executor *)1;
  LT_RC(loom_thread_pool_create(NULL, NULL), LOOM_EINVAL);
  loom_thread_pool_options o = {.max_workers = -1};
  LT_RC(loom_thread_pool_create(&ex, &o), LOOM_EINVAL);
  assert_null(ex);
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(NULL, &st), LOOM_EINVAL);
  ex = pool_new(1);
  loom_future *f = NULL;
  LT_RC(loom_executor_submit(ex, NULL, NULL, &f), LOOM_EINVAL);
  LT_RC(loom_executor_submit(ex, job_ident, NULL, NULL), LOOM_EINVAL);
  LT_RC(loom_executor_submit_bytes(ex, job_ident, NULL, 3, &f), LOOM_EINVAL);
  loom_executor_destroy(ex);
}

LOOM_TEST(thread_pool, submit_results) {
  loom_executor *ex = pool_new(4);
  loom_future *fs[200];
  for (long i = 0; i < 200; i++) fs[i] = submit(ex, job_mul2, (void *)i);
  for (long i = 0; i < 200; i++) {
    void *v;
    LT_RC(loom_future_result(fs[i], 10.0, &v), 0);
    LT_CHECK((long)v == 2 * i, "item %ld gave %ld", i, (long)v);
    loom_future_release(fs[i]);
  }
  loom_executor_destroy(ex);
}

static int job_bytes_len(loom_future *self, void *arg) {
  size_t n = loom_future_arg_size(self);
  char buf[64];
  snprintf(buf, sizeof buf, "%zu:%.*s", n, (int)n, (const char *)arg);
  return loom_future_set_result_bytes(self, buf, strlen(buf));
}

LOOM_TEST(thread_pool, submit_bytes_copies_argument) {
  loom_executor *ex = pool_new(2);
  char data[] = "hello";
  loom_future *f;
  LT_RC(loom_executor_submit_bytes(ex, job_bytes_len, data, 5, &f), 0);
  memcpy(data, "XXXXX", 5); /* the job has its own copy */
  const void *d;
  size_t n;
  LT_RC(loom_future_result_bytes(f, 10.0, &d, &n), 0);
  assert_string_equal(d, "5:hello");
  loom_future_release(f);
  loom_executor_destroy(ex);
}

static int job_return_code(loom_future *self, void *arg) {
  (void)self;
  return (int)(intptr_t)arg;
}

LOOM_TEST(thread_pool, failing_callable_keeps_code_and_message) {
  loom_executor *ex = pool_new(2);
  loom_future *f = submit(ex, job_fail, (void *)7);
  loom_future *g = submit(ex, job_return_code, (void *)(intptr_t)LOOM_EPERM);
  loom_future *h = submit(ex, job_return_code, (void *)0);
  const char *msg = NULL;
  LT_RC(loom_future_error(f, 10.0, &msg), LOOM_ENOENT);
  assert_string_equal(msg, "item 7 failed");
  LT_RC(loom_future_result(f, 0, NULL), LOOM_ENOENT);
  LT_RC(loom_future_error(g, 10.0, &msg), LOOM_EPERM);
  assert_string_equal(msg, loom_strerror(LOOM_EPERM));
  void *v = (void *)1;
  LT_RC(loom_future_result(h, 10.0, &v), 0);
  assert_null(v);
  loom_future_release(f);
  loom_future_release(g);
  loom_future_release(h);
  loom_executor_destroy(ex);
}

LOOM_TEST(thread_pool, submit_after_shutdown) {
  loom_executor *ex = pool_new(2);
  loom_future *f = submit(ex, job_ident, (void *)1);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  assert_true(loom_future_done(f));
  loom_future *g = (loom_future *)1;
  LT_RC(loom_executor_submit(ex, job_ident, NULL, &g), LOOM_ESHUTDOWN);
  assert_null(g);
  LT_RC(loom_executor_submit_bytes(ex, job_ident, "x", 1, &g), LOOM_ESHUTDOWN);
  LT_RC(loom_executor_shutdown(ex, true, true), 0); /* idempotent */
  loom_future_release(f);
  loom_executor_destroy(ex);
}

LOOM_TEST(thread_pool, shutdown_without_wait_still_runs_queued_jobs) {
  loom_executor *ex = pool_new(1);
  loom_future *gate = plain();
  loom_future *first = submit(ex, job_gate, gate);
  loom_future *rest[5];
  for (long i = 0; i < 5; i++) rest[i] = submit(ex, job_mul2, (void *)i);
  LT_RC(loom_executor_shutdown(ex, false, false), 0);
  /* It returned while the first job still waits for the gate. */
  assert_false(loom_future_done(first));
  loom_future_set_result(gate, NULL, NULL);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  LT_RC(loom_future_result(first, 0, NULL), 0);
  for (long i = 0; i < 5; i++) {
    void *v;
    LT_RC(loom_future_result(rest[i], 0, &v), 0);
    assert_int_equal((long)v, 2 * i);
    loom_future_release(rest[i]);
  }
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  assert_int_equal(st.workers, 0);
  loom_future_release(first);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(thread_pool, shutdown_cancel_futures) {
  loom_executor *ex = pool_new(1);
  loom_future *gate = plain();
  loom_future *first = submit(ex, job_gate, gate);
  LT_CHECK(eventually(fut_running, first, 10.0), "first job started");
  loom_future *rest[10];
  for (long i = 0; i < 10; i++) rest[i] = submit(ex, job_ident, (void *)i);
  LT_RC(loom_executor_shutdown(ex, false, true), 0);
  for (int i = 0; i < 10; i++) {
    LT_CHECK(loom_future_cancelled(rest[i]), "queued job %d cancelled", i);
    LT_RC(loom_future_result(rest[i], 0, NULL), LOOM_ECANCELLED);
  }
  assert_false(loom_future_done(first)); /* running jobs are not cancelled */
  loom_future_set_result(gate, NULL, NULL);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  LT_RC(loom_future_result(first, 0, NULL), 0);
  for (int i = 0; i < 10; i++) loom_future_release(rest[i]);
  loom_future_release(first);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

static int job_shutdown_own_pool(loom_future *self, void *arg) {
  int rc = loom_executor_shutdown(arg, true, false);
  return loom_future_set_result(self, (void *)(intptr_t)rc, NULL);
}

LOOM_TEST(thread_pool, shutdown_wait_from_own_worker_is_deadlock) {
  loom_executor *ex = pool_new(2);
  loom_future *f = submit(ex, job_shutdown_own_pool, ex);
  void *v;
  LT_RC(loom_future_result(f, 10.0, &v), 0);
  LT_CHECK((int)(intptr_t)v == LOOM_EDEADLOCK, "got %d", (int)(intptr_t)v);
  loom_future *g = NULL;
  LT_RC(loom_executor_submit(ex, job_ident, NULL, &g), LOOM_ESHUTDOWN);
  loom_future_release(f);
  loom_executor_destroy(ex);
}

static int job_destroy_own_pool(loom_future *self, void *arg) {
  loom_executor_destroy(arg);
  return loom_future_set_result(self, (void *)5, NULL);
}

LOOM_TEST(thread_pool, destroy_from_own_worker) {
  loom_executor *ex = pool_new(3);
  loom_future *f = submit(ex, job_destroy_own_pool, ex);
  void *v;
  LT_RC(loom_future_result(f, 10.0, &v), 0);
  assert_int_equal((long)v, 5);
  loom_future_release(f);
  /* The last worker frees the pool: the harness checks that the executor
   * and thread counters reach zero. */
  long zero[LOOM_LIVE__COUNT] = {0};
  LT_CHECK(loom_test_live_equal(zero, 10.0), "orphaned pool freed itself");
}

LOOM_TEST(thread_pool, scoped_executor_shuts_down) {
  loom_future *f;
  {
    LOOM_EXECUTOR_SCOPED loom_executor *ex = pool_new(2);
    f = submit(ex, job_sleep_ms, (void *)20);
  }
  assert_true(loom_future_done(f)); /* leaving the scope waited */
  loom_future_release(f);
}

LOOM_TEST(thread_pool, cancel_queued_is_instant) {
  loom_executor *ex = pool_new(1);
  loom_future *gate = plain();
  loom_future *first = submit(ex, job_gate, gate);
  loom_future *queued = submit(ex, job_ident, (void *)3);
  assert_true(loom_future_cancel(queued));
  assert_true(loom_future_cancelled(queued));
  loom_future_set_result(gate, NULL, NULL);
  LT_RC(loom_future_result(first, 10.0, NULL), 0);
  LT_RC(loom_future_result(queued, 10.0, NULL), LOOM_ECANCELLED);
  loom_future_release(first);
  loom_future_release(queued);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(thread_pool, cancel_token_observed_by_long_job) {
  loom_executor *ex = pool_new(2);
  loom_future *f = submit(ex, job_until_cancelled, NULL);
  LT_CHECK(eventually(fut_running, f, 10.0), "job started");
  assert_false(loom_future_cancel(f)); /* running: only a request */
  assert_true(loom_future_cancel_requested(f));
  LT_RC(loom_future_wait(f, 10.0), 0);
  assert_true(loom_future_cancelled(f));
  LT_RC(loom_future_result(f, 0, NULL), LOOM_ECANCELLED);
  loom_future_release(f);
  loom_executor_destroy(ex);
}

/* ---- workers: on demand, bounded, reused ---------------------------------- */

typedef struct rendezvous {
  _Atomic int arrived, running, max_running;
  int need;
} rendezvous;

/* Every job waits until `need` jobs run at the same time (max 20 s). */
static int job_rendezvous(loom_future *self, void *arg) {
  rendezvous *r = arg;
  atomic_fetch_add(&r->arrived, 1);
  for (int i = 0; i < 20000 && atomic_load(&r->arrived) < r->need; i++) sleep_ms(1);
  return loom_future_set_result(self, (void *)(intptr_t)atomic_load(&r->arrived), NULL);
}

LOOM_TEST(thread_pool, workers_start_on_demand_up_to_max) {
  loom_executor *ex = pool_new(4);
  rendezvous r = {.need = 4};
  loom_future *fs[4];
  for (int i = 0; i < 4; i++) fs[i] = submit(ex, job_rendezvous, &r);
  for (int i = 0; i < 4; i++) {
    void *v;
    LT_RC(loom_future_result(fs[i], 30.0, &v), 0);
    LT_CHECK((long)v >= 4, "job %d saw only %ld jobs running together", i, (long)v);
    loom_future_release(fs[i]);
  }
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  assert_int_equal(st.started, 4);
  loom_executor_destroy(ex);
}

static int job_count_concurrency(loom_future *self, void *arg) {
  rendezvous *r = arg;
  int now = atomic_fetch_add(&r->running, 1) + 1;
  int seen = atomic_load(&r->max_running);
  while (now > seen && !atomic_compare_exchange_weak(&r->max_running, &seen, now)) {
  }
  sleep_ms(2);
  atomic_fetch_sub(&r->running, 1);
  return loom_future_set_result(self, NULL, NULL);
}

LOOM_TEST(thread_pool, max_workers_not_exceeded) {
  loom_executor *ex = pool_new(3);
  rendezvous r = {0};
  loom_future *fs[60];
  for (int i = 0; i < 60; i++) fs[i] = submit(ex, job_count_concurrency, &r);
  for (int i = 0; i < 60; i++) {
    LT_RC(loom_future_result(fs[i], 30.0, NULL), 0);
    loom_future_release(fs[i]);
  }
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  LT_CHECK(st.started <= 3 && st.workers <= 3, "started %llu workers",
           (unsigned long long)st.started);
  LT_CHECK(atomic_load(&r.max_running) <= 3, "%d jobs ran at once",
           atomic_load(&r.max_running));
  LT_CHECK(atomic_load(&r.max_running) >= 2, "the burst used several workers");
  loom_executor_destroy(ex);
}

static bool one_idle(void *ex) {
  loom_thread_pool_stats st;
  return loom_thread_pool_stats_get(ex, &st) == 0 && st.idle == st.workers;
}

LOOM_TEST(thread_pool, idle_worker_reused) {
  loom_executor *ex = pool_new(8);
  for (long i = 0; i < 6; i++) {
    loom_future *f = submit(ex, job_mul2, (void *)i);
    LT_RC(loom_future_result(f, 10.0, NULL), 0);
    loom_future_release(f);
    /* The worker sets the result before it goes back to idle: wait until it
     * is idle so the next submit can only reuse it. */
    LT_CHECK(eventually(one_idle, ex, 10.0), "worker went idle");
  }
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  LT_CHECK(st.started == 1, "%llu workers started for sequential jobs",
           (unsigned long long)st.started);
  loom_executor_destroy(ex);
}

/* ---- names and initializer ------------------------------------------------ */

static int job_thread_name(loom_future *self, void *arg) {
  char name[32] = "";
  pthread_getname_np(pthread_self(), name, sizeof name);
  return loom_future_set_result_bytes(self, name, strlen(name));
}

static void check_name(const char *prefix, const char *want_start) {
  loom_executor *ex = NULL;
  loom_thread_pool_options o = {.max_workers = 1, .thread_name_prefix = prefix};
  LT_RC(loom_thread_pool_create(&ex, &o), 0);
  loom_future *f = submit(ex, job_thread_name, NULL);
  const void *name;
  LT_RC(loom_future_result_bytes(f, 10.0, &name, NULL), 0);
  LT_CHECK(strncmp(name, want_start, strlen(want_start)) == 0, "thread named '%s', want '%s'",
           (const char *)name, want_start);
  LT_CHECK(strlen(name) <= 15, "name '%s' too long", (const char *)name);
  loom_future_release(f);
  loom_executor_destroy(ex);
}

LOOM_TEST(thread_pool, thread_names) {
  check_name("mypool", "mypool_0");
  check_name("averyveryverylongprefix", "averyveryverylo");
  check_name(NULL, "loom-pool-");
}

static int init_count(void *arg) {
  atomic_fetch_add((_Atomic int *)arg, 1);
  return 0;
}

LOOM_TEST(thread_pool, initializer_runs_once_per_worker) {
  _Atomic int calls = 0;
  loom_executor *ex = NULL;
  loom_thread_pool_options o = {.max_workers = 2, .initializer = init_count,
                                .initializer_arg = (void *)&calls};
  LT_RC(loom_thread_pool_create(&ex, &o), 0);
  rendezvous r = {.need = 2};
  loom_future *a = submit(ex, job_rendezvous, &r), *b = submit(ex, job_rendezvous, &r);
  LT_RC(loom_future_result(a, 30.0, NULL), 0);
  LT_RC(loom_future_result(b, 30.0, NULL), 0);
  for (int i = 0; i < 20; i++) {
    loom_future *f = submit(ex, job_ident, NULL);
    LT_RC(loom_future_result(f, 10.0, NULL), 0);
    loom_future_release(f);
  }
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  assert_int_equal(atomic_load(&calls), 2);
  loom_future_release(a);
  loom_future_release(b);
  loom_executor_destroy(ex);
}

static int init_fail(void *arg) {
  (void)arg;
  return LOOM_EPERM;
}

static bool submit_broken(void *ex) {
  loom_future *f = NULL;
  int rc = loom_executor_submit(ex, job_ident, NULL, &f);
  if (rc == 0) {
    loom_future_wait(f, 10.0);
    loom_future_release(f);
  }
  return rc == LOOM_EBROKEN;
}

LOOM_TEST(thread_pool, initializer_failure_breaks_pool) {
  loom_executor *ex = NULL;
  loom_thread_pool_options o = {.max_workers = 2, .initializer = init_fail};
  LT_RC(loom_thread_pool_create(&ex, &o), 0);
  loom_future *fs[5] = {0};
  for (int i = 0; i < 5; i++) {
    int rc = loom_executor_submit(ex, job_ident, NULL, &fs[i]);
    LT_CHECK(rc == 0 || rc == LOOM_EBROKEN, "submit %d: %s", i, loom_err_name(rc));
  }
  LT_CHECK(fs[0] != NULL, "the first submit is accepted");
  for (int i = 0; i < 5; i++) {
    if (!fs[i]) continue;
    const char *msg;
    LT_RC(loom_future_error(fs[i], 10.0, &msg), LOOM_EBROKEN);
    LT_CHECK(msg && strstr(msg, "initializer") && strstr(msg, "EPERM"), "message: %s", msg);
    loom_future_release(fs[i]);
  }
  LT_CHECK(eventually(submit_broken, ex, 10.0), "pool reports broken");
  loom_future *g = NULL;
  LT_RC(loom_executor_submit(ex, job_ident, NULL, &g), LOOM_EBROKEN);
  loom_executor_destroy(ex);
}

/* ---- many submitters -------------------------------------------------------- */

typedef struct submitter {
  loom_executor *ex;
  long base, n, bad;
} submitter;

static void *submit_many(void *arg) {
  submitter *s = arg;
  loom_future **fs = calloc((size_t)s->n, sizeof *fs);
  for (long i = 0; i < s->n; i++)
    if (loom_executor_submit(s->ex, job_mul2, (void *)(s->base + i), &fs[i]) < 0) s->bad++;
  for (long i = 0; i < s->n; i++) {
    void *v = NULL;
    if (!fs[i] || loom_future_result(fs[i], 30.0, &v) < 0 || (long)v != 2 * (s->base + i))
      s->bad++;
    loom_future_release(fs[i]);
  }
  free(fs);
  return NULL;
}

LOOM_TEST(thread_pool, many_threads_submitting) {
  loom_executor *ex = pool_new(4);
  pthread_t th[8];
  submitter s[8];
  for (int i = 0; i < 8; i++) {
    s[i] = (submitter){ex, i * 100000L, 3000, 0};
    pthread_create(&th[i], NULL, submit_many, &s[i]);
  }
  for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 8; i++) LT_CHECK(s[i].bad == 0, "submitter %d: %ld bad", i, s[i].bad);
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  assert_int_equal(st.completed, 8 * 3000);
  loom_executor_destroy(ex);
}

LOOM_TEST(thread_pool, many_trivial_jobs) {
  loom_executor *ex = pool_new(2);
  enum { N = 50000 };
  loom_future **fs = calloc(N, sizeof *fs);
  for (long i = 0; i < N; i++) fs[i] = submit(ex, job_ident, (void *)i);
  long sum = 0;
  for (long i = 0; i < N; i++) {
    void *v;
    LT_RC(loom_future_result(fs[i], 30.0, &v), 0);
    sum += (long)v;
    loom_future_release(fs[i]);
  }
  assert_int_equal(sum, (long)N * (N - 1) / 2);
  free(fs);
  loom_executor_destroy(ex);
}

/* ---- jobs that use their own pool, callbacks ------------------------------ */

static int job_submit_nested(loom_future *self, void *arg) {
  loom_future *inner;
  int rc = loom_executor_submit(arg, job_mul2, (void *)21, &inner);
  if (rc < 0) return rc;
  void *v = NULL;
  rc = loom_future_result(inner, 10.0, &v);
  loom_future_release(inner);
  if (rc < 0) return rc;
  return loom_future_set_result(self, v, NULL);
}

LOOM_TEST(thread_pool, job_submits_to_its_own_pool) {
  loom_executor *ex = pool_new(2);
  loom_future *f = submit(ex, job_submit_nested, ex);
  void *v;
  LT_RC(loom_future_result(f, 20.0, &v), 0);
  assert_int_equal((long)v, 42);
  loom_future_release(f);
  loom_executor_destroy(ex);
}

typedef struct cb_seen {
  _Atomic int calls;
  _Atomic bool in_worker;
} cb_seen;

static int record_callback(loom_future *f, void *arg) {
  cb_seen *s = arg;
  char name[32] = "";
  pthread_getname_np(pthread_self(), name, sizeof name);
  if (strncmp(name, "cbpool_", 7) == 0) atomic_store(&s->in_worker, true);
  atomic_fetch_add(&s->calls, 1);
  return loom_future_done(f) ? 0 : LOOM_EFAILED;
}

LOOM_TEST(thread_pool, done_callbacks_run_in_the_worker) {
  loom_executor *ex = NULL;
  loom_thread_pool_options o = {.max_workers = 1, .thread_name_prefix = "cbpool"};
  LT_RC(loom_thread_pool_create(&ex, &o), 0);
  loom_future *gate = plain();
  loom_future *f = submit(ex, job_gate, gate);
  cb_seen s = {0};
  LT_RC(loom_future_add_done_callback(f, record_callback, &s), 0);
  LT_RC(loom_future_add_done_callback(f, record_callback, &s), 0);
  loom_future_set_result(gate, NULL, NULL);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  assert_int_equal(atomic_load(&s.calls), 2);
  assert_true(atomic_load(&s.in_worker));
  LT_RC(loom_future_add_done_callback(f, record_callback, &s), 0); /* runs now */
  assert_int_equal(atomic_load(&s.calls), 3);
  loom_future_release(f);
  loom_executor_destroy(ex);
  loom_future_release(gate);
}

LOOM_TEST(thread_pool, map_and_submit_from_several_threads_at_once) {
  loom_executor *ex = pool_new(3);
  pthread_t th[4];
  submitter s[4];
  for (int i = 0; i < 4; i++) {
    s[i] = (submitter){ex, i * 1000L, 500, 0};
    pthread_create(&th[i], NULL, submit_many, &s[i]);
  }
  void *items[300];
  for (long i = 0; i < 300; i++) items[i] = (void *)i;
  loom_map_options mo = {.chunksize = 4, .buffersize = 5};
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_mul2, items, 300, 30.0, &mo, &m), 0);
  for (long i = 0; i < 300; i++) {
    void *v;
    LT_RC(loom_map_next(m, &v), 0);
    assert_int_equal((long)v, 2 * i);
  }
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < 4; i++) LT_CHECK(s[i].bad == 0, "submitter %d: %ld bad", i, s[i].bad);
  loom_executor_destroy(ex);
}
