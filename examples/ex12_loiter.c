/* ex12_loiter.c - the executor map demo: loiter(n) sleeps n time units with
 * timestamped, indented messages; map() over a 3-worker pool returns the
 * results in input order, lazily, while the work runs in parallel.
 *
 *   ex12_loiter [--unit SECONDS]   (default 1.0: loiter(n) sleeps n s)
 */
#include <loom.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static double unit = 1.0;

/* "[HH:MM:SS.mmm] " then the message, one line at a time. */
static void display(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void display(const char *fmt, ...) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  localtime_r(&tv.tv_sec, &tm);
  char line[256];
  int k = (int)strftime(line, sizeof line, "[%H:%M:%S", &tm);
  k += snprintf(line + k, sizeof line - (size_t)k, ".%03ld] ", (long)tv.tv_usec / 1000);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + k, sizeof line - (size_t)k, fmt, ap);
  va_end(ap);
  puts(line); /* one stdio call per line: lines from workers never mix */
}

static int loiter(loom_future *self, void *arg) {
  long n = (long)arg;
  char tabs[16] = "";
  memset(tabs, '\t', (size_t)n);
  display("%sloiter(%ld): doing nothing for %lds...", tabs, n, n);
  double s = (double)n * unit;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
  display("%sloiter(%ld): done.", tabs, n);
  return loom_future_set_result(self, (void *)(n * 10), NULL);
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--unit")) unit = atof(argv[i + 1]);
  setvbuf(stdout, NULL, _IOLBF, 0);
  double t0 = loom_now();
  display("Script starting.");
  LOOM_EXECUTOR_SCOPED loom_executor *pool = NULL;
  loom_thread_pool_options o = {.max_workers = 3};
  int rc = loom_thread_pool_create(&pool, &o);
  if (rc < 0) {
    fprintf(stderr, "thread pool: %s\n", loom_strerror(rc));
    return 1;
  }
  void *items[5] = {(void *)0, (void *)1, (void *)2, (void *)3, (void *)4};
  loom_map *results;
  rc = loom_executor_map(pool, loiter, items, 5, LOOM_FOREVER, NULL, &results);
  if (rc < 0) {
    fprintf(stderr, "map: %s\n", loom_strerror(rc));
    return 1;
  }
  display("results: <loom_map %p>", (void *)results);
  display("Waiting for individual results:");
  void *v;
  for (int i = 0; (rc = loom_map_next(results, &v)) != LOOM_ESTOP; i++) {
    if (rc < 0) {
      display("result %d: error %s", i, loom_strerror(rc));
      continue;
    }
    display("result %d: %ld", i, (long)v);
  }
  loom_map_destroy(results);
  display("Done in %.2f s (%.2f s of loitering in all).", loom_now() - t0, 10 * unit);
  return 0;
}
