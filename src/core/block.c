/* block.c - the slow paths of the biased lock (block.h): whether biasing
 * is possible (membarrier registration, once per process), biasing a lock
 * and revoking a bias.
 */
#include "block.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef LOOM__BLOCK_TP
_Thread_local char loom__block_tok;
#endif

_Atomic unsigned long loom__block_revocations_started;
_Atomic unsigned long loom__block_revocations_done;

/* 0 not decided yet, 1 biasing allowed, -1 never (no membarrier, or
 * switched off).  The registration is inherited by fork()ed children. */
static _Atomic int mode;

static long sys_membarrier(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }

/* Can this process use the private expedited barrier?  Registers it. */
static bool register_membarrier(void) {
  if (loom__sys_fault(ENOSYS)) return false;
  long cmds = sys_membarrier(MEMBARRIER_CMD_QUERY);
  if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
  return sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

static int decide(void) {
  const char *env = getenv("LOOM_NO_BIAS");
  bool off = env && *env && *env != '0';
  int m = !off && register_membarrier() ? 1 : -1;
  /* Two threads deciding at once register twice: harmless (idempotent). */
  int expect = 0;
  atomic_compare_exchange_strong(&mode, &expect, m);
  return atomic_load(&mode);
}

bool loom__block_biasing(void) {
  int m = atomic_load_explicit(&mode, memory_order_acquire);
  if (LOOM__UNLIKELY(m == 0)) m = decide();
  return m > 0;
}

void loom__block_set_biasing(bool on) {
  if (!on) {
    atomic_store(&mode, -1);
    return;
  }
  atomic_store(&mode, register_membarrier() ? 1 : -1);
}

void loom__block_redecide(void) { atomic_store(&mode, 0); }

void loom__block_bias(loom__block *b, uintptr_t me) {
  /* Published by our release of `real`: the next real acquirer sees it.
   * Biasing off: this lock stays a plain futex lock for good and stops
   * counting (REVOKED), so it costs nothing more. */
  atomic_store_explicit(&b->owner, loom__block_biasing() ? me : LOOM__BLOCK_REVOKED,
                        memory_order_relaxed);
}

/* Make the owner's `inside` store visible, or its next load of `owner`
 * return REVOKED: a full barrier on every running thread of ours. */
static void heavy_barrier(void) {
  if (sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
  /* Only a registered process can bias, and the registration survives
   * fork(); should it still be refused, register again, then fall back to
   * the slow global barrier.  Without a barrier two threads could hold the
   * lock at once: stop rather than corrupt. */
  if (errno == EPERM && sys_membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
      sys_membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
    return;
  if (sys_membarrier(MEMBARRIER_CMD_GLOBAL) == 0) return;
  loom__report("biased lock: membarrier failed (%s) after it was registered; "
               "cannot revoke a bias safely",
               strerror(errno));
  abort();
}

void loom__block_recursive(loom__block *b) {
  loom__report("internal lock %p taken twice by one thread", (void *)b);
  abort();
}

void loom__block_revoke(loom__block *b) {
  atomic_fetch_add(&loom__block_revocations_started, 1);
  atomic_store_explicit(&b->owner, LOOM__BLOCK_REVOKED, memory_order_seq_cst);
  heavy_barrier();
  /* The owner leaves its critical section soon: it never blocks inside. */
  for (unsigned spins = 0;
       atomic_load_explicit(&b->inside, LOOM__BLOCK_LOAD_MO);
       spins++) {
    if (spins < 256)
      loom__cpu_relax();
    else
      sched_yield();
  }
  atomic_fetch_add(&loom__block_revocations_done, 1);
}
