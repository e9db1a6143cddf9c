/* ex14_spinner - an animated `|/-\` spinner while a slow function runs, twice:
 * with a thread and with a coroutine (the seeds' spinner_thread and
 * spinner_asyncio).
 *
 *   ex14_spinner [--delay SECONDS] [--only thread|coroutine]
 *
 * Thread version: a loom thread draws a frame every 0.1 s until the main
 * thread, back from the slow (blocking) function, sets an event.  The
 * spinner waits on that event with a 0.1 s timeout instead of sleeping, so
 * it stops at once rather than at its next tick, and needs no shared flag.
 *
 * Coroutine version: the spinner is a task that draws a frame and
 * loom_sleep()s 0.1 s; the supervisor task awaits the slow coroutine, then
 * cancels the spinner: the cancellation arrives as LOOM_ECANCELLED from the
 * spinner's sleep, and the spinner erases its line and returns.  Both run on
 * one thread: the slow function must *await* (loom_sleep), not block.
 *
 * Each frame is written as "<char> thinking!" followed by as many backspaces,
 * so a terminal shows it in place; the answer line follows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <loom.h>

static const char frames[] = "|/-\\";
static const char msg[] = "thinking!";
static double delay = 3.0;

/* Draw frame `i` in place: the text, then backspaces over it. */
static void draw(int i) {
  char status[32];
  int len = snprintf(status, sizeof status, "%c %s", frames[i % 4], msg);
  fputs(status, stdout);
  for (int k = 0; k < len; k++) putchar('\b');
  fflush(stdout);
}

/* Blank the spinner's line, leaving the cursor where it started. */
static void erase(void) {
  int len = (int)strlen(msg) + 2;
  printf("%*s", len, "");
  for (int k = 0; k < len; k++) putchar('\b');
  fflush(stdout);
}

/* ---- thread version ------------------------------------------------------ */

static int spin_thread(loom_future *self, void *arg) {
  (void)self;
  loom_event *done = arg;
  for (int i = 0;; i++) {
    draw(i);
    int rc = loom_event_wait(done, 0.1); /* 0: set, LOOM_ETIMEDOUT: next frame */
    if (rc != LOOM_ETIMEDOUT) break;
  }
  erase();
  return 0;
}

/* Pretend to wait a long time for I/O: this blocks the calling thread. */
static long slow_function_blocking(void) {
  struct timespec ts = {(time_t)delay, (long)((delay - (time_t)delay) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
  return 42;
}

static int run_thread_version(void) {
  loom_event *done;
  loom_thread *spinner;
  int rc = loom_event_create(&done);
  if (rc) return rc;
  /* Hold stdout while starting the spinner and describing it, so the first
   * frame cannot land in the middle of that line (stdio calls lock it). */
  flockfile(stdout);
  rc = loom_thread_start(&spinner, "spinner", spin_thread, done);
  if (rc == 0) {
    printf("spinner object: <Thread name=%s alive=%s>\n", loom_thread_name(spinner),
           loom_thread_is_alive(spinner) ? "yes" : "no");
    fflush(stdout);
  }
  funlockfile(stdout);
  if (rc) {
    loom_event_destroy(done);
    return rc;
  }
  long result = slow_function_blocking();
  loom_event_set(done);
  rc = loom_thread_join(spinner, 10.0);
  loom_thread_destroy(spinner);
  loom_event_destroy(done);
  if (rc == 0) printf("Answer: %ld\n", result);
  return rc;
}

/* ---- coroutine version ---------------------------------------------------- */

static int spin_task(loom_future *self, void *arg) {
  (void)self;
  (void)arg;
  for (int i = 0;; i++) {
    draw(i);
    int rc = loom_sleep(0.1);
    if (rc == LOOM_ECANCELLED) break; /* the answer arrived */
  }
  erase();
  return LOOM_ECANCELLED; /* end CANCELLED, as asyncio's spin does */
}

/* Pretend to wait a long time for I/O, cooperatively: only this task waits. */
static int slow_function(long *result) {
  int rc = loom_sleep(delay);
  *result = 42;
  return rc;
}

static int supervisor(loom_future *self, void *arg) {
  (void)arg;
  loom_future *spinner;
  int rc = loom_task_spawn(loom_task_loop(self), spin_task, NULL, "spinner", &spinner);
  if (rc) return rc;
  printf("spinner object: <Task name=%s state=%s>\n", loom_task_name(spinner),
         loom_future_state_name(loom_future_state_get(spinner)));
  fflush(stdout);
  long result = 0;
  rc = slow_function(&result);
  loom_task_cancel(spinner, "answer arrived");
  loom_future_wait(spinner, LOOM_FOREVER); /* let it erase its line */
  bool cancelled = loom_future_cancelled(spinner);
  loom_future_release(spinner);
  if (rc) return rc;
  if (!cancelled) return LOOM_EFAILED;
  return loom_future_set_result(self, (void *)result, NULL);
}

static int run_coroutine_version(void) {
  void *v = NULL;
  int rc = loom_run(supervisor, NULL, &v, NULL); /* asyncio.run(supervisor()) */
  if (rc == 0) printf("Answer: %ld\n", (long)v);
  return rc;
}

int main(int argc, char **argv) {
  const char *only = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--delay")) delay = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  if (!(delay >= 0 && delay <= 3600) ||
      (only && strcmp(only, "thread") && strcmp(only, "coroutine")) || argc % 2 == 0) {
    fprintf(stderr, "usage: ex14_spinner [--delay SECONDS] [--only thread|coroutine]\n");
    return 2;
  }
  int rc = 0;
  if (!only || !strcmp(only, "thread")) {
    printf("thread version:\n");
    rc = run_thread_version();
  }
  if (rc == 0 && (!only || !strcmp(only, "coroutine"))) {
    printf("coroutine version:\n");
    rc = run_coroutine_version();
  }
  if (rc) fprintf(stderr, "failed: %s\n", loom_strerror(rc));
  return rc ? 1 : 0;
}
