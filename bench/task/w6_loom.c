/* w6_loom.c - W6: --n tasks (default 1,000,000) each sleep --sleep seconds
 * (default 10) at once, on one loop.  Prints, like the peers,
 *     RESULT start_s X          (first spawn until every task is asleep)
 *     RESULT bytes_per_task X   (peak RSS / N)
 *     RESULT rss_kb X           (peak RSS)
 * --compact 1 runs the tasks in compact idle-stack mode (loom/task.h). */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static long asleep, woke, total;
static double t_start, start_s = -1, sleep_s = 10;
static loom_loop *loop;

static int sleeper(loom_future *self, void *arg) {
  if (++asleep == total) start_s = loom_now() - t_start;
  int rc = loom_sleep(sleep_s);
  if (++woke == total) loom_loop_stop(loop);
  return rc;
}

int main(int argc, char **argv) {
  int compact = 0; /* --compact 1: compact idle stacks (loom/task.h) */
  total = 1000000;
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--compact")) compact = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--n")) total = atol(argv[i + 1]);
    if (!strcmp(argv[i], "--sleep")) sleep_s = atof(argv[i + 1]);
  }
  if (loom_loop_create(&loop, NULL) < 0) return 1;
  if (compact && loom_task_set_default_compact(loop, true) < 0) return 1;
  t_start = loom_now();
  for (long i = 0; i < total; i++)
    if (loom_task_spawn(loop, sleeper, NULL, NULL, NULL) < 0) return 1;
  loom_loop_run_forever(loop);
  if (woke != total) {
    fprintf(stderr, "w6: only %ld of %ld tasks woke\n", woke, total);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("RESULT start_s %.4f\n", start_s);
  printf("RESULT bytes_per_task %.1f\n", (double)ru.ru_maxrss * 1024.0 / (double)total);
  printf("RESULT rss_kb %ld\n", ru.ru_maxrss);
  loom_loop_destroy(loop);
  return 0;
}
