/* loom/debug.h - diagnostics and test hooks built into the library.
 *
 * - Reports: loom never loses an error that nobody retrieved (a failing done
 *   callback, a task error never read, a job leaked at shutdown); it hands a
 *   one-line report to a handler, stderr by default.
 * - Live-object counters: every object kind loom allocates is counted, so a
 *   test can assert that everything it created was destroyed.
 * - Fault injection: every allocation and every system call that can fail
 *   passes through a fault point.  A test arms the Nth point to fail and sweeps
 *   N; each run must end in a clean error with nothing leaked.
 */
#ifndef LOOM_DEBUG_H
#define LOOM_DEBUG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- reports ---------------------------------------------------------- */

/* Receives one report line (no trailing newline). `ctx` is the pointer given
 * to loom_set_report_handler. Called from whatever thread found the problem. */
typedef void (*loom_report_fn)(void *ctx, const char *line);

/* Install a report handler; NULL restores the default (a line on stderr).
 * Not thread-safe against concurrent reports: install it at start-up. */
void loom_set_report_handler(loom_report_fn fn, void *ctx);

/* Number of reports issued since the process started (for tests). */
uint64_t loom_report_count(void);

/* ---- live-object counters ---------------------------------------------- */

typedef enum loom_live_kind {
  LOOM_LIVE_FUTURES,   /* loom_future objects (tasks included) */
  LOOM_LIVE_EXECUTORS, /* executors of every backend */
  LOOM_LIVE_THREADS,   /* threads started by loom and not yet joined */
  LOOM_LIVE_LOOPS,     /* event loops */
  LOOM_LIVE_TASKS,     /* coroutine tasks */
  LOOM_LIVE_STACKS,    /* coroutine stacks (cached ones included) */
  LOOM_LIVE_PROCESSES, /* child processes not yet reaped */
  LOOM_LIVE_SYNC,      /* queues, events, barriers, locks... */
  LOOM_LIVE_OTHER,     /* iterators, handles, everything else */
  LOOM_LIVE__COUNT
} loom_live_kind;

/* Current number of live objects of `kind`. */
long loom_live_count(loom_live_kind kind);

/* Name of a kind, e.g. "futures". Static string. */
const char *loom_live_name(loom_live_kind kind);

/* ---- fault injection --------------------------------------------------- */

/* Fault point classes, combinable as a mask. */
#define LOOM_FAULT_ALLOC   0x1u /* malloc, calloc, realloc, strdup */
#define LOOM_FAULT_SYSCALL 0x2u /* pthread_create, futex-free syscalls, mmap... */
#define LOOM_FAULT_ALL     0x3u

/* Arm fault injection: the `nth` fault point (1-based, counting only points in
 * `mask`, from now on) fails, and so do the following `extra` ones (0 for a
 * single failure).  nth == 0 disarms.  Counting is process-wide. */
void loom_fault_arm(uint64_t nth, uint64_t extra, unsigned mask);

/* Disarm fault injection. */
void loom_fault_disarm(void);

/* Number of fault points passed (in the armed mask) since the last arm. */
uint64_t loom_fault_points(void);

/* Number of faults actually injected since the last arm. */
uint64_t loom_fault_injected(void);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_DEBUG_H */
