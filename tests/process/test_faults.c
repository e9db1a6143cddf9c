/* test_faults.c - workers that die mid-task: SIGKILL from outside, a
 * segfault, an exit().  Only the task that was running fails (LOOM_EBROKEN,
 * with a message naming the signal or status); the worker is replaced and
 * every other task completes.  Retryable tasks re-run; a task that kills
 * every worker is stopped.  Each run prints one figure line and fails on any
 * lost, duplicated, zombie, leaked or hung count. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom_test.h"

#define SEGV_TEXT "SIGSEGV"
#include "pt_util.h"

/* arg = (kind << 32) | value: kind 0 ok (returns 2*value), 1 segfault,
 * 2 exit(7), 3 sleep then ok (killed from outside), 4 SIGKILL itself. */
static int victim(loom_future *self, void *arg) {
  long a = (long)arg, kind = a >> 32, v = a & 0xffffffffL;
  if (kind == 1) {
    volatile int *p = (volatile int *)(uintptr_t)16;
    *p = 1;
  }
  if (kind == 2) exit(7);
  if (kind == 3) usleep(300000);
  if (kind == 4) raise(SIGKILL);
  return loom_future_set_result(self, (void *)(2 * v), NULL);
}

typedef struct tally {
  int ok, failed, lost, dup, hung;
} tally;

static void collect(loom_future **fs, long *args, int n, tally *t, int expect_fail_kind) {
  for (int i = 0; i < n; i++) {
    if (loom_future_wait(fs[i], 60) != 0) {
      t->hung++;
      continue;
    }
    void *v;
    int rc = loom_future_result(fs[i], 0, &v);
    long kind = args[i] >> 32;
    if (rc == 0) {
      if ((long)v == 2 * (args[i] & 0xffffffffL)) t->ok++;
      else t->dup++; /* a wrong value: someone else's result */
    } else {
      t->failed++;
      if (kind == 0) t->lost++; /* an innocent task failed */
    }
  }
}

static void print_line(const char *name, int tasks, int faults, tally *t, int zombies, int fds) {
  printf("%s: tasks=%d faults=%d ok=%d failed=%d lost=%d dup=%d zombies=%d fds%+d hung=%d\n",
         name, tasks, faults, t->ok, t->failed, t->lost, t->dup, zombies, fds, t->hung);
  fflush(stdout);
}

static void run_faults(const char *name, int n, int every, long fault_kind) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
  loom_future **fs = calloc((size_t)n, sizeof *fs);
  long *args = calloc((size_t)n, sizeof *args);
  int faults = 0;
  for (int i = 0; i < n; i++) {
    bool bad = i % every == every / 2;
    args[i] = ((bad ? fault_kind : 0L) << 32) | i;
    faults += bad;
    LT_RC(loom_executor_submit(ex, victim, (void *)args[i], &fs[i]), 0);
  }
  tally t = {0};
  collect(fs, args, n, &t, (int)fault_kind);
  /* Each faulty task failed with a message naming what happened. */
  for (int i = 0; i < n; i++) {
    if ((args[i] >> 32) == 0 || !loom_future_done(fs[i])) continue;
    const char *msg = NULL;
    int rc = loom_future_error(fs[i], 0, &msg);
    LT_CHECK(rc == LOOM_EBROKEN, "faulty task %d: %s", i, loom_err_name(rc));
    const char *want = fault_kind == 1 ? SEGV_TEXT : fault_kind == 2 ? "status 7" : "SIGKILL";
    LT_CHECK(msg && strstr(msg, want), "task %d message '%s' lacks '%s'", i,
             msg ? msg : "(null)", want);
  }
  for (int i = 0; i < n; i++) loom_future_release(fs[i]);
  loom_process_pool_stats st;
  loom_process_pool_stats_get(ex, &st);
  loom_executor_destroy(ex);
  int zombies = pt_children() - s.kids, fds = pt_fd_count() - s.fds;
  print_line(name, n, faults, &t, zombies, fds);
  LT_CHECK(t.failed == faults && t.ok == n - faults, "failed %d (faults %d), ok %d", t.failed,
           faults, t.ok);
  LT_CHECK(t.lost == 0 && t.dup == 0 && t.hung == 0 && zombies == 0 && fds == 0,
           "lost %d dup %d hung %d zombies %d fds %+d", t.lost, t.dup, t.hung, zombies, fds);
  LT_CHECK((int)st.deaths == faults, "%lu deaths for %d faults", st.deaths, faults);
  free(fs);
  free(args);
  PT_END(s);
}

LOOM_TEST_T(process_faults, segfault, 240) { run_faults("worker-segv", 2000, 200, 1); }
LOOM_TEST_T(process_faults, exit_mid_task, 240) { run_faults("worker-exit", 2000, 200, 2); }
LOOM_TEST_T(process_faults, sigkill_self, 240) { run_faults("worker-kill", 10000, 270, 4); }

/* SIGKILL from outside, at a random moment, to the worker running a slow task. */
LOOM_TEST_T(process_faults, sigkill_from_outside, 240) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
  enum { N = 40 };
  loom_future *fs[N];
  long args[N];
  for (int i = 0; i < N; i++) {
    args[i] = (3L << 32) | i;
    LT_RC(loom_executor_submit(ex, victim, (void *)args[i], &fs[i]), 0);
  }
  int kills = 0;
  for (int round = 0; round < 4; round++) {
    usleep(150000);
    pid_t pids[2];
    int n = loom_process_pool_pids(ex, pids, 2);
    if (n > 0 && kill(pids[0], SIGKILL) == 0) kills++;
  }
  tally t = {0};
  collect(fs, args, N, &t, 3);
  int broken_msgs = 0;
  for (int i = 0; i < N; i++) {
    const char *msg = NULL;
    if (loom_future_error(fs[i], 0, &msg) == LOOM_EBROKEN && msg && strstr(msg, "SIGKILL"))
      broken_msgs++;
    loom_future_release(fs[i]);
  }
  loom_executor_destroy(ex);
  int zombies = pt_children() - s.kids, fds = pt_fd_count() - s.fds;
  /* Kills land on a worker mid-task (fails that task) or between tasks
   * (fails nothing): never more failures than kills. */
  t.lost = 0;
  print_line("worker-kill-outside", N, kills, &t, zombies, fds);
  LT_CHECK(t.failed <= kills && t.failed == broken_msgs, "failed %d kills %d broken %d",
           t.failed, kills, broken_msgs);
  LT_CHECK(t.ok + t.failed == N && t.hung == 0 && t.dup == 0, "ok %d failed %d", t.ok, t.failed);
  LT_CHECK(zombies == 0 && fds == 0, "zombies %d fds %+d", zombies, fds);
  PT_END(s);
}

static int crash_always(loom_future *self, void *arg) {
  raise(SIGSEGV);
  return 0;
}

static int crash_twice(loom_future *self, void *arg) {
  /* Crashes on its first two attempts, counted in a file (arg is its path id). */
  char path[64];
  snprintf(path, sizeof path, "/tmp/loom-retry-%ld", (long)arg);
  FILE *f = fopen(path, "a+");
  fputc('x', f);
  long n = ftell(f);
  fclose(f);
  if (n <= 2) raise(SIGKILL);
  return loom_future_set_result(self, (void *)n, NULL);
}

LOOM_TEST_T(process_faults, retry_and_poison_task, 240) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2,
                                                                   .max_task_deaths = 3}), 0);
  long id = (long)getpid();
  char path[64];
  snprintf(path, sizeof path, "/tmp/loom-retry-%ld", id);
  unlink(path);
  loom_future *retried, *poison, *plain;
  LT_RC(loom_process_pool_submit_opts(ex, crash_twice, (void *)id, NULL, 0,
                                      &(loom_process_task_options){.retries = 5}, &retried), 0);
  LT_RC(loom_process_pool_submit_opts(ex, crash_always, NULL, NULL, 0,
                                      &(loom_process_task_options){.retries = 10}, &poison), 0);
  LT_RC(loom_executor_submit(ex, crash_always, NULL, &plain), 0);
  void *v;
  LT_RC(loom_future_result(retried, 60, &v), 0);
  LT_CHECK((long)v == 3, "succeeded on attempt %ld, expected 3", (long)v);
  const char *msg;
  LT_RC(loom_future_error(poison, 60, &msg), LOOM_EBROKEN);
  LT_CHECK(msg && strstr(msg, "attempt 3") && strstr(msg, "stopped"), "poison: '%s'", msg);
  LT_RC(loom_future_error(plain, 60, &msg), LOOM_EBROKEN);
  LT_CHECK(msg && strstr(msg, SEGV_TEXT) && !strstr(msg, "attempt"), "plain: '%s'", msg);
  loom_process_pool_stats st;
  loom_process_pool_stats_get(ex, &st);
  LT_CHECK(st.retried == 4, "retries: %lu (2 + 2)", st.retried);
  loom_future *after;
  LT_RC(loom_executor_submit(ex, victim, (void *)21L, &after), 0);
  LT_RC(loom_future_result(after, 60, &v), 0);
  LT_CHECK((long)v == 42, "the pool goes on: %ld", (long)v);
  loom_future_release(after);
  loom_future_release(retried);
  loom_future_release(poison);
  loom_future_release(plain);
  unlink(path);
  loom_executor_destroy(ex);
  PT_END(s);
}

LOOM_TEST_T(process_faults, terminate_and_kill_workers, 120) {
  pt_snap s = pt_begin();
  for (int k = 0; k < 2; k++) {
    loom_executor *ex;
    LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
    loom_future *fs[10];
    for (int i = 0; i < 10; i++)
      LT_RC(loom_executor_submit(ex, victim, (void *)((3L << 32) | i), &fs[i]), 0);
    usleep(100000);
    LT_RC(k ? loom_process_pool_kill_workers(ex) : loom_process_pool_terminate_workers(ex), 0);
    LT_CHECK(loom_process_pool_pids(ex, NULL, 0) == 0, "workers left");
    int done = 0;
    for (int i = 0; i < 10; i++) {
      done += loom_future_done(fs[i]);
      loom_future_release(fs[i]);
    }
    LT_CHECK(done == 10, "%d of 10 futures settled after terminate", done);
    loom_future *f;
    LT_RC(loom_executor_submit(ex, victim, NULL, &f), LOOM_ESHUTDOWN);
    loom_executor_destroy(ex);
  }
  PT_END(s);
}

static int nap_us(loom_future *self, void *arg) {
  long us = (long)arg;
  usleep((useconds_t)us);
  return loom_future_set_result(self, (void *)(us + 1), NULL);
}

/* Cancels racing with completions: every job ends with its own result or
 * CANCELLED - a cancel never kills a job it was not aimed at. */
LOOM_TEST_T(process_faults, cancel_storm, 240) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
  enum { N = 300 };
  loom_future *fs[N];
  unsigned seed = 5;
  for (long i = 0; i < N; i++)
    LT_RC(loom_executor_submit(ex, nap_us, (void *)(long)(rand_r(&seed) % 3000), &fs[i]), 0);
  int asked = 0;
  for (int i = 0; i < N; i++) {
    if (rand_r(&seed) % 2) continue;
    usleep((useconds_t)(rand_r(&seed) % 2000));
    loom_future_cancel(fs[i]);
    asked++;
  }
  int ok = 0, cancelled = 0, broken = 0, wrong = 0, hung = 0;
  for (int i = 0; i < N; i++) {
    if (loom_future_wait(fs[i], 60) != 0) {
      hung++;
      continue;
    }
    void *v;
    int rc = loom_future_result(fs[i], 0, &v);
    if (rc == 0) ok++;
    else if (rc == LOOM_ECANCELLED) cancelled++;
    else broken++;
    if (rc == LOOM_ECANCELLED && !loom_future_cancel_requested(fs[i])) wrong++;
    loom_future_release(fs[i]);
  }
  loom_executor_destroy(ex);
  int zombies = pt_children() - s.kids, fds = pt_fd_count() - s.fds;
  printf("cancel-storm: tasks=%d cancels=%d ok=%d cancelled=%d broken=%d wrong=%d zombies=%d "
         "fds%+d hung=%d\n", N, asked, ok, cancelled, broken, wrong, zombies, fds, hung);
  LT_CHECK(broken == 0 && wrong == 0 && hung == 0 && ok + cancelled == N,
           "broken %d wrong %d hung %d", broken, wrong, hung);
  LT_CHECK(cancelled <= asked, "%d cancelled, %d asked", cancelled, asked);
  PT_END(s);
}
