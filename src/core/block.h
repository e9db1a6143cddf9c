/* block.h - a biased lock: the futex lock (lock.h) that a lock used by one
 * thread only hands to that thread with no atomic read-modify-write at all.
 *
 * Why: a queue, lock, event... of src/threads that two tasks of one loop
 * share is only ever taken by the thread driving that loop, yet each
 * acquire/release pair of the futex lock costs a CAS and an XCHG (some 10 ns
 * of a 50 ns task-to-task hop).  Futures keep the plain futex lock: a pool's
 * future is touched by two threads, so a bias would only be revoked.
 *
 * How (an asymmetric Dekker handshake, as in biased locking of JVMs):
 *  - The lock starts unbiased: `real`, the futex lock, is the lock.  Under
 *    it we count acquisitions by the same thread in a row; after
 *    LOOM__BLOCK_BIAS_AFTER of them the lock is biased to that thread
 *    (`owner` = its token), if the process could register for
 *    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED).
 *  - The owner acquires with a plain store `inside = 1`, a compiler barrier
 *    and a load of `owner`: still its own, it holds the lock (no fence, no
 *    RMW).  It releases with a store-release `inside = 0`.
 *  - Any other thread takes `real`; if the lock is biased to someone else it
 *    revokes the bias for good: `owner = REVOKED`, membarrier() (a full
 *    barrier on every running thread of the process: either the owner's
 *    `inside = 1` is now visible, or its next load of `owner` sees REVOKED),
 *    then waits until `inside == 0` (the owner's critical section is short;
 *    a plain thread waiting for an event released the lock first, so it is
 *    never waited on).  From then on everyone, the old owner too, takes
 *    `real`: a revoked lock is never biased again (re-biasing would let the
 *    old owner's stale `inside` store clobber a new owner's).  The cost of a
 *    mistake is bounded: at most one membarrier per lock.
 *  - Under ThreadSanitizer (which does not model membarrier) the two sides of
 *    the handshake are seq_cst atomics, a correct Dekker pair on their own,
 *    so the bias code still runs and is checked.
 *
 * Switch-off: LOOM_NO_BIAS=1 in the environment (read once) or
 * loom__block_set_biasing(false) means never bias; so does a kernel without
 * membarrier (or a seccomp filter refusing it).
 *
 * Rules: a holder never suspends, blocks or migrates to another thread while
 * holding (every user drops it before parking); signal handlers never take
 * one; holding one recursively is a bug (as for the futex lock).
 *
 * Corner cases, and why they are safe (reviewed; keep them so):
 *  - `held_biased` is one flag per lock, not per thread: only the holder
 *    sets it (after a biased acquire) and clears it (before `inside = 0`);
 *    the next holder reads it in its own release, after it saw `inside == 0`
 *    (acquire) or took `real`.  There is never a second holder to share it.
 *    It cannot be derived from `inside`: an old owner that has not yet seen
 *    the revocation sets `inside = 1` for a moment before stepping out, so a
 *    holder through `real` could read 1 and skip releasing `real`.
 *  - A revoker waits only for a critical section of the owner.  No user
 *    parks, blocks or calls out while holding, except a priority queue's
 *    comparator (documented in loom/queue.h: quick, never waits).  A task
 *    switched out while holding would deadlock the futex lock as well (the
 *    next task of its thread waits for itself); here debug builds abort.
 *  - fork(): the child's one thread has the forking thread's token, so
 *    locks biased to it stay biased; a lock biased to another parent thread
 *    is revoked by the child's first use (that thread's `inside` is 0 unless
 *    it forked inside a critical section, which the futex lock does not
 *    survive either); heavy_barrier re-registers if the child must.
 *  - Loops driven by one thread then another, tasks woken from other loops:
 *    the token is the thread's, not the task's or the loop's, so a second
 *    thread revokes as any thread does.
 */
#ifndef LOOM_CORE_BLOCK_H
#define LOOM_CORE_BLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "lock.h"

/* Acquisitions in a row by one thread before the lock is biased to it.  A
 * revocation costs one membarrier (a few microseconds: an interrupt to each
 * CPU running a thread of ours) and happens at most once per lock; a biased
 * acquire/release saves two atomic RMWs (~10-20 ns).  128 makes a lock that
 * two threads really share (a producer/consumer queue) pay at most a few ns
 * per acquisition for the one mistaken bias, while a lock that one loop owns
 * is biased within its first microseconds of use. */
#define LOOM__BLOCK_BIAS_AFTER 128u

#define LOOM__BLOCK_REVOKED ((uintptr_t)1) /* no thread token is 1 */

typedef struct loom__block {
  loom__lock real;          /* the lock itself, until biased and once revoked */
  _Atomic uint32_t inside;  /* the owner is in (or entering) a critical section */
  _Atomic uintptr_t owner;  /* 0 unbiased, a thread token, or REVOKED */
  uintptr_t last;           /* under real: token of the latest real acquirer */
  uint32_t run;             /* under real: its acquisitions in a row */
  bool held_biased;         /* under the lock: the holder holds through the bias */
} loom__block;

/* The calling thread's token: the thread pointer (the address of its TLS
 * block, one instruction) - unique among live threads, never 0 or 1.  A
 * token reused by a new thread after the old one exited takes over its
 * bias, which is harmless: the old one holds nothing any more. */
#if (defined(__x86_64__) || defined(__aarch64__)) && defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
#define LOOM__BLOCK_TP 1
#endif
#endif
#ifdef LOOM__BLOCK_TP
static inline uintptr_t loom__block_self(void) { return (uintptr_t)__builtin_thread_pointer(); }
#else
extern _Thread_local char loom__block_tok;
static inline uintptr_t loom__block_self(void) { return (uintptr_t)&loom__block_tok; }
#endif

/* The owner's side of the handshake: a plain store and load, ordered by the
 * membarrier of a revoker; under TSan, seq_cst atomics instead. */
#ifdef LOOM_TSAN
#define LOOM__BLOCK_STORE_MO memory_order_seq_cst
#define LOOM__BLOCK_LOAD_MO memory_order_seq_cst
#else
#define LOOM__BLOCK_STORE_MO memory_order_relaxed
#define LOOM__BLOCK_LOAD_MO memory_order_acquire /* the critical section after it */
#endif

static inline void loom__block_init(loom__block *b) {
  loom__lock_init(&b->real);
  atomic_init(&b->inside, 0);
  atomic_init(&b->owner, 0);
  b->last = 0;
  b->run = 0;
  b->held_biased = false;
}

/* Slow paths (block.c): bias the lock to `me` / revoke someone else's bias.
 * `real` held. */
void loom__block_bias(loom__block *b, uintptr_t me);
void loom__block_revoke(loom__block *b);
/* A thread took a lock biased to it twice: report and abort (debug builds). */
void loom__block_recursive(loom__block *b) __attribute__((noreturn, cold));

/* Under `real`: count `me`'s acquisitions in a row, or revoke. */
static inline void loom__block_note(loom__block *b, uintptr_t me) {
  uintptr_t o = atomic_load_explicit(&b->owner, memory_order_relaxed);
  if (LOOM__LIKELY(o == LOOM__BLOCK_REVOKED)) return;
  if (o != 0) {
    /* Biased to another thread: revoke.  (The owner never gets here while
     * biased: its own acquisitions take the fast path.) */
    if (o != me) loom__block_revoke(b);
    return;
  }
  if (b->last != me) {
    b->last = me;
    b->run = 1;
  } else if (++b->run >= LOOM__BLOCK_BIAS_AFTER) {
    loom__block_bias(b, me);
  }
}

static inline void loom__block_acquire(loom__block *b) {
  uintptr_t me = loom__block_self();
  if (LOOM__LIKELY(atomic_load_explicit(&b->owner, memory_order_relaxed) == me)) {
#ifndef NDEBUG
    /* Only we write `inside`, and leave it 0: 1 means we hold it already. */
    if (LOOM__UNLIKELY(atomic_load_explicit(&b->inside, memory_order_relaxed)))
      loom__block_recursive(b);
#endif
    atomic_store_explicit(&b->inside, 1, LOOM__BLOCK_STORE_MO);
    atomic_signal_fence(memory_order_seq_cst); /* the store before the load */
    if (LOOM__LIKELY(atomic_load_explicit(&b->owner, LOOM__BLOCK_LOAD_MO) == me)) {
      b->held_biased = true;
      return;
    }
    /* Revoked meanwhile: step out (the revoker waits for this) and queue
     * for the real lock, which the revoker holds. */
    atomic_store_explicit(&b->inside, 0, memory_order_release);
  }
  loom__lock_acquire(&b->real);
  loom__block_note(b, me);
}

static inline void loom__block_release(loom__block *b) {
  if (b->held_biased) {
    b->held_biased = false;
    atomic_store_explicit(&b->inside, 0, memory_order_release);
    return;
  }
  loom__lock_release(&b->real);
}

/* True if the lock is biased to some thread right now (tests). */
static inline bool loom__block_biased(const loom__block *b) {
  uintptr_t o = atomic_load_explicit(&b->owner, memory_order_acquire);
  return o != 0 && o != LOOM__BLOCK_REVOKED;
}

/* True once the lock's bias was revoked, or once it reached the threshold
 * while biasing was off: a plain futex lock for good (tests). */
static inline bool loom__block_revoked(const loom__block *b) {
  return atomic_load_explicit(&b->owner, memory_order_acquire) == LOOM__BLOCK_REVOKED;
}

/* Switch biasing on or off for locks not yet biased (tests, and users who
 * prefer no membarrier ever: LOOM_NO_BIAS=1 does the same at start-up).  On
 * still needs a kernel with membarrier.  Locks already biased keep their
 * bias until revoked; locks that reached the threshold while it was off
 * stay plain futex locks. */
void loom__block_set_biasing(bool on);

/* True if locks may be biased (membarrier registered, not switched off). */
bool loom__block_biasing(void);

/* Test hook: forget the decision, so the next bias reads LOOM_NO_BIAS and
 * registers again. */
void loom__block_redecide(void);

/* Test hooks: revocations started and finished since the process started. */
extern _Atomic unsigned long loom__block_revocations_started;
extern _Atomic unsigned long loom__block_revocations_done;

#endif /* LOOM_CORE_BLOCK_H */
