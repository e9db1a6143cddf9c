/* test_subprocess.c - loom_subprocess: pipes, exit codes, signals, waits with
 * timeouts, DEVNULL and stderr-to-stdout, missing programs, many children at
 * once, no leaked fds or zombies, and a fault sweep over exec. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loom_test.h"
#include "loom/run.h"
#include "loom/subprocess.h"

static const loom_subprocess_opts PIPES = {LOOM_SUBPROCESS_PIPE, LOOM_SUBPROCESS_PIPE,
                                           LOOM_SUBPROCESS_PIPE};

static int sh(const char *cmd, const loom_subprocess_opts *o, loom_subprocess **p);
static const loom_subprocess_opts PIPES;

static int warm_up(loom_future *self, void *arg) {
  loom_subprocess *p;
  LT_RC(sh("cat", &PIPES, &p), 0);
  LT_RC(loom_subprocess_communicate(p, "x", 1, 10, NULL, NULL, NULL, NULL), 0);
  loom_subprocess_destroy(p);
  return 0;
}

/* Descriptors open in this process, after one warm-up run that spawns a
 * child and runs tasks, so that process-wide state created lazily (the coro
 * stack allocator keeps a pidfd of this process) is not counted. */
static int count_fds(void) {
  static bool warm;
  if (!warm) LT_RC(loom_run(warm_up, NULL, NULL, NULL), 0);
  warm = true;
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    n += e->d_name[0] != '.';
  }
  closedir(d);
  return n - 1; /* the directory's own fd */
}

/* True if this process has an unreaped child (zombie or running). */
static bool has_children(void) {
  siginfo_t si = {0};
  return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static int sh(const char *cmd, const loom_subprocess_opts *o, loom_subprocess **p) {
  char *argv[] = {"sh", "-c", (char *)cmd, NULL};
  return loom_subprocess_exec(loom_loop_current(), argv, o, p);
}

static int echo_cat_1mib(loom_future *self, void *arg) {
  size_t n = 1 << 20;
  char *in = malloc(n);
  for (size_t i = 0; i < n; i++) in[i] = (char)('a' + i % 26);
  loom_subprocess *p;
  char *cat[] = {"cat", NULL};
  LT_RC(loom_subprocess_exec(loom_loop_current(), cat, &PIPES, &p), 0);
  char *out = NULL, *err = NULL;
  size_t olen = 0, elen = 9;
  LT_RC(loom_subprocess_communicate(p, in, n, 30, &out, &olen, &err, &elen), 0);
  LT_CHECK(olen == n, "got %zu bytes", olen);
  assert_memory_equal(out, in, n);
  assert_int_equal(elen, 0);
  int st = -1;
  assert_int_equal(loom_subprocess_returncode(p, &st), 1);
  assert_int_equal(st, 0);
  free(out);
  free(err);
  free(in);
  loom_subprocess_destroy(p);
  return 0;
}

LOOM_TEST(subprocess, communicate_1mib_through_cat) {
  int fds = count_fds();
  LT_RC(loom_run(echo_cat_1mib, NULL, NULL, NULL), 0);
  assert_int_equal(count_fds(), fds);
  assert_false(has_children());
}

static int exit_codes(loom_future *self, void *arg) {
  loom_subprocess *p;
  int st = 0;
  LT_RC(sh("exit 3", NULL, &p), 0);
  LT_RC(loom_subprocess_wait(p, 10, &st), 0);
  assert_int_equal(st, 3);
  LT_RC(loom_subprocess_send_signal(p, SIGTERM), LOOM_ESRCH);
  loom_subprocess_destroy(p);

  LT_RC(sh("sleep 30", NULL, &p), 0);
  LT_RC(loom_subprocess_kill(p), 0);
  LT_RC(loom_subprocess_wait(p, 10, &st), 0);
  assert_int_equal(st, -SIGKILL);
  loom_subprocess_destroy(p);

  LT_RC(sh("exec sleep 30", NULL, &p), 0);
  LT_RC(loom_subprocess_terminate(p), 0);
  LT_RC(loom_subprocess_wait(p, 10, &st), 0);
  assert_int_equal(st, -SIGTERM);
  loom_subprocess_destroy(p);
  return 0;
}

LOOM_TEST(subprocess, exit_status_and_signals) {
  LT_RC(loom_run(exit_codes, NULL, NULL, NULL), 0);
  assert_false(has_children());
}

static int wait_timeout(loom_future *self, void *arg) {
  loom_subprocess *p;
  int st = -1;
  LT_RC(sh("sleep 0.3; exit 5", NULL, &p), 0);
  double t0 = loom_loop_time(loom_loop_current());
  LT_RC(loom_subprocess_wait(p, 0.05, &st), LOOM_ETIMEDOUT);
  LT_CHECK(loom_loop_time(loom_loop_current()) - t0 >= 0.049, "timed out early");
  assert_int_equal(loom_subprocess_returncode(p, &st), 0);
  LT_RC(loom_subprocess_wait(p, 10, &st), 0);
  assert_int_equal(st, 5);
  loom_subprocess_destroy(p);

  /* destroy of a running child kills and reaps it */
  LT_RC(sh("sleep 30", NULL, &p), 0);
  loom_subprocess_destroy(p);
  return 0;
}

LOOM_TEST(subprocess, wait_times_out_then_succeeds) {
  LT_RC(loom_run(wait_timeout, NULL, NULL, NULL), 0);
  assert_false(has_children());
}

static int redirections(loom_future *self, void *arg) {
  loom_subprocess *p;
  loom_subprocess_opts o = {LOOM_SUBPROCESS_DEVNULL, LOOM_SUBPROCESS_PIPE,
                            LOOM_SUBPROCESS_STDOUT};
  LT_RC(sh("echo out; echo err >&2; cat; echo done", &o, &p), 0);
  assert_null(loom_subprocess_stdin(p));
  assert_null(loom_subprocess_stderr(p));
  char *out = NULL, *err = (char *)1;
  LT_RC(loom_subprocess_communicate(p, NULL, 0, 10, &out, NULL, &err, NULL), 0);
  assert_string_equal(out, "out\nerr\ndone\n");
  assert_null(err);
  free(out);
  loom_subprocess_destroy(p);

  o = (loom_subprocess_opts){LOOM_SUBPROCESS_PIPE, LOOM_SUBPROCESS_DEVNULL,
                             LOOM_SUBPROCESS_PIPE};
  LT_RC(sh("cat; echo e >&2", &o, &p), 0);
  LT_RC(loom_subprocess_communicate(p, "dropped", 7, 10, &out, NULL, &err, NULL), 0);
  assert_null(out);
  assert_string_equal(err, "e\n");
  free(err);
  loom_subprocess_destroy(p);
  return 0;
}

LOOM_TEST(subprocess, devnull_and_stderr_to_stdout) {
  LT_RC(loom_run(redirections, NULL, NULL, NULL), 0);
}

static int missing(loom_future *self, void *arg) {
  loom_subprocess *p = NULL;
  char *argv[] = {"/nonexistent/loom-no-such-program", NULL};
  LT_RC(loom_subprocess_exec(loom_loop_current(), argv, &PIPES, &p), -ENOENT);
  assert_null(p);
  char *empty[] = {NULL};
  LT_RC(loom_subprocess_exec(loom_loop_current(), empty, NULL, &p), LOOM_EINVAL);
  loom_subprocess_opts bad = {LOOM_SUBPROCESS_STDOUT, 0, 0};
  LT_RC(sh("true", &bad, &p), LOOM_EINVAL);
  return 0;
}

LOOM_TEST(subprocess, missing_program_is_a_clear_error) {
  int fds = count_fds();
  LT_RC(loom_run(missing, NULL, NULL, NULL), 0);
  assert_int_equal(count_fds(), fds);
  assert_false(has_children());
}

static int one_child(loom_future *self, void *arg) {
  int i = (int)(intptr_t)arg;
  char cmd[64];
  snprintf(cmd, sizeof cmd, "read x; echo $((x * 2)); exit %d", i % 7);
  loom_subprocess *p;
  LT_RC(sh(cmd, &PIPES, &p), 0);
  char in[32], *out = NULL;
  int n = snprintf(in, sizeof in, "%d\n", i);
  LT_RC(loom_subprocess_communicate(p, in, (size_t)n, 30, &out, NULL, NULL, NULL), 0);
  LT_CHECK(atoi(out) == 2 * i, "child %d said %s", i, out);
  int st = -1;
  LT_RC(loom_subprocess_wait(p, 1, &st), 0);
  assert_int_equal(st, i % 7);
  free(out);
  loom_subprocess_destroy(p);
  return 0;
}

static int fifty(loom_future *self, void *arg) {
  loom_future *t[50];
  for (int i = 0; i < 50; i++)
    LT_RC(loom_task_spawn(loom_loop_current(), one_child, (void *)(intptr_t)i, "c", &t[i]), 0);
  for (int i = 0; i < 50; i++) {
    LT_RC(loom_future_result(t[i], 60, NULL), 0);
    loom_future_release(t[i]);
  }
  return 0;
}

LOOM_TEST(subprocess, fifty_concurrent_children) {
  int fds = count_fds();
  LT_RC(loom_run(fifty, NULL, NULL, NULL), 0);
  assert_int_equal(count_fds(), fds);
  assert_false(has_children());
}

static int exec_under_faults_task(loom_future *self, void *arg) {
  loom_subprocess *p;
  int rc = sh("read x; echo $x", &PIPES, &p);
  if (rc < 0) return rc;
  char *out = NULL;
  rc = loom_subprocess_communicate(p, "hi\n", 3, 10, &out, NULL, NULL, NULL);
  /* A write failure injected as EPIPE is ignored (as asyncio ignores
   * BrokenPipeError): the child then reads an empty line. */
  if (rc == 0) LT_CHECK(!strcmp(out, "hi\n") || !strcmp(out, "\n"), "got %s", out);
  free(out);
  loom_subprocess_destroy(p);
  return rc;
}

static int exec_under_faults(void *ctx) {
  (void)ctx;
  int rc = loom_run(exec_under_faults_task, NULL, NULL, NULL);
  LT_CHECK(!has_children(), "zombie left after rc %d", rc);
  return rc;
}

LOOM_TEST(subprocess, fault_sweep_over_exec) {
  int fds = count_fds();
  assert_true(loom_test_fault_sweep(exec_under_faults, NULL, LOOM_FAULT_ALL, 80) >= 3);
  assert_int_equal(count_fds(), fds);
}
