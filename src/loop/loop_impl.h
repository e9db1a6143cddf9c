/* loop_impl.h - the layout of loom_loop, shared by the files of src/loop only.
 *
 * The loop is split by concept: loop.c (life cycle, the iteration, queues,
 * clock), timer.c (the 4-ary timer heap), handle.c (public callbacks and
 * handles), io.c (readers and writers), signal.c (signal handlers).
 */
#ifndef LOOM_LOOP_LOOP_IMPL_H
#define LOOM_LOOP_LOOP_IMPL_H

#include <signal.h>
#include <stdatomic.h>

#include "loom/executor.h"

#include "../core/internal.h"
#include "loop_internal.h"
#include "poll.h"

/* One heap slot, 32 bytes: the whole key is copied in so sifting never
 * reads the timers, and four siblings fill exactly two cache lines (timer.c
 * aligns them).  A slot holds either an intrusive timer (t; its index is
 * kept up to date) or, for a loom_call_later/call_at whose caller asked for
 * no handle, the callback itself (fn, arg): such a timer cannot be
 * cancelled, so it needs no handle and firing it touches nothing but the
 * slot. */
typedef struct loom__heap_ent {
  int64_t deadline;
  uint64_t key;              /* seq << 1 | 1 for an inline callback: FIFO tie-break */
  union {
    loom__timer *t;          /* key & 1 == 0 */
    loom_callback_fn fn;     /* key & 1 == 1 */
  } u;
  void *arg;                 /* inline callback's argument */
} loom__heap_ent;

static inline bool loom__heap_ent_inline(const loom__heap_ent *e) { return e->key & 1; }

/* Reader and writer of one fd. */
typedef struct loom__io_watch {
  loom_callback_fn rfn, wfn; /* NULL: no reader / writer */
  void *rarg, *warg;
  uint32_t armed;            /* interest currently registered in the backend */
} loom__io_watch;

typedef struct loom__sig_watch {
  loom_signal_fn fn;    /* handler, or NULL */
  void *arg;
  int watches;          /* loom_signal_watch objects of this loop on it */
  struct sigaction old; /* disposition to restore on removal */
} loom__sig_watch;

/* Who holds the loop (loop.c): nobody, the thread driving it, or a thread
 * holding drivers off for a moment (loom__loop_borrow). */
enum { LOOM__LOOP_IDLE = 0, LOOM__LOOP_DRIVEN = 1, LOOM__LOOP_BORROWED = 2 };

struct loom_loop {
  loom__loop_hot hot;           /* first: ready queue, batch (loop_internal.h) */
  loom__poll poll;              /* readiness backend */
  int wake_fd;                  /* eventfd: thread-safe posts, stop, signals */
  _Atomic bool wake_pending;    /* an eventfd write is outstanding (coalescing) */
  _Atomic(loom__callback *) inbox; /* thread-safe posts, LIFO; reversed on drain */

  /* Timers: 4-ary min-heap on (deadline, seq), see timer.c. */
  loom__heap_ent *heap;         /* slot 0 = root; children of i at 4i+1..4i+4 */
  void *heap_mem;               /* the allocation heap points into (timer.c) */
  uint32_t heap_len, heap_cap;
  uint64_t timer_seq;

  /* Clock: real = CLOCK_MONOTONIC + offset; virtual = vnow (jumps only). */
  int64_t now;                  /* cached loop time, ns (timers only) */
  int64_t clock_offset;
  bool virtual_clock;

  /* Foreign fds. */
  loom__io_watch *io;
  int io_cap;                   /* entries in io (indexed by fd) */
  int io_count;                 /* fds with a reader or writer */

  /* Signals (allocated on first use), indexed by signal number. */
  loom__sig_watch *sigs;
  _Atomic int sig_count;        /* signals installed (handler or watch) */
  struct loom_signal_watch *watch_list; /* awaitable watches; sig_mu guards */

  /* State. */
  _Atomic uint32_t running;     /* LOOM__LOOP_IDLE, _DRIVEN or _BORROWED */
  _Atomic bool stop_req;
  _Atomic bool ruc_done;        /* run_until_complete's future finished */
  _Atomic bool closed;          /* read by posting threads */
  bool destroying;

  /* Poll skipping while work is ready (loop.c): iterations since the
   * backend was last polled, and the coarse time the run of skips began. */
  uint32_t polls_skipped;
  int64_t skip_since;
  uint64_t iterations, polls;   /* since creation (test hooks) */

  /* Stall detector (its threshold is hot.slow_ns). */
  unsigned long slow_count;

  /* Handle pool (handle.c). */
  loom__callback *hfree;        /* loop thread's free handles */
  _Atomic(loom__callback *) hfree_remote; /* freed on other threads */
  void *hblocks;                /* every block (linked by its first word), freed at destroy */
  long hlive;                   /* pooled handles taken minus freed on the loop thread */
  _Atomic long hfreed_remote;   /* pooled handles freed on other threads */

  /* Default executor for run_in_executor (executor.c). */
  loom_executor *default_ex;
  bool default_ex_owned;        /* created by the loop: shut down at close */

  loom__loop_hooks hooks;
  void *task_slot;
};

/* The loop this thread drives (loop.c). */
extern _Thread_local loom_loop *loom__tls_loop __attribute__((tls_model("initial-exec")));

/* Drive `loop` (running = DRIVEN), waiting out a borrow: false if another
 * thread drives it.  The caller sets loom__tls_loop itself (loop.c). */
bool loom__loop_claim(loom_loop *loop);
void loom__loop_unclaim(loom_loop *loop);

/* ---- timer.c ---- */
void loom__timers_fini(loom_loop *loop);
/* Fire timers due at loop->now, created before this call (see timer.c). */
void loom__timers_run(loom_loop *loop);
/* True if an iteration that began at loop-clock time `until` (or earlier)
 * would fire no timer (real clock; under the virtual clock, the loop's
 * standing time decides). */
bool loom__timers_quiet_until(const loom_loop *loop, int64_t until);
/* Deadline of the earliest timer, or INT64_MAX. */
static inline int64_t loom__timers_next(const loom_loop *loop) {
  return loop->heap_len ? loop->heap[0].deadline : INT64_MAX;
}

/* ---- handle.c ---- */
/* Free the handle blocks (at destroy). */
void loom__handles_fini(loom_loop *loop);
/* Drop a queued entry or armed timer at close; true if it was a handle. */
bool loom__handle_drop_cb(loom__callback *cb);
bool loom__handle_drop_timer(loom__timer *t);

/* ---- io.c ---- */
void loom__io_dispatch(loom_loop *loop, int fd, uint32_t events);
void loom__io_fini(loom_loop *loop);

/* ---- signal.c ---- */
void loom__signals_dispatch(loom_loop *loop);
void loom__signals_fini(loom_loop *loop);
/* signal.c <-> sigwatch.c.  The process-wide table lock (sig_mu) guards the
 * owners table and every loop's watch_list; lock order: sig_mu, then a
 * watch's own lock. */
void loom__sig_lock(void);
void loom__sig_unlock(void);
/* Take / drop one watch reference on signum for loop (sig_mu held): the
 * first user installs the process handler.  Returns 0, LOOM_EBUSY (another
 * loop owns it), LOOM_ENOMEM, -errno. */
int loom__sig_acquire(loom_loop *loop, int signum);
void loom__sig_release(loom_loop *loop, int signum);
/* Deliver signum to the loop's watches (sig_mu held, loop thread). */
void loom__sigwatch_notify(loom_loop *loop, int signum);
/* Detach the loop's watches at close (sig_mu held): their waiters get
 * LOOM_ECLOSED. */
void loom__sigwatch_detach_all(loom_loop *loop);

/* ---- executor.c ---- */
void loom__loop_executor_fini(loom_loop *loop);

/* ---- loop.c ---- */
/* Address that seals the inbox at close: posts after close are refused. */
extern loom__callback loom__inbox_closed;
/* Move the thread-safe inbox to the ready queue. */
void loom__loop_inbox_drain(loom_loop *loop);
/* Time a callback for the stall detector (only when enabled). */
void loom__loop_check_slow(loom_loop *loop, int64_t start, const char *what);

#endif /* LOOM_LOOP_LOOP_IMPL_H */
