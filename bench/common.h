/* bench/common.h - small helpers shared by the C benchmark programs (loom's
 * and the C peers'): the `--n N` argument, a monotonic clock, peak RSS, and
 * the `RESULT <key> <number>` output line the driver (bench/run.py) parses.
 * Header-only so that peers built without loom can use it too.
 */
#ifndef LOOM_BENCH_COMMON_H
#define LOOM_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The value of `--name V` in argv, or dflt when absent. */
static inline long long bench_arg(int argc, char **argv, const char *name, long long dflt) {
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], name) == 0) return strtoll(argv[i + 1], NULL, 10);
  return dflt;
}

/* Monotonic time in seconds. */
static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak resident set size of this process, KiB. */
static inline long bench_peak_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static inline void bench_result(const char *key, double value) {
  printf("RESULT %s %.6g\n", key, value);
  fflush(stdout);
}

#endif
