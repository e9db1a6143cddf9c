/* overflow.c - turn a coroutine stack overflow into a clear message.
 *
 * Every coroutine stack has a guard region below it (stack.c).  Running off
 * the end faults there with SIGSEGV - on a stack that has no room left, so
 * the handler runs on an alternate signal stack that each thread running
 * coroutines gets here.  The handler asks: is the faulting address (or the
 * stack pointer) in the guard region of the coroutine running on this
 * thread (loom__coro_cur)?  If so it prints
 *     loom: stack overflow in task '<name>' (stack size N)
 * and aborts.  Otherwise it hands the signal to whatever handler was there
 * before (ASan's, the application's, or the default action), so loom never
 * hides a real crash.
 */
#include "coro.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define ALTSTACK_SIZE ((size_t)64 * 1024)

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static struct sigaction prev_action;
static int install_err;
static pthread_key_t altstack_key;
static _Thread_local bool altstack_ready;

static uintptr_t fault_sp(void *uctx) {
  ucontext_t *uc = uctx;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#else
  return (uintptr_t)uc->uc_mcontext.sp;
#endif
}

/* Append s to buf (async-signal-safe formatting). */
static size_t put_str(char *buf, size_t at, size_t cap, const char *s) {
  while (*s && at + 1 < cap) buf[at++] = *s++;
  return at;
}

static size_t put_num(char *buf, size_t at, size_t cap, size_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < (int)sizeof tmp);
  while (n > 0 && at + 1 < cap) buf[at++] = tmp[--n];
  return at;
}

static bool is_overflow(const loom__coro *c, uintptr_t addr, uintptr_t sp) {
  if (!c || c->is_thread || !c->stack_lo) return false;
  uintptr_t lo = (uintptr_t)c->stack_lo;
  if (addr < lo && addr + LOOM__STACK_GUARD_SIZE >= lo) return true;
  /* A frame larger than the guard can jump over it; the stack pointer below
   * the stack's end still tells what happened. */
  return sp < lo && sp + ((uintptr_t)1 << 20) >= lo;
}

static void report_overflow(const loom__coro *c) {
  char buf[256];
  size_t n = put_str(buf, 0, sizeof buf, "loom: stack overflow in task '");
  if (c->name) {
    n = put_str(buf, n, sizeof buf, c->name);
  } else {
    n = put_str(buf, n, sizeof buf, "Task-");
    n = put_num(buf, n, sizeof buf, c->id);
  }
  n = put_str(buf, n, sizeof buf, "' (stack size ");
  n = put_num(buf, n, sizeof buf, c->stack_size);
  n = put_str(buf, n, sizeof buf, ")\n");
  if (write(2, buf, n) < 0) { /* nothing better to do */ }
}

static void chain(int sig, siginfo_t *si, void *uctx) {
  if (prev_action.sa_flags & SA_SIGINFO) {
    if (prev_action.sa_sigaction) prev_action.sa_sigaction(sig, si, uctx);
    return;
  }
  if (prev_action.sa_handler == SIG_DFL || prev_action.sa_handler == SIG_IGN) {
    /* Default action: restore it; a real fault re-executes and kills the
     * process with SIGSEGV, a sent signal is re-raised. */
    signal(sig, SIG_DFL);
    if (si->si_code <= 0) raise(sig);
    return;
  }
  prev_action.sa_handler(sig);
}

static void on_segv(int sig, siginfo_t *si, void *uctx) {
  loom__coro *c = loom__coro_cur;
  if (is_overflow(c, (uintptr_t)si->si_addr, fault_sp(uctx))) {
    report_overflow(c);
    signal(SIGABRT, SIG_DFL);
    abort();
  }
  chain(sig, si, uctx);
}

static void altstack_free(void *mem) {
  stack_t off = {.ss_flags = SS_DISABLE};
  sigaltstack(&off, NULL);
  munmap(mem, ALTSTACK_SIZE);
}

static void make_key(void) {
  if (pthread_key_create(&altstack_key, altstack_free) != 0) install_err = -EAGAIN;
}

/* (Re)install the handler if someone replaced it since (test frameworks and
 * applications install their own SIGSEGV handlers and restore the previous
 * one later), remembering what was there to chain to. */
static void install(void) {
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  struct sigaction cur;
  if (sigaction(SIGSEGV, NULL, &cur) == 0 &&
      !((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_segv)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    /* Valid arguments: sigaction cannot fail here, so no fault point. */
    prev_action = cur;
    sigaction(SIGSEGV, &sa, NULL);
  }
  pthread_mutex_unlock(&mu);
}

/* Give this thread an alternate signal stack unless it has one already
 * (ASan installs its own). */
static int altstack_setup(void) {
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return 0;
  void *mem = MAP_FAILED;
  if (!loom__sys_fault(ENOMEM))
    mem = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return -errno;
  stack_t ss = {.ss_sp = mem, .ss_size = ALTSTACK_SIZE, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    int err = -errno;
    munmap(mem, ALTSTACK_SIZE);
    return err;
  }
  pthread_setspecific(altstack_key, mem); /* freed when the thread exits */
  return 0;
}

int loom__coro_overflow_setup(void) {
  pthread_once(&install_once, make_key);
  if (install_err) return install_err;
  install();
  if (altstack_ready) return 0;
  int rc = altstack_setup();
  if (rc == 0) altstack_ready = true;
  return rc;
}
