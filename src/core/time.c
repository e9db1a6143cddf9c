/* time.c - the monotonic clock and timeout-to-deadline conversion. */
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int64_t loom_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double loom_now(void) { return (double)loom_now_ns() / 1e9; }

_Thread_local int64_t loom__deadline_base;

int64_t loom_deadline(double timeout) {
  if (isnan(timeout) || timeout < 0) return INT64_MAX;
  int64_t now = loom__deadline_base ? loom__deadline_base : loom_now_ns();
  double ns = timeout * 1e9;
  if (ns >= (double)(INT64_MAX - now)) return INT64_MAX;
  return now + (int64_t)ns;
}

int loom__cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}
