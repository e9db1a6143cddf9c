/* time.c - the monotonic clock and timeout-to-deadline conversion. */
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "waiter.h"

_Thread_local const int64_t *loom__task_clock;

int64_t loom_now_ns(void) {
  /* Tasks of a loop on the virtual clock live on that clock: their
   * deadlines and every "has it passed?" check agree with the loop's timers
   * (see internal.h).  Plain threads always read the real clock. */
  if (LOOM__UNLIKELY(loom__task_clock != NULL) && loom__in_task()) return *loom__task_clock;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double loom_now(void) { return (double)loom_now_ns() / 1e9; }

int64_t loom_deadline(double timeout) {
  if (isnan(timeout) || timeout < 0) return INT64_MAX;
  int64_t now = loom_now_ns();
  double ns = timeout * 1e9;
  if (ns >= (double)(INT64_MAX - now)) return INT64_MAX;
  return now + (int64_t)(ns + 0.5); /* nearest ns: 0.3 s is 299999999.99999994 ns */
}

int loom__cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}
