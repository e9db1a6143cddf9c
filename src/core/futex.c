/* futex.c - Linux futex wrappers and the futex mutex's slow paths. */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "futex.h"
#include "lock.h"

int loom__futex_wait(_Atomic uint32_t *addr, uint32_t val, int64_t deadline_ns) {
  struct timespec ts, *tp = NULL;
  if (deadline_ns != INT64_MAX) {
    ts.tv_sec = deadline_ns / 1000000000;
    ts.tv_nsec = deadline_ns % 1000000000;
    tp = &ts;
  }
  /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
   * spurious wake-up never stretches the wait. */
  long rc = syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
                    val, tp, NULL, FUTEX_BITSET_MATCH_ANY);
  return rc == 0 ? 0 : -errno;
}

void loom__futex_wake(_Atomic uint32_t *addr, int n) {
  syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, n, NULL, NULL, 0);
}

void loom__lock_slow(loom__lock *l) {
  /* Spin briefly: critical sections are a handful of instructions. */
  for (int i = 0; i < 100; i++) {
    uint32_t expect = 0;
    if (atomic_compare_exchange_weak_explicit(&l->v, &expect, 1, memory_order_acquire,
                                              memory_order_relaxed))
      return;
    loom__cpu_relax();
  }
  while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
    loom__futex_wait(&l->v, 2, INT64_MAX);
}

void loom__unlock_slow(loom__lock *l) { loom__futex_wake(&l->v, 1); }
