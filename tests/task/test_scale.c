/* test_scale.c - a million sleeping tasks (fewer under ThreadSanitizer, whose
 * per-fiber state is large): all start, all sleep at once, all wake, within
 * a bounded time; memory per sleeping task is measured from RSS. */
#include <unistd.h>

#include "task_support.h"

#if defined(LOOM_TSAN)
/* TSan counts each fiber as a thread (at most 8128) and keeps ~1 MB of
 * state per fiber: its memory figure measures TSan, not loom. */
enum { N_TASKS = 1000 };
#define MAX_BYTES_PER_TASK (4.0 * 1024 * 1024)
#else
enum { N_TASKS = 1000000 };
#define MAX_BYTES_PER_TASK (16.0 * 1024)
#endif

static long woke;

static int nap(loom_future *self, void *arg) {
  int rc = loom_sleep(1.0);
  if (rc == 0) woke++;
  return rc;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

typedef struct watch {
  long rss_before, rss_sleeping;
  int sleeping_tasks;
} watch;

static int observer(loom_future *self, void *arg) {
  watch *w = arg;
  loom_sleep(0.5); /* every nap task has started and is asleep now */
  w->rss_sleeping = rss_kb();
  w->sleeping_tasks = loom_task_all(loom_task_loop(self), NULL, 0);
  return loom_sleep(1.0);
}

LOOM_TEST_T(scale, million_sleeping_tasks, 300) {
  loom_loop *l = ts_loop(true); /* virtual clock: the 1 s sleeps take no time */
  woke = 0;
  watch w = {rss_kb(), 0, 0};
  double t0 = loom_now();
  for (long i = 0; i < N_TASKS; i++) LT_RC(loom_task_spawn(l, nap, NULL, NULL, NULL), 0);
  loom_future *obs;
  LT_RC(loom_task_spawn(l, observer, &w, "observer", &obs), 0);
  LT_RC(loom_loop_run_until_complete(l, obs), 0);
  double took = loom_now() - t0;
  assert_int_equal(woke, N_TASKS);
  assert_int_equal(w.sleeping_tasks, N_TASKS + 1);
  double per_task = (double)(w.rss_sleeping - w.rss_before) * 1024.0 / N_TASKS;
  print_message("    %d sleeping tasks: %.2f s, %.0f bytes of RSS each\n", N_TASKS, took,
                per_task);
  /* One touched stack page plus the task (sanitizers add their shadow and
   * redzones; an optimised build measures ~4.6 KB, see bench W6). */
  LT_CHECK(per_task < MAX_BYTES_PER_TASK, "%.0f bytes per sleeping task", per_task);
  loom_future_release(obs);
  loom_loop_destroy(l);
}
