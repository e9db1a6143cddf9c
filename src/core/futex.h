/* futex.h - thin wrappers over the Linux futex system call (private futexes).
 * Platform file: a port replaces these with its own wait-on-address. */
#ifndef LOOM_CORE_FUTEX_H
#define LOOM_CORE_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/* Sleep while *addr == val, until woken or the absolute CLOCK_MONOTONIC
 * deadline (INT64_MAX: none).  Returns 0, or -ETIMEDOUT / -EAGAIN / -EINTR. */
int loom__futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t deadline_ns);

/* Wake up to n sleepers on addr. */
void loom__futex_wake(_Atomic uint32_t *addr, int n);

#endif
