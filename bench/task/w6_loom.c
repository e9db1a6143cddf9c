/* w6_loom.c - W6: --n tasks (default 1,000,000) each sleep 10 s at once.
 * Prints
 *     RESULT bytes_per_task X   (RSS growth while all sleep / N)
 *     RESULT start_s X          (time until every task is started and asleep)
 * then cancels them all rather than waiting 10 s (the peers do the same or
 * wait; only the two figures above are compared). */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long asleep, total;
static double t_start, start_s = -1;

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, res = 0;
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
  fclose(f);
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static int sleeper(loom_future *self, void *arg) {
  if (++asleep == total) start_s = loom_now() - t_start;
  return loom_sleep(10.0);
}

int main(int argc, char **argv) {
  total = 1000000;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--n")) total = atol(argv[i + 1]);
  loom_loop *loop;
  if (loom_loop_create(&loop, NULL) < 0) return 1;
  long rss0 = rss_kb();
  t_start = loom_now();
  for (long i = 0; i < total; i++)
    if (loom_task_spawn(loop, sleeper, NULL, NULL, NULL) < 0) return 1;
  /* Run until every task has started and is sleeping. */
  loom_future *probe;
  if (loom_future_create(&probe) < 0) return 1;
  while (asleep < total) {
    loom_call_soon(loop, (loom_callback_fn)loom_loop_stop, loop, NULL);
    loom_loop_run_forever(loop);
  }
  long rss1 = rss_kb();
  printf("RESULT bytes_per_task %.1f\n", (double)(rss1 - rss0) * 1024.0 / (double)total);
  printf("RESULT start_s %.3f\n", start_s);
  printf("RESULT rss_kb %ld\n", rss1);
  fflush(stdout);
  loom_future_release(probe);
  loom_loop_close(loop); /* cancels and unwinds every sleeper */
  loom_loop_destroy(loop);
  return 0;
}
