/* lock.h - a 4-byte mutex on a futex (Drepper's three-state mutex).
 *
 * Futures and queues each carry one; a million futures cannot afford a
 * 40-byte pthread_mutex_t each, and the uncontended path is one CAS.  The
 * acquire/release atomics also give ThreadSanitizer its happens-before
 * edges (it does not see the futex itself).
 */
#ifndef LOOM_CORE_LOCK_H
#define LOOM_CORE_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct loom__lock {
  _Atomic uint32_t v; /* 0 free, 1 locked, 2 locked with waiters */
} loom__lock;

#define LOOM__LOCK_INIT {0}

/* A hint to the CPU that we are spinning. */
static inline void loom__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

void loom__lock_slow(loom__lock *l);
void loom__unlock_slow(loom__lock *l);

static inline void loom__lock_init(loom__lock *l) { atomic_init(&l->v, 0); }

static inline void loom__lock_acquire(loom__lock *l) {
  uint32_t expect = 0;
  if (__builtin_expect(atomic_compare_exchange_strong_explicit(
                           &l->v, &expect, 1, memory_order_acquire,
                           memory_order_relaxed),
                       1))
    return;
  loom__lock_slow(l);
}

static inline void loom__lock_release(loom__lock *l) {
  if (__builtin_expect(atomic_exchange_explicit(&l->v, 0, memory_order_release) == 1, 1))
    return;
  loom__unlock_slow(l);
}

#endif /* LOOM_CORE_LOCK_H */
