/* coro.c - coroutine set-up, entry and exit, sanitizer and valgrind glue,
 * and the frame-pointer walk used by task dumps.
 *
 * The switch itself is loom__coro_switch (coro.h) over loom__coro_swap
 * (switch_<arch>.S).  A fresh coroutine's saved registers are forged here so
 * that the first switch "returns" into loom__coro_trampoline, which calls
 * loom__coro_main(c); loom__coro_main runs the body and then switches to
 * c->exit_to for the last time.  It never returns: if it did, the
 * trampoline calls loom__coro_entry_returned, which aborts with a message.
 */
#include "coro.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(LOOM_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define LOOM__HAVE_VALGRIND 1
#endif

_Thread_local loom__coro *loom__coro_cur __attribute__((tls_model("initial-exec")));

int loom__coro_thread_init(loom__coro *c) {
  memset(c, 0, sizeof *c);
  c->is_thread = true;
  c->name = "thread";
#if defined(LOOM_ASAN)
  /* ASan needs the bounds of the stack it switches back to. */
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void *addr;
    size_t size;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
      c->stack_lo = addr;
      c->stack_size = size;
    }
    pthread_attr_destroy(&attr);
  }
#endif
#if defined(LOOM_TSAN)
  c->tsan_fiber = __tsan_get_current_fiber();
#endif
  loom__coro_cur = c;
  return loom__coro_overflow_setup();
}

void loom__coro_thread_fini(loom__coro *c) {
  if (loom__coro_cur == c) loom__coro_cur = NULL;
}

void loom__coro_init(loom__coro *c, loom__stack *s, loom__coro_fn fn, void *arg) {
  memset(c, 0, sizeof *c);
  c->stack_lo = s->lo;
  c->stack_size = s->size;
  c->fn = fn;
  c->arg = arg;
  uintptr_t top = ((uintptr_t)s->lo + s->size) & ~(uintptr_t)15;
#if defined(__x86_64__)
  /* The first switch pops the trampoline's address; the trampoline then
   * starts with rsp 16-byte aligned, as the ABI wants before a call. */
  uint64_t *slot = (uint64_t *)(top - 8);
  *slot = (uint64_t)(uintptr_t)loom__coro_trampoline;
  c->regs.rsp = (uint64_t)(uintptr_t)slot;
  c->regs.rbp = 0; /* ends frame-pointer walks */
  c->regs.rbx = (uint64_t)(uintptr_t)c;
  c->regs.r12 = (uint64_t)(uintptr_t)loom__coro_main;
  c->regs.r13 = (uint64_t)(uintptr_t)loom__coro_entry_returned;
  /* Start with the creating thread's floating-point environment. */
  __asm__ volatile("stmxcsr %0" : "=m"(c->regs.mxcsr));
  __asm__ volatile("fnstcw %0" : "=m"(c->regs.x87cw));
#elif defined(__aarch64__)
  c->regs.sp = top;
  c->regs.x[0] = (uint64_t)(uintptr_t)c;                          /* x19 */
  c->regs.x[1] = (uint64_t)(uintptr_t)loom__coro_main;            /* x20 */
  c->regs.x[2] = (uint64_t)(uintptr_t)loom__coro_entry_returned;  /* x21 */
  c->regs.x[10] = 0;                                              /* fp */
  c->regs.x[11] = (uint64_t)(uintptr_t)loom__coro_trampoline;     /* lr */
#endif
#if defined(LOOM_TSAN)
  c->tsan_fiber = __tsan_create_fiber(0);
  c->tsan_owned = true;
#endif
#if defined(LOOM__HAVE_VALGRIND)
  c->vg_id = VALGRIND_STACK_REGISTER(s->lo, s->lo + s->size);
#endif
}

void loom__coro_fini(loom__coro *c) {
#if defined(LOOM_ASAN)
  /* Frames that never returned (a coroutine abandoned while suspended) left
   * their redzones poisoned; the next user of this stack must not see them.
   * Only [saved sp - red zone, top) can hold frames. */
  uintptr_t lo = (uintptr_t)c->stack_lo, hi = lo + c->stack_size;
  uintptr_t sp = loom__coro_saved_sp(c);
  uintptr_t from = sp > lo + 256 ? sp - 256 : lo;
  if (sp >= lo && sp <= hi) __asan_unpoison_memory_region((void *)from, hi - from);
#endif
#if defined(LOOM_TSAN)
  if (c->tsan_owned && c->tsan_fiber) __tsan_destroy_fiber(c->tsan_fiber);
  c->tsan_fiber = NULL;
  c->tsan_owned = false;
#endif
#if defined(LOOM__HAVE_VALGRIND)
  if (c->vg_id) VALGRIND_STACK_DEREGISTER(c->vg_id);
  c->vg_id = 0;
#endif
}

_Noreturn void loom__coro_entry_returned(loom__coro *c) {
  static const char msg[] = "loom: coroutine entry function returned (engine bug)\n";
  (void)c;
  if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more we can do */ }
  abort();
}

_Noreturn void loom__coro_main(loom__coro *c) {
#if defined(LOOM_ASAN)
  __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
  c->fn(c, c->arg);
  c->done = true;
  loom__coro *to = c->exit_to;
  if (!to) loom__coro_entry_returned(c);
#if defined(LOOM_ASAN)
  /* NULL: this fiber is finished, ASan may drop its fake stack. */
  __sanitizer_start_switch_fiber(NULL, to->stack_lo, to->stack_size);
#endif
#if defined(LOOM_TSAN)
  __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
  loom__coro_cur = to;
  loom__coro_swap(&c->regs, &to->regs);
  loom__coro_entry_returned(c); /* a done coroutine was resumed */
}

/* ---- frame-pointer walk -------------------------------------------------- */

static void print_frame(FILE *out, int i, uintptr_t pc) {
  Dl_info info;
  /* pc - 1: a return address may point past the end of its function. */
  if (dladdr((void *)(pc - 1), &info) && info.dli_sname)
    fprintf(out, "    #%d 0x%lx %s+0x%lx\n", i, (unsigned long)pc, info.dli_sname,
            (unsigned long)(pc - (uintptr_t)info.dli_saddr));
  else if (dladdr((void *)(pc - 1), &info) && info.dli_fname)
    fprintf(out, "    #%d 0x%lx (%s+0x%lx)\n", i, (unsigned long)pc, info.dli_fname,
            (unsigned long)(pc - (uintptr_t)info.dli_fbase));
  else
    fprintf(out, "    #%d 0x%lx\n", i, (unsigned long)pc);
}

/* Walk frame records {saved fp, return address} from fp while they stay
 * inside [lo, hi) and go up the stack. */
static int walk(FILE *out, int i, uintptr_t fp, uintptr_t lo, uintptr_t hi, int max) {
  while (i < max && fp && fp >= lo && fp + 16 <= hi && !(fp & 7)) {
    const uintptr_t *rec = (const uintptr_t *)fp;
    uintptr_t pc = rec[1];
    if (!pc) break;
    print_frame(out, i++, pc);
    if (rec[0] <= fp) break;
    fp = rec[0];
  }
  return i;
}

int loom__coro_backtrace(const loom__coro *c, FILE *out, int max_frames) {
  if (c->is_thread || !c->stack_lo || max_frames <= 0) return 0;
  uintptr_t lo = (uintptr_t)c->stack_lo, hi = lo + c->stack_size;
  uintptr_t sp = loom__coro_saved_sp(c);
  if (sp < lo || sp >= hi) return 0;
#if defined(__x86_64__)
  uintptr_t pc = *(const uintptr_t *)sp, fp = (uintptr_t)c->regs.rbp;
#else
  uintptr_t pc = (uintptr_t)c->regs.x[11], fp = (uintptr_t)c->regs.x[10];
#endif
  if (c->done || !pc) return 0;
  print_frame(out, 0, pc);
  return walk(out, 1, fp, sp, hi, max_frames);
}

int loom__coro_backtrace_here(FILE *out, int max_frames) {
  uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
  loom__coro *c = loom__coro_cur;
  uintptr_t lo = fp, hi = fp + ((uintptr_t)8 << 20);
  if (c && !c->is_thread && c->stack_lo) hi = (uintptr_t)c->stack_lo + c->stack_size;
  return walk(out, 0, fp, lo, hi, max_frames);
}
