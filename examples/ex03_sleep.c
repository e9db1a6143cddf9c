/* ex03_sleep.c - sleeping one after the other versus at the same time.
 *
 * Two jobs sleep 0.8 s and 0.9 s.  Run sequentially they take the sum
 * (about 1.7 s); run in two threads they overlap and take the longer one
 * (about 0.9 s).  Each section is a function with the same shape and the
 * same report line, so a style is one entry of `sections`.  The third
 * style is two coroutine tasks awaiting loom_sleep on one event loop: a
 * single thread, yet the sleeps overlap too (~0.9 s), because a sleeping
 * task suspends only itself and the loop runs the other one meanwhile.
 *
 * Every sleeper prints when it starts and ends, so the output also shows
 * *how* the time was spent: sequentially, each sleeper ends before the next
 * starts; in threads, both start before either ends.
 */
#include <loom.h>
#include <stdio.h>
#include <time.h>

static const double durations[2] = {0.8, 0.9};
static const char *const who[2] = {"A", "B"};

static double t_start; /* start of the current section, for timestamps */

static void say(const char *what, int i) {
  printf("  [%5.2f s] sleeper %s %s (%.1f s)\n", loom_now() - t_start, who[i], what,
         durations[i]);
  fflush(stdout);
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static void sleeper(int i) {
  say("starts", i);
  sleep_s(durations[i]);
  say("ends", i);
}

/* ---- the sections: each runs both sleepers, returns 0 or a loom code ---- */

static int section_sequential(void) {
  sleeper(0);
  sleeper(1);
  return 0;
}

static int thread_sleeper(loom_future *self, void *arg) {
  (void)self;
  sleeper((int)(long)arg);
  return 0;
}

static int section_threads(void) {
  loom_thread *t[2] = {NULL, NULL};
  int rc = 0;
  for (int i = 0; i < 2 && rc == 0; i++)
    rc = loom_thread_start(&t[i], who[i], thread_sleeper, (void *)(long)i);
  for (int i = 0; i < 2; i++) {
    if (!t[i]) continue;
    int jrc = loom_thread_join(t[i], 10.0);
    if (jrc < 0 && rc == 0) rc = jrc;
    loom_thread_destroy(t[i]);
  }
  return rc;
}

/* A coroutine sleeper: the same messages, but loom_sleep suspends only this
 * task (inside a task it is asyncio.sleep, not a thread sleep). */
static int task_sleeper(loom_future *self, void *arg) {
  (void)self;
  int i = (int)(long)arg;
  say("starts", i);
  int rc = loom_sleep(durations[i]);
  if (rc) return rc;
  say("ends", i);
  return 0;
}

/* The main coroutine: spawn both sleepers, await both (asyncio.gather). */
static int task_main(loom_future *self, void *arg) {
  (void)arg;
  loom_future *t[2] = {NULL, NULL};
  int rc = 0;
  for (int i = 0; i < 2 && rc == 0; i++)
    rc = loom_task_spawn(loom_task_loop(self), task_sleeper, (void *)(long)i, who[i], &t[i]);
  for (int i = 0; i < 2; i++) {
    if (!t[i]) continue;
    int trc = loom_future_result(t[i], LOOM_FOREVER, NULL);
    if (trc < 0 && rc == 0) rc = trc;
    loom_future_release(t[i]);
  }
  return rc;
}

/* asyncio.run(main()): a fresh loop, the main task, then the loop closed. */
static int section_coroutines(void) { return loom_run(task_main, NULL, NULL, NULL); }

typedef struct section {
  const char *name;   /* shown in the report */
  int (*run)(void);
} section;

static const section sections[] = {
    {"sequential", section_sequential},
    {"two threads", section_threads},
    {"two coroutines", section_coroutines},
};

int main(void) {
  double total = durations[0] + durations[1];
  printf("Sleeping %.1f s and %.1f s (%.1f s of sleep in all)\n", durations[0],
         durations[1], total);
  double times[sizeof sections / sizeof sections[0]] = {0};
  int failed = 0;
  size_t n = sizeof sections / sizeof sections[0];
  for (size_t i = 0; i < n; i++) {
    printf("%s:\n", sections[i].name);
    t_start = loom_now();
    int rc = sections[i].run();
    times[i] = loom_now() - t_start;
    if (rc < 0) {
      printf("  failed: %s\n", loom_strerror(rc));
      failed = 1;
    }
  }
  printf("Summary:\n");
  for (size_t i = 0; i < n; i++)
    printf("  %-15s %5.2f s\n", sections[i].name, times[i]);
  return failed;
}
