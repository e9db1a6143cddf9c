/* test_pool.c - the process pool executor: results, bytes both ways, errors,
 * initializer, max tasks per child, cancel, shutdown, many submitters. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom_test.h"
#include "pt_util.h"

static int twice(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg * 2), NULL);
}

static int my_pid(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)(long)getpid(), NULL);
}

static int fail_job(loom_future *self, void *arg) {
  return loom_future_set_error(self, LOOM_ENOENT, "no such thing: %ld", (long)arg);
}

static int negative_return(loom_future *self, void *arg) { return LOOM_EPERM; }

static int with_dtor(loom_future *self, void *arg) {
  return loom_future_set_result(self, malloc(8), free);
}

/* bytes in -> bytes out: each byte + 1, size preserved. */
static int bump_bytes(loom_future *self, void *arg) {
  size_t n = loom_future_arg_size(self);
  unsigned char *out = malloc(n ? n : 1);
  const unsigned char *in = arg;
  for (size_t i = 0; i < n; i++) out[i] = (unsigned char)(in[i] + 1);
  int rc = loom_future_set_result_bytes(self, out, n);
  free(out);
  return rc;
}

static int sleep_ms(loom_future *self, void *arg) {
  usleep((useconds_t)((long)arg * 1000));
  return loom_future_set_result(self, arg, NULL);
}

LOOM_TEST(process_pool, submit_results_and_pids) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  loom_process_pool_options o = {.max_workers = 2};
  LT_RC(loom_process_pool_create(&ex, &o), 0);
  assert_string_equal(loom_executor_kind(ex), "process_pool");
  assert_int_equal(loom_executor_max_workers(ex), 2);
  loom_future *fs[100];
  for (long i = 0; i < 100; i++) LT_RC(loom_executor_submit(ex, twice, (void *)i, &fs[i]), 0);
  for (long i = 0; i < 100; i++) {
    void *v;
    LT_RC(loom_future_result(fs[i], 30, &v), 0);
    LT_CHECK((long)v == 2 * i, "job %ld gave %ld", i, (long)v);
    loom_future_release(fs[i]);
  }
  loom_future *f;
  LT_RC(loom_executor_submit(ex, my_pid, NULL, &f), 0);
  void *v;
  LT_RC(loom_future_result(f, 30, &v), 0);
  LT_CHECK((long)v != (long)getpid() && (long)v > 0, "ran in pid %ld", (long)v);
  pid_t pids[4];
  int n = loom_process_pool_pids(ex, pids, 4);
  LT_CHECK(n >= 1 && n <= 2, "%d workers", n);
  bool found = false;
  for (int i = 0; i < n && i < 4; i++) found |= pids[i] == (pid_t)(long)v;
  LT_CHECK(found, "pid %ld is not one of the pool's workers", (long)v);
  loom_future_release(f);
  loom_executor_destroy(ex);
  PT_END(s);
}

LOOM_TEST(process_pool, errors_cross) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 1}), 0);
  loom_future *a, *b, *c;
  LT_RC(loom_executor_submit(ex, fail_job, (void *)7L, &a), 0);
  LT_RC(loom_executor_submit(ex, negative_return, NULL, &b), 0);
  LT_RC(loom_executor_submit(ex, with_dtor, NULL, &c), 0);
  const char *msg;
  LT_RC(loom_future_error(a, 30, &msg), LOOM_ENOENT);
  LT_CHECK(msg && strcmp(msg, "no such thing: 7") == 0, "message '%s'", msg ? msg : "(null)");
  LT_RC(loom_future_error(b, 30, &msg), LOOM_EPERM);
  LT_RC(loom_future_error(c, 30, &msg), LOOM_EINVAL);
  LT_CHECK(msg && strstr(msg, "destructor"), "message '%s'", msg ? msg : "(null)");
  loom_future_release(a);
  loom_future_release(b);
  loom_future_release(c);
  /* A "function" that is not code of any loaded module cannot be named for
   * a worker: a clear error for that job, and the pool goes on. */
  static char not_code[16];
  loom_future *d, *e;
  LT_RC(loom_executor_submit(ex, (loom_fn)(uintptr_t)(void *)&not_code[3], NULL, &d), 0);
  LT_RC(loom_future_error(d, 30, &msg), LOOM_EINVAL);
  LT_CHECK(msg && strstr(msg, "not in a module"), "message '%s'", msg ? msg : "(null)");
  LT_RC(loom_executor_submit(ex, twice, (void *)4L, &e), 0);
  void *v;
  LT_RC(loom_future_result(e, 30, &v), 0);
  LT_CHECK((long)v == 8, "after a bad job: %ld", (long)v);
  loom_future_release(d);
  loom_future_release(e);
  loom_executor_destroy(ex);
  PT_END(s);
}

static void check_bytes_roundtrip(loom_executor *ex, size_t n) {
  unsigned char *buf = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 7);
  loom_future *f;
  LT_RC(loom_executor_submit_bytes(ex, bump_bytes, buf, n, &f), 0);
  const void *data;
  size_t len;
  LT_RC(loom_future_result_bytes(f, 60, &data, &len), 0);
  LT_CHECK(len == n, "size %zu, expected %zu", len, n);
  const unsigned char *d = data;
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) bad += d[i] != (unsigned char)(i * 7 + 1);
  LT_CHECK(bad == 0, "%zu bytes differ in a %zu-byte payload", bad, n);
  loom_future_release(f);
  free(buf);
}

LOOM_TEST(process_pool, payloads_zero_small_large) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
  check_bytes_roundtrip(ex, 0);
  check_bytes_roundtrip(ex, 1);
  check_bytes_roundtrip(ex, 65535);
  check_bytes_roundtrip(ex, 65536); /* shared memory from here */
  check_bytes_roundtrip(ex, (size_t)64 << 20);
  loom_executor_destroy(ex);
  PT_END(s);
}

static int init_fail(void *arg) { return (int)(long)arg; }

LOOM_TEST(process_pool, failing_initializer_breaks_pool) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  loom_process_pool_options o = {.max_workers = 2, .initializer = init_fail,
                                 .initarg = (void *)(long)LOOM_EPERM};
  LT_RC(loom_process_pool_create(&ex, &o), 0);
  loom_future *fs[5];
  for (int i = 0; i < 5; i++) LT_RC(loom_executor_submit(ex, twice, (void *)1L, &fs[i]), 0);
  for (int i = 0; i < 5; i++) {
    const char *msg;
    LT_RC(loom_future_error(fs[i], 30, &msg), LOOM_EBROKEN);
    LT_CHECK(msg && strstr(msg, "initializer"), "message '%s'", msg ? msg : "(null)");
    loom_future_release(fs[i]);
  }
  loom_future *f;
  LT_RC(loom_executor_submit(ex, twice, NULL, &f), LOOM_EBROKEN);
  loom_process_pool_stats st;
  loom_process_pool_stats_get(ex, &st);
  LT_CHECK(st.spawned <= 2, "no restart loop: %lu workers spawned", st.spawned);
  loom_executor_destroy(ex);
  PT_END(s);
}

static int init_set(void *arg) {
  setenv("LOOM_TEST_INIT", "yes", 1);
  return 0;
}

static int read_init(loom_future *self, void *arg) {
  const char *v = getenv("LOOM_TEST_INIT");
  return loom_future_set_result(self, (void *)(long)(v && strcmp(v, "yes") == 0), NULL);
}

LOOM_TEST(process_pool, initializer_and_max_tasks_per_child) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  loom_process_pool_options o = {.max_workers = 2, .initializer = init_set,
                                 .max_tasks_per_child = 3};
  LT_RC(loom_process_pool_create(&ex, &o), 0);
  loom_future *fs[12];
  for (int i = 0; i < 12; i++) LT_RC(loom_executor_submit(ex, read_init, NULL, &fs[i]), 0);
  for (int i = 0; i < 12; i++) {
    void *v;
    LT_RC(loom_future_result(fs[i], 60, &v), 0);
    LT_CHECK((long)v == 1, "the initializer did not run before job %d", i);
    loom_future_release(fs[i]);
  }
  loom_future *f[12];
  long pid_seen[12];
  for (int i = 0; i < 12; i++) LT_RC(loom_executor_submit(ex, my_pid, NULL, &f[i]), 0);
  for (int i = 0; i < 12; i++) {
    void *v;
    LT_RC(loom_future_result(f[i], 60, &v), 0);
    pid_seen[i] = (long)v;
    loom_future_release(f[i]);
  }
  for (int i = 0; i < 12; i++) {
    int same = 0;
    for (int j = 0; j < 12; j++) same += pid_seen[j] == pid_seen[i];
    LT_CHECK(same <= 3, "pid %ld ran %d jobs (max 3 per child)", pid_seen[i], same);
  }
  loom_process_pool_stats st;
  loom_process_pool_stats_get(ex, &st);
  LT_CHECK(st.spawned >= 8, "24 jobs at 3 per child need 8 workers, %lu spawned", st.spawned);
  LT_CHECK(st.deaths == 0, "retirements are not deaths: %lu", st.deaths);
  loom_executor_destroy(ex);
  PT_END(s);
}

LOOM_TEST(process_pool, shutdown_while_busy) {
  pt_snap s = pt_begin();
  for (int mode = 0; mode < 3; mode++) {
    loom_executor *ex;
    LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
    loom_future *fs[20];
    for (int i = 0; i < 20; i++) LT_RC(loom_executor_submit(ex, sleep_ms, (void *)20L, &fs[i]), 0);
    /* Shut down once work is under way (not after a fixed sleep: starting
     * workers can take long on a loaded machine), so some jobs are done and
     * most are still queued. */
    LT_RC(loom_future_wait(fs[0], 30), 0);
    bool wait = mode != 1, cancel = mode >= 1;
    LT_RC(loom_executor_shutdown(ex, wait, cancel), 0);
    loom_future *g;
    LT_RC(loom_executor_submit(ex, twice, NULL, &g), LOOM_ESHUTDOWN);
    int ok = 0, cancelled = 0;
    for (int i = 0; i < 20; i++) {
      LT_RC(loom_future_wait(fs[i], 30), 0);
      if (loom_future_cancelled(fs[i])) cancelled++;
      else if (loom_future_result(fs[i], 0, NULL) == 0) ok++;
      loom_future_release(fs[i]);
    }
    LT_CHECK(ok + cancelled == 20, "mode %d: ok %d cancelled %d", mode, ok, cancelled);
    if (!cancel) LT_CHECK(ok == 20, "mode %d: shutdown without cancel ran %d of 20", mode, ok);
    else LT_CHECK(cancelled > 0 && ok > 0, "mode %d: ok %d cancelled %d", mode, ok, cancelled);
    loom_executor_destroy(ex);
  }
  PT_END(s);
}

LOOM_TEST(process_pool, cancel_pending_and_running) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 1}), 0);
  loom_future *slow, *after[10];
  LT_RC(loom_executor_submit(ex, sleep_ms, (void *)20000L, &slow), 0);
  for (int i = 0; i < 10; i++) LT_RC(loom_executor_submit(ex, twice, (void *)(long)i, &after[i]), 0);
  while (!loom_future_running(slow)) usleep(1000);
  usleep(200000); /* let the worker start the slow job */
  loom_future_cancel(slow);
  LT_RC(loom_future_wait(slow, 15), 0); /* the job sleeps 20 s: only the kill ends it sooner */
  LT_CHECK(loom_future_cancelled(slow), "state %s",
           loom_future_state_name(loom_future_state_get(slow)));
  int cancelled = 0;
  for (int i = 0; i < 10; i++) {
    if (i % 2 == 0 && loom_future_cancel(after[i])) cancelled++;
  }
  for (int i = 0; i < 10; i++) {
    LT_RC(loom_future_wait(after[i], 30), 0);
    if (!loom_future_cancelled(after[i])) {
      void *v;
      LT_RC(loom_future_result(after[i], 0, &v), 0);
      LT_CHECK((long)v == 2 * i, "job %d", i);
    }
    loom_future_release(after[i]);
  }
  loom_future_release(slow);
  loom_executor_destroy(ex);
  PT_END(s);
}

typedef struct submitter {
  loom_executor *ex;
  int base, n, bad;
} submitter;

static void *submit_many(void *arg) {
  submitter *s = arg;
  loom_future **fs = calloc((size_t)s->n, sizeof *fs);
  for (int i = 0; i < s->n; i++)
    if (loom_executor_submit(s->ex, twice, (void *)(long)(s->base + i), &fs[i]) < 0) s->bad++;
  for (int i = 0; i < s->n; i++) {
    void *v = NULL;
    if (!fs[i] || loom_future_result(fs[i], 60, &v) < 0 || (long)v != 2L * (s->base + i)) s->bad++;
    loom_future_release(fs[i]);
  }
  free(fs);
  return NULL;
}

LOOM_TEST(process_pool, many_threads_submitting) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
  pthread_t th[8];
  submitter sub[8];
  for (int i = 0; i < 8; i++) {
    sub[i] = (submitter){.ex = ex, .base = i * 100000, .n = 2000};
    pthread_create(&th[i], NULL, submit_many, &sub[i]);
  }
  int bad = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    bad += sub[i].bad;
  }
  LT_CHECK(bad == 0, "%d wrong or missing results of 16000", bad);
  loom_executor_destroy(ex);
  PT_END(s);
}

LOOM_TEST(process_pool, bad_arguments) {
  loom_executor *ex;
  LT_RC(loom_process_pool_create(NULL, NULL), LOOM_EINVAL);
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = -1}), LOOM_EINVAL);
  LT_RC(loom_process_pool_create(&ex, NULL), 0);
  LT_CHECK(loom_executor_max_workers(ex) == loom_cpu_count(), "default workers %d",
           loom_executor_max_workers(ex));
  loom_future *f;
  LT_RC(loom_process_pool_submit_opts(ex, twice, NULL, NULL, 0,
                                      &(loom_process_task_options){.retries = -1}, &f),
        LOOM_EINVAL);
  loom_executor_destroy(ex);
}

/* The generic executor map (futures area) runs on a process pool too (one
 * job per item: its chunk jobs carry raw pointers, so chunked maps on a
 * process pool go through loom_process_pool_map); process futures mix with
 * thread-pool futures in wait and as_completed. */
LOOM_TEST(process_pool, generic_map_and_mixing) {
  pt_snap s = pt_begin();
  loom_executor *pp, *tp;
  LT_RC(loom_process_pool_create(&pp, &(loom_process_pool_options){.max_workers = 2}), 0);
  LT_RC(loom_thread_pool_create(&tp, NULL), 0);
  void *items[300];
  for (long i = 0; i < 300; i++) items[i] = (void *)i;
  size_t chunks[] = {1};
  for (int c = 0; c < 1; c++) {
    loom_map *m;
    loom_map_options o = {.chunksize = chunks[c]};
    LT_RC(loom_executor_map(pp, twice, items, 300, 60, &o, &m), 0);
    void *v;
    long k = 0;
    int rc;
    while ((rc = loom_map_next(m, &v)) == 0) {
      LT_CHECK((long)v == 2 * k, "chunksize %zu item %ld gave %ld", chunks[c], k, (long)v);
      k++;
    }
    LT_RC(rc, LOOM_ESTOP);
    LT_CHECK(k == 300, "%ld items", k);
    loom_map_destroy(m);
  }
  loom_future *fs[4];
  LT_RC(loom_executor_submit(pp, sleep_ms, (void *)300L, &fs[0]), 0);
  LT_RC(loom_executor_submit(tp, sleep_ms, (void *)1L, &fs[1]), 0);
  LT_RC(loom_executor_submit(pp, twice, (void *)5L, &fs[2]), 0);
  LT_RC(loom_executor_submit(tp, twice, (void *)6L, &fs[3]), 0);
  loom_future *done[4], *not_done[4];
  size_t nd, nnd;
  LT_RC(loom_wait(fs, 4, 30, LOOM_FIRST_COMPLETED, done, &nd, not_done, &nnd), 0);
  LT_CHECK(nd >= 1 && nd + nnd == 4, "done %zu not done %zu", nd, nnd);
  loom_as_completed *ac;
  LT_RC(loom_as_completed_create(fs, 4, 30, &ac), 0);
  loom_future *f, *last = NULL;
  int n = 0;
  while (loom_as_completed_next(ac, &f) == 0) {
    n++;
    last = f;
  }
  LT_CHECK(n == 4 && last == fs[0], "%d yielded, the slow process job last", n);
  loom_as_completed_destroy(ac);
  for (int i = 0; i < 4; i++) loom_future_release(fs[i]);
  loom_executor_destroy(tp);
  loom_executor_destroy(pp);
  PT_END(s);
}

/* Names registered from a constructor exist in the workers too. */
static int triple(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg * 3), NULL);
}
LOOM_PROCESS_REGISTER(triple)

static int call_by_name(loom_future *self, void *arg) {
  loom_fn fn = loom_process_lookup("triple");
  if (!fn) return loom_future_set_error(self, LOOM_ENOENT, "triple is not registered here");
  return fn(self, arg);
}

LOOM_TEST(process_pool, name_registry) {
  pt_snap s = pt_begin();
  LT_CHECK(loom_process_lookup("triple") == triple, "lookup in the parent");
  LT_RC(loom_process_register("triple", twice), LOOM_EEXIST);
  LT_RC(loom_process_register("", twice), LOOM_EINVAL);
  LT_CHECK(loom_process_lookup("no-such-name") == NULL, "unknown name");
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 1}), 0);
  loom_future *f;
  LT_RC(loom_executor_submit(ex, call_by_name, (void *)14L, &f), 0);
  void *v;
  LT_RC(loom_future_result(f, 30, &v), 0);
  LT_CHECK((long)v == 42, "by name in the worker: %ld", (long)v);
  loom_future_release(f);
  loom_executor_destroy(ex);
  PT_END(s);
}

/* A short job's result does not wait for the long job its worker starts
 * next: the worker's flusher sends it within about a millisecond. */
LOOM_TEST(process_pool, short_result_not_held_by_long_job) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 1}), 0);
  /* Teach the pool that jobs are short, so it sends them in batches. */
  loom_future *warm[200];
  for (long i = 0; i < 200; i++) LT_RC(loom_executor_submit(ex, twice, (void *)i, &warm[i]), 0);
  for (int i = 0; i < 200; i++) {
    LT_RC(loom_future_wait(warm[i], 30), 0);
    loom_future_release(warm[i]);
  }
  loom_future *quick, *slow;
  LT_RC(loom_executor_submit(ex, twice, (void *)1L, &quick), 0);
  LT_RC(loom_executor_submit(ex, sleep_ms, (void *)30000L, &slow), 0);
  LT_RC(loom_future_wait(quick, 20.0), 0); /* long before the 30 s job ends */
  LT_CHECK(!loom_future_done(slow), "the slow job finished early");
  loom_future_cancel(slow);
  LT_RC(loom_future_wait(slow, 30), 0);
  loom_future_release(quick);
  loom_future_release(slow);
  loom_executor_destroy(ex);
  PT_END(s);
}

/* Several pools created, used and destroyed at once from several threads
 * (spawns racing with spawns and deaths in other pools). */
static void *pool_life(void *arg) {
  int *bad = arg;
  for (int round = 0; round < 2; round++) {
    loom_executor *ex;
    if (loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2,
                                                                  .max_tasks_per_child = 25}) < 0) {
      (*bad)++;
      continue;
    }
    loom_future *fs[50];
    for (long i = 0; i < 50; i++)
      if (loom_executor_submit(ex, twice, (void *)i, &fs[i]) < 0) fs[i] = NULL;
    for (long i = 0; i < 50; i++) {
      void *v = NULL;
      if (!fs[i] || loom_future_result(fs[i], 60, &v) < 0 || (long)v != 2 * i) (*bad)++;
      loom_future_release(fs[i]);
    }
    loom_executor_destroy(ex);
  }
  return NULL;
}

LOOM_TEST_T(process_pool, pools_in_parallel, 240) {
  pt_snap s = pt_begin();
  pthread_t th[4];
  int bad[4] = {0};
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, pool_life, &bad[i]);
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  LT_CHECK(bad[0] + bad[1] + bad[2] + bad[3] == 0, "%d wrong results",
           bad[0] + bad[1] + bad[2] + bad[3]);
  PT_END(s);
}

/* Jobs submitted the moment the pool exists, again and again: the first
 * submissions race the manager thread's first round.  A job that arrived
 * after the manager counted the work, but before it went to sleep, used to
 * start no worker and send no wake-up: the pool then waited forever (seen
 * under TSan with load as failing_initializer and pools_in_parallel hangs). */
#ifdef LOOM_TSAN
enum { AT_ONCE_ROUNDS = 10 }; /* each TSan worker pauses 1 s as it exits */
#else
enum { AT_ONCE_ROUNDS = 30 };
#endif

LOOM_TEST_T(process_pool, submit_at_once_after_create, 240) {
  pt_snap s = pt_begin();
  for (long i = 0; i < AT_ONCE_ROUNDS; i++) {
    loom_executor *ex;
    LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 1}), 0);
    loom_future *f;
    LT_RC(loom_executor_submit(ex, twice, (void *)i, &f), 0);
    void *v = NULL;
    LT_RC(loom_future_result(f, 30, &v), 0);
    LT_CHECK((long)v == 2 * i, "round %ld: %ld", i, (long)v);
    loom_future_release(f);
    loom_executor_destroy(ex);
  }
  PT_END(s);
}
