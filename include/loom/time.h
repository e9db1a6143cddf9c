/* loom/time.h - time and timeouts.
 *
 * Public blocking calls take a relative timeout in seconds as a double, the
 * way Python does: a negative value (LOOM_FOREVER) waits without limit, 0
 * polls.  Internally every wait is an absolute CLOCK_MONOTONIC deadline in
 * nanoseconds, converted once at the API edge, so a wait that is woken early
 * and goes back to sleep never stretches its timeout.
 */
#ifndef LOOM_TIME_H
#define LOOM_TIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Wait without a time limit. Any negative timeout means the same. */
#define LOOM_FOREVER (-1.0)

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). Never fails. */
int64_t loom_now_ns(void);

/* Monotonic clock in seconds, as a double. */
double loom_now(void);

/* Absolute monotonic deadline for a relative timeout in seconds.
 * Negative timeouts, NaN and overflow give INT64_MAX ("never"). */
int64_t loom_deadline(double timeout);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_TIME_H */
