/* loom_test.c - test registry and main, watchdog, thread dump, leak check
 * and fault sweep. */
#include "loom_test.h"

#include "core/internal.h"

#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pthread_t wd_thread;
static bool wd_running;
static pthread_mutex_t wd_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wd_cv;
static bool wd_stop;
static double wd_seconds;

static void read_line(const char *path, char *buf, size_t n) {
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (fgets(buf, (int)n, f)) buf[strcspn(buf, "\n")] = 0;
  fclose(f);
}

static void backtrace_handler(int sig) {
  (void)sig;
  void *frames[32];
  int n = backtrace(frames, 32);
  char hdr[64];
  int len = snprintf(hdr, sizeof hdr, "  -- stack of tid %ld --\n", (long)syscall(SYS_gettid));
  if (write(2, hdr, (size_t)len) < 0) return;
  backtrace_symbols_fd(frames, n, 2);
}

void loom_test_dump_threads(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return;
  signal(SIGURG, backtrace_handler);
  struct dirent *e;
  fprintf(stderr, "==== loom test watchdog: thread dump ====\n");
  long self = (long)syscall(SYS_gettid);
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[512], comm[64], wchan[64], stat[256];
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    read_line(path, comm, sizeof comm);
    snprintf(path, sizeof path, "/proc/self/task/%s/wchan", e->d_name);
    read_line(path, wchan, sizeof wchan);
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
    read_line(path, stat, sizeof stat);
    char *st = strrchr(stat, ')');
    fprintf(stderr, "thread %s '%s' state %c wchan %s\n", e->d_name, comm,
            st && st[1] ? st[2] : '?', wchan[0] ? wchan : "-");
    long tid = atol(e->d_name);
    if (tid != self) {
      syscall(SYS_tgkill, getpid(), tid, SIGURG);
      struct timespec ts = {0, 50 * 1000 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  closedir(d);
  for (int k = 0; k < LOOM_LIVE__COUNT; k++)
    fprintf(stderr, "live %s: %ld\n", loom_live_name(k), loom_live_count(k));
  fprintf(stderr, "==== end of thread dump ====\n");
}

static void *watchdog(void *arg) {
  (void)arg;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)wd_seconds;
  pthread_mutex_lock(&wd_mu);
  while (!wd_stop) {
    if (pthread_cond_timedwait(&wd_cv, &wd_mu, &ts) != 0 && !wd_stop) {
      pthread_mutex_unlock(&wd_mu);
      fprintf(stderr, "loom test watchdog: test overran %.0f s\n", wd_seconds);
      loom_test_dump_threads();
      abort();
    }
  }
  pthread_mutex_unlock(&wd_mu);
  return NULL;
}

void loom_test_watchdog_start(double seconds) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&wd_cv, &ca);
  pthread_condattr_destroy(&ca);
  wd_stop = false;
  wd_seconds = seconds;
  if (pthread_create(&wd_thread, NULL, watchdog, NULL) == 0) wd_running = true;
}

void loom_test_watchdog_stop(void) {
  if (!wd_running) return;
  pthread_mutex_lock(&wd_mu);
  wd_stop = true;
  pthread_cond_signal(&wd_cv);
  pthread_mutex_unlock(&wd_mu);
  pthread_join(wd_thread, NULL);
  wd_running = false;
}

void loom_test_live_snapshot(long out[LOOM_LIVE__COUNT]) {
  for (int k = 0; k < LOOM_LIVE__COUNT; k++) out[k] = loom_live_count(k);
}

bool loom_test_live_equal(const long snap[LOOM_LIVE__COUNT], double wait_s) {
  double end = loom_now() + wait_s;
  for (;;) {
    bool same = true;
    for (int k = 0; k < LOOM_LIVE__COUNT; k++)
      if (loom_live_count(k) != snap[k]) same = false;
    if (same) return true;
    if (loom_now() >= end) return false;
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

void loom_test_fail_in_task(void) {
  if (!loom_task_current()) return;
  fprintf(stderr, "(the check failed inside task '%s': the test process ends here)\n",
          loom_task_name(loom_task_current()) ? loom_task_name(loom_task_current()) : "?");
  fflush(NULL);
  _exit(1);
}

/* ---- registry and main -------------------------------------------------- */

typedef struct reg {
  const char *name;
  loom_test_fn fn;
  double watchdog_s;
} reg;
static reg tests[512];
static size_t ntests;

void loom_test_register(const char *name, loom_test_fn fn, double watchdog_s) {
  if (ntests < sizeof tests / sizeof tests[0]) tests[ntests++] = (reg){name, fn, watchdog_s};
}

static void run_one(void **state) {
  reg *r = *state;
  r->fn();
}

static int setup(void **state) {
  reg *r = *state;
  const char *env = getenv("LOOM_TEST_WATCHDOG");
  double s = env ? atof(env) : 0;
  loom_test_watchdog_start(s > 0 ? s : r->watchdog_s);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  loom_test_watchdog_stop();
  loom_fault_disarm();
  long zero[LOOM_LIVE__COUNT] = {0};
  if (loom_test_live_equal(zero, 5.0)) return 0;
  for (int k = 0; k < LOOM_LIVE__COUNT; k++)
    if (loom_live_count(k))
      print_error("leaked %ld %s\n", loom_live_count(k), loom_live_name(k));
  /* Later tests would see the leak too: reset so one leak fails one test. */
  for (int k = 0; k < LOOM_LIVE__COUNT; k++) atomic_store(&loom__live[k], 0);
  return -1;
}

/* Run one test in a child process, so that no state a test leaves behind
 * (a thread, a handler, a descriptor, a worker process) can affect the next
 * one - the isolation Criterion gave, which cmocka does not.  The parent
 * stays single-threaded, so fork is safe here, sanitizers included. */
static int run_isolated(const char *prog, reg *r) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    struct CMUnitTest one = {r->name, run_one, setup, teardown, r};
    /* exit, not _exit: LeakSanitizer checks at exit. */
    exit(_cmocka_run_group_tests(prog, &one, 1, NULL, NULL) ? 1 : 0);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFSIGNALED(st)) fprintf(stderr, "%s: killed by signal %d\n", r->name, WTERMSIG(st));
  return 1;
}

/* Usage: test-program [FILTER]   (LOOM_TEST_NOFORK=1 runs every test in
 * this process, e.g. under a debugger). */
int main(int argc, char **argv) {
  const char *filter = argc > 1 ? argv[1] : NULL;
  const char *prog = strrchr(argv[0], '/');
  prog = prog ? prog + 1 : argv[0];
  if (getenv("LOOM_TEST_NOFORK")) {
    struct CMUnitTest *list = calloc(ntests ? ntests : 1, sizeof *list);
    size_t n = 0;
    for (size_t i = 0; i < ntests; i++) {
      if (filter && !strstr(tests[i].name, filter)) continue;
      list[n++] = (struct CMUnitTest){tests[i].name, run_one, setup, teardown, &tests[i]};
    }
    int failed = _cmocka_run_group_tests(prog, list, n, NULL, NULL);
    free(list);
    return failed ? 1 : 0;
  }
  size_t run = 0, failed = 0;
  for (size_t i = 0; i < ntests; i++) {
    if (filter && !strstr(tests[i].name, filter)) continue;
    run++;
    if (run_isolated(prog, &tests[i])) {
      failed++;
      fprintf(stderr, "[  FAILED  ] %s\n", tests[i].name);
    }
  }
  printf("[==========] %s: %zu test(s) run, each in its own process.\n", prog, run);
  if (failed)
    printf("[  FAILED  ] %zu test(s).\n", failed);
  else
    printf("[  PASSED  ] %zu test(s).\n", run);
  return failed ? 1 : 0;
}

int loom_test_fault_sweep(loom_test_fault_fn fn, void *ctx, unsigned mask, int max_n) {
  long snap[LOOM_LIVE__COUNT];
  loom_test_live_snapshot(snap);
  int faulted = 0;
  for (int n = 1; n <= max_n; n++) {
    loom_fault_arm((uint64_t)n, 0, mask);
    int rc = fn(ctx);
    uint64_t fired = loom_fault_injected();
    loom_fault_disarm();
    LT_CHECK(rc <= 0, "fault %d: returned %d, expected 0 or a negative code", n, rc);
    LT_CHECK(loom_test_live_equal(snap, 5.0), "fault %d (rc %s): live objects leaked", n,
             loom_err_name(rc));
    if (!fired) return faulted;
    faulted++;
  }
  return faulted;
}

int loom_test_run_child(void (*fn)(void *arg), void *arg, char *err, size_t cap) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    fn(arg);
    _exit(0);
  }
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while (n + 1 < cap && (r = read(fds[0], err + n, cap - 1 - n)) > 0) n += (size_t)r;
  err[n] = 0;
  close(fds[0]);
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}
