/* coro.h - the stackful coroutine engine (internal to loom).
 *
 * A loom__coro is a saved execution context: the callee-saved registers of a
 * suspended C call stack.  loom__coro_switch(from, to) saves the running
 * context in `from` and resumes `to` - a plain function call of a few
 * nanoseconds (switch_<arch>.S), no system call.  The thread's own stack is a
 * context too (loom__coro_thread_init), so the event loop and the tasks are
 * all just contexts switching to each other.
 *
 * Stacks come from a loom__stack_pool (stack.c): carved from large lazily
 * committed mappings, each with a guard region below it, cached when freed.
 * A fault in a guard region is reported as a stack overflow naming the
 * coroutine (overflow.c).  Under AddressSanitizer, ThreadSanitizer and
 * valgrind the engine tells the tool about every switch and stack.
 *
 * Threading: a coroutine runs on one thread at a time; a pool is used by one
 * thread at a time (each loop has its own).  Nothing here locks.
 */
#ifndef LOOM_CORO_CORO_H
#define LOOM_CORO_CORO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/internal.h"
#include "switch_layout.h"

#if defined(LOOM_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif
#if defined(LOOM_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

/* ---- saved registers (layout drawn in switch_layout.h) ------------------ */

#if defined(__x86_64__)
typedef struct loom__coro_regs {
  uint64_t rsp, rbp, rbx, r12, r13, r14, r15;
  uint32_t mxcsr;
  uint16_t x87cw;
  uint16_t pad_;
} loom__coro_regs;
_Static_assert(offsetof(loom__coro_regs, rsp) == LOOM__X64_RSP, "layout");
_Static_assert(offsetof(loom__coro_regs, rbp) == LOOM__X64_RBP, "layout");
_Static_assert(offsetof(loom__coro_regs, rbx) == LOOM__X64_RBX, "layout");
_Static_assert(offsetof(loom__coro_regs, r12) == LOOM__X64_R12, "layout");
_Static_assert(offsetof(loom__coro_regs, r13) == LOOM__X64_R13, "layout");
_Static_assert(offsetof(loom__coro_regs, r14) == LOOM__X64_R14, "layout");
_Static_assert(offsetof(loom__coro_regs, r15) == LOOM__X64_R15, "layout");
_Static_assert(offsetof(loom__coro_regs, mxcsr) == LOOM__X64_MXCSR, "layout");
_Static_assert(offsetof(loom__coro_regs, x87cw) == LOOM__X64_X87CW, "layout");
_Static_assert(sizeof(loom__coro_regs) == LOOM__X64_SIZE, "layout");
#elif defined(__aarch64__)
typedef struct loom__coro_regs {
  uint64_t x[12]; /* x19..x30: x[10] is the frame pointer, x[11] the lr */
  uint64_t sp;
  uint64_t d[8];  /* d8..d15 */
} loom__coro_regs;
_Static_assert(offsetof(loom__coro_regs, x[0]) == LOOM__A64_X19, "layout");
_Static_assert(offsetof(loom__coro_regs, x[2]) == LOOM__A64_X21, "layout");
_Static_assert(offsetof(loom__coro_regs, x[4]) == LOOM__A64_X23, "layout");
_Static_assert(offsetof(loom__coro_regs, x[6]) == LOOM__A64_X25, "layout");
_Static_assert(offsetof(loom__coro_regs, x[8]) == LOOM__A64_X27, "layout");
_Static_assert(offsetof(loom__coro_regs, x[10]) == LOOM__A64_X29, "layout");
_Static_assert(offsetof(loom__coro_regs, sp) == LOOM__A64_SP, "layout");
_Static_assert(offsetof(loom__coro_regs, d[0]) == LOOM__A64_D8, "layout");
_Static_assert(offsetof(loom__coro_regs, d[2]) == LOOM__A64_D10, "layout");
_Static_assert(offsetof(loom__coro_regs, d[4]) == LOOM__A64_D12, "layout");
_Static_assert(offsetof(loom__coro_regs, d[6]) == LOOM__A64_D14, "layout");
_Static_assert(sizeof(loom__coro_regs) == LOOM__A64_SIZE, "layout");
#else
#error "loom's coroutine engine supports x86-64 and aarch64"
#endif

/* Save the running context in *from, resume *to (switch_<arch>.S). */
void loom__coro_swap(loom__coro_regs *from, const loom__coro_regs *to);
/* First "return address" of a fresh coroutine (switch_<arch>.S). */
void loom__coro_trampoline(void);

/* ---- stacks (stack.c) --------------------------------------------------- */

/* Default usable stack size: 128 KiB of address space, committed page by
 * page only as touched (see docs/coroutines.md for why). */
#define LOOM__STACK_DEFAULT_SIZE ((size_t)128 * 1024)
/* Guard region below every stack; address space only, never memory. */
#define LOOM__STACK_GUARD_SIZE ((size_t)16 * 1024)

typedef struct loom__stack_pool loom__stack_pool;
typedef struct loom__stack loom__stack;
struct loom__stack {
  char *lo;                 /* lowest usable byte; the guard is just below */
  size_t size;              /* usable bytes: [lo, lo + size) */
  union {
    loom__stack *next;      /* free-list link while cached */
    void *taker_data;       /* free for whoever took it, while taken (the
                               task layer's compact record: task/compact.c) */
  };
  struct loom__stack_class *cls; /* the size class it belongs to */
  bool hot;                 /* cached with its pages still resident */
};

/* How guard regions are made: MADV_GUARD_INSTALL (Linux 6.13+, no extra
 * mapping) or mprotect(PROT_NONE) (splits the mapping: two VMAs a stack). */
typedef enum { LOOM__GUARD_AUTO, LOOM__GUARD_MADVISE, LOOM__GUARD_MPROTECT } loom__guard_mode;

/* Create a pool whose stacks are `size` usable bytes (0 = the default; rounded
 * up to whole pages).  Returns 0, LOOM_EINVAL (out NULL), LOOM_ENOMEM.
 * The pool belongs to one thread at a time. */
int loom__stack_pool_create(size_t size, loom__stack_pool **out);

/* Destroy the pool and unmap every slab.  Every stack must have been put
 * back; a stack still out is reported (and its memory is unmapped anyway).
 * NULL is ignored. */
void loom__stack_pool_destroy(loom__stack_pool *p);

/* Get a stack of `size` usable bytes (0 = the pool's size): a cached one,
 * most recently used first, or a fresh slot of a slab.  *out belongs to the
 * caller until loom__stack_put.  Returns 0, LOOM_ENOMEM (mmap or the
 * descriptor allocation failed), or -errno if the guard could not be made. */
int loom__stack_get(loom__stack_pool *p, size_t size, loom__stack **out);

/* Give a stack back to its pool.  A small number stay hot; beyond that
 * their pages are released (MADV_DONTNEED) and only the address space is
 * kept for reuse. */
void loom__stack_put(loom__stack_pool *p, loom__stack *s);

/* The pool's default usable size. */
size_t loom__stack_pool_size(const loom__stack_pool *p);

/* How many stacks are cached (hot + cold) in the pool, and how many are hot. */
size_t loom__stack_pool_cached(const loom__stack_pool *p, size_t *hot);

/* The guard mechanism in use (AUTO before the first stack is carved).  Tests
 * force the fallback with loom__stack_guard_mode_set before any stack. */
loom__guard_mode loom__stack_guard_mode(void);
void loom__stack_guard_mode_set(loom__guard_mode m);

/* ---- coroutines (coro.c) ------------------------------------------------ */

typedef struct loom__coro loom__coro;
/* A coroutine body.  When it returns, the engine switches to self->exit_to
 * for good (the coroutine is then done). */
typedef void (*loom__coro_fn)(loom__coro *self, void *arg);

struct loom__coro {
  loom__coro_regs regs;     /* saved registers while not running */
  char *stack_lo;           /* usable stack [stack_lo, +stack_size) */
  size_t stack_size;        /* (for a thread context: its stack, if known) */
  loom__coro_fn fn;         /* body and its argument */
  void *arg;
  loom__coro *exit_to;      /* resumed when fn returns; must be set by then */
  const char *name;         /* for overflow reports and dumps, may be NULL */
  unsigned long id;         /* reported as "Task-<id>" when name is NULL */
  bool done;                /* fn returned */
  bool is_thread;           /* stands for a thread's own stack */
#if defined(LOOM_ASAN)
  void *asan_fake;          /* ASan's fake stack while switched out */
#endif
#if defined(LOOM_TSAN)
  void *tsan_fiber;
  bool tsan_owned;          /* created by us (not the thread's own fiber) */
#endif
  unsigned vg_id;           /* valgrind stack id, 0 when not registered */
};

/* The context that runs right now on this thread (NULL before any
 * loom__coro_thread_init on it).  Read by the overflow handler. */
extern _Thread_local loom__coro *loom__coro_cur __attribute__((tls_model("initial-exec")));

/* Make `c` stand for the calling thread's own stack, so coroutines can switch
 * back to it, and install the overflow handler and an alternate signal
 * stack for this thread.  Returns 0, or -errno if the signal stack could not
 * be set up (the context still works; overflows are then not reported). */
int loom__coro_thread_init(loom__coro *c);

/* (Re)install the overflow handler if something replaced it, and give this
 * thread an alternate signal stack.  loom__coro_thread_init calls it; the
 * task layer calls it again for every new loop, since applications and test
 * frameworks install and restore SIGSEGV handlers of their own.  Returns 0
 * or -errno (overflows are then not reported by name). */
int loom__coro_overflow_setup(void);

/* Release what loom__coro_thread_init set up for `c` (not the signal stack,
 * which lives until the thread exits). */
void loom__coro_thread_fini(loom__coro *c);

/* Prepare `c` to run fn(c, arg) on stack `s` (owned by the caller, who must
 * keep it until loom__coro_fini).  The first loom__coro_switch to c starts it.
 * Never fails. */
void loom__coro_init(loom__coro *c, loom__stack *s, loom__coro_fn fn, void *arg);

/* Forget c's stack: tell the sanitizers and valgrind it is gone.  Call once
 * c is done or will never be resumed again, before putting the stack back. */
void loom__coro_fini(loom__coro *c);

/* Called by the trampoline if a coroutine's entry returns: reports, aborts. */
_Noreturn void loom__coro_entry_returned(loom__coro *c);

/* Entry of every coroutine (the trampoline calls it); never returns. */
_Noreturn void loom__coro_main(loom__coro *c);

/* Suspend `from` (the running context) and resume `to`. */
static inline void loom__coro_switch(loom__coro *from, loom__coro *to) {
#if defined(LOOM_ASAN)
  __sanitizer_start_switch_fiber(&from->asan_fake, to->stack_lo, to->stack_size);
#endif
#if defined(LOOM_TSAN)
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
  loom__coro_cur = to;
  loom__coro_swap(&from->regs, &to->regs);
#if defined(LOOM_ASAN)
  __sanitizer_finish_switch_fiber(from->asan_fake, NULL, NULL);
#endif
}

/* Print the call stack of a suspended coroutine (frame-pointer walk) to
 * `out`, one "    #i 0x... symbol+off" line per frame, at most max_frames.
 * Returns the number of frames printed.  c must not be running. */
int loom__coro_backtrace(const loom__coro *c, FILE *out, int max_frames);

/* Same for the calling context (for the loop's stall report). */
int loom__coro_backtrace_here(FILE *out, int max_frames);

/* The stack pointer a suspended coroutine saved (the lowest byte of its
 * stack in use). */
static inline uintptr_t loom__coro_saved_sp(const loom__coro *c) {
#if defined(__x86_64__)
  return (uintptr_t)c->regs.rsp;
#else
  return (uintptr_t)c->regs.sp;
#endif
}

#endif /* LOOM_CORO_CORO_H */
