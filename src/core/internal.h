/* internal.h - helpers shared by every loom source file (never installed).
 *
 * Names here start with loom__ (two underscores): internal but not static.
 * Allocation and fallible system calls go through the fault points below so
 * tests can make any one of them fail; the live counters track every object.
 */
#ifndef LOOM_CORE_INTERNAL_H
#define LOOM_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loom/debug.h"
#include "loom/error.h"
#include "loom/time.h"

#define LOOM__LIKELY(x) __builtin_expect(!!(x), 1)
#define LOOM__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LOOM__CONTAINER_OF(ptr, type, member)                                  \
  ((type *)((char *)(ptr) - offsetof(type, member)))
#define LOOM__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fault points ------------------------------------------------------- */

/* True if this fault point (of class `mask`) must fail now. Cheap when
 * disarmed: one relaxed load. */
bool loom__fault_slow(unsigned mask);
extern _Atomic unsigned loom__fault_mask_armed;
static inline bool loom__fault(unsigned mask) {
  if (LOOM__LIKELY(!(atomic_load_explicit(&loom__fault_mask_armed,
                                          memory_order_relaxed) & mask)))
    return false;
  return loom__fault_slow(mask);
}

/* Allocation through the ALLOC fault point. Same contracts as libc. */
void *loom__malloc(size_t n);
void *loom__calloc(size_t n, size_t size);
void *loom__realloc(void *p, size_t n);
char *loom__strdup(const char *s);
char *loom__vasprintf(const char *fmt, va_list ap);
char *loom__asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void loom__free(void *p);

/* Wrap a fallible system call: `LOOM__SYSCALL(rc = pthread_create(...))`
 * style is awkward, so callers write
 *     if (loom__fault(LOOM_FAULT_SYSCALL)) { errno = EAGAIN; rc = -1; }
 *     else rc = real_call(...);
 * or use this helper which returns true when the fault fires and sets errno. */
static inline bool loom__sys_fault(int err) {
  if (loom__fault(LOOM_FAULT_SYSCALL)) {
    errno = err;
    return true;
  }
  return false;
}

/* ---- live counters ------------------------------------------------------ */

extern _Atomic long loom__live[LOOM_LIVE__COUNT];
static inline void loom__live_inc(loom_live_kind k) {
  atomic_fetch_add_explicit(&loom__live[k], 1, memory_order_relaxed);
}
static inline void loom__live_dec(loom_live_kind k) {
  atomic_fetch_sub_explicit(&loom__live[k], 1, memory_order_relaxed);
}

/* ---- reports ------------------------------------------------------------ */

/* Issue one report line through the installed handler. */
void loom__report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- time ------------------------------------------------------------------ */

/* When set, code running inside a task on this thread reads loom_now_ns()
 * (and so loom_deadline()) from this clock instead of CLOCK_MONOTONIC.  A
 * loop on the virtual clock points it at its virtual time while it runs an
 * iteration: time stands still while callbacks run and jumps between
 * iterations, and a task's timeouts (sleep, wait, as_completed...) are
 * measured on it exactly.  Plain threads (and loop callbacks outside tasks)
 * keep the real clock, so their futex waits stay right. */
extern _Thread_local const int64_t *loom__task_clock;

/* loom_deadline with the no-limit case (negative or NaN) inline: a task
 * blocking on a queue or a future converts LOOM_FOREVER on every wait. */
static inline int64_t loom__deadline(double timeout) {
  return !(timeout >= 0) ? INT64_MAX : loom_deadline(timeout);
}

/* ---- small utilities ---------------------------------------------------- */

/* Number of online CPUs, at least 1. */
int loom__cpu_count(void);

#endif /* LOOM_CORE_INTERNAL_H */
