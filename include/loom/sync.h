/* loom/sync.h - Lock, RLock, Event, Condition, Semaphore, BoundedSemaphore,
 * Barrier: Python's threading (and asyncio) synchronisation primitives.
 *
 * Every object here works between plain threads *and* coroutine tasks: a
 * thread that waits blocks, a task that waits suspends only itself (loom's
 * waiter decides).  So one loom_event or loom_lock can be shared by threads
 * and tasks alike, which Python needs two libraries for.
 *
 * Common rules:
 *  - Timeouts are in seconds (double); LOOM_FOREVER (any negative value)
 *    waits without limit; 0 polls without blocking.
 *  - Wake-ups are FIFO-fair: waiters are served in arrival order, and a
 *    resource (lock, permit) is handed directly to the next waiter, so a
 *    newcomer cannot barge past someone who has been waiting.
 *  - A waiting task that is cancelled returns LOOM_ECANCELLED; a waiter that
 *    times out returns LOOM_ETIMEDOUT.  Either way the primitive stays
 *    consistent: whatever it was about to hand over goes to the next waiter.
 *  - create() gives the caller the object; destroy() frees it and returns
 *    LOOM_EBUSY (freeing nothing) while someone is still waiting on it.
 *    destroy(NULL) returns 0.
 *  - Every function may be called from any thread.
 */
#ifndef LOOM_SYNC_H
#define LOOM_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Lock and RLock ------------------------------------------------------ */

typedef struct loom_lock loom_lock;

/* Create an unlocked, non-recursive lock (threading.Lock / asyncio.Lock).
 * Returns 0, LOOM_EINVAL (out NULL), LOOM_ENOMEM. */
int loom_lock_create(loom_lock **out);

/* Create a recursive lock (threading.RLock): its owner may acquire it again,
 * and must release it as many times.  Same returns as loom_lock_create. */
int loom_rlock_create(loom_lock **out);

/* Free a lock.  Returns 0, or LOOM_EBUSY if it is held or waited on. */
int loom_lock_destroy(loom_lock *l);

/* Acquire, waiting up to `timeout` seconds.  The owner is the calling thread,
 * or the calling task inside a coroutine.
 * Returns 0 (acquired), LOOM_ETIMEDOUT (not acquired in time; timeout 0
 * means "try once"), LOOM_EDEADLOCK (a non-recursive lock already held by
 * the caller), LOOM_ECANCELLED (the waiting task was cancelled),
 * LOOM_EINVAL (l NULL). */
int loom_lock_acquire(loom_lock *l, double timeout);

/* Release.  Returns 0, LOOM_EPERM if the caller does not own the lock
 * (Python's RuntimeError), LOOM_EINVAL (l NULL). */
int loom_lock_release(loom_lock *l);

/* True if someone holds the lock. */
bool loom_lock_locked(const loom_lock *l);

/* True if the calling thread/task holds the lock. */
bool loom_lock_owned(const loom_lock *l);

/* ---- Event ------------------------------------------------------------- */

typedef struct loom_event loom_event;

/* Create a cleared event. Returns 0, LOOM_EINVAL, LOOM_ENOMEM. */
int loom_event_create(loom_event **out);

/* Free. Returns 0 or LOOM_EBUSY while someone waits. */
int loom_event_destroy(loom_event *e);

/* Set the flag and wake every waiter. Returns 0 or LOOM_EINVAL. */
int loom_event_set(loom_event *e);

/* Clear the flag. Returns 0 or LOOM_EINVAL. */
int loom_event_clear(loom_event *e);

/* The flag. */
bool loom_event_is_set(const loom_event *e);

/* Wait until the flag is set.  A waiter woken by set() returns 0 even if the
 * flag was cleared again before it ran (as in Python).
 * Returns 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_EINVAL. */
int loom_event_wait(loom_event *e, double timeout);

/* ---- Condition --------------------------------------------------------- */

typedef struct loom_cond loom_cond;

/* Create a condition variable over `lock` (borrowed: it must outlive the
 * condition), or over a lock of its own when `lock` is NULL (see
 * loom_cond_lock).  Returns 0, LOOM_EINVAL, LOOM_ENOMEM. */
int loom_cond_create(loom_cond **out, loom_lock *lock);

/* Free (and its own lock, if it created one).  Returns 0 or LOOM_EBUSY while
 * someone waits. */
int loom_cond_destroy(loom_cond *c);

/* The condition's lock (borrowed, owned by the condition or by the caller
 * who gave it): acquire and release it with loom_lock_acquire/release. */
loom_lock *loom_cond_lock(loom_cond *c);

/* Release the lock, wait for a notify, reacquire the lock (always, even on
 * timeout or cancellation: the caller holds the lock again when this
 * returns, unless it returns LOOM_EPERM).  A recursive lock is fully
 * released and its depth restored.
 * Returns 0 (notified), LOOM_ETIMEDOUT, LOOM_ECANCELLED (a task cancelled
 * while waiting; a notification it had received is passed on to another
 * waiter), LOOM_EPERM (caller does not hold the lock), LOOM_EINVAL. */
int loom_cond_wait(loom_cond *c, double timeout);

/* A predicate for wait_for: return true when the awaited state holds.
 * Called with the lock held. */
typedef bool (*loom_predicate)(void *arg);

/* Wait until pred(arg) is true, re-checking after every notify, for at most
 * `timeout` seconds overall (Python's wait_for).  The lock is held on return.
 * Returns 0 (the predicate is true), LOOM_ETIMEDOUT (still false at the
 * deadline), LOOM_ECANCELLED, LOOM_EPERM, LOOM_EINVAL. */
int loom_cond_wait_for(loom_cond *c, loom_predicate pred, void *arg, double timeout);

/* Wake up to n waiters (in arrival order).  The caller must hold the lock.
 * Returns the number woken (>= 0), LOOM_EPERM, LOOM_EINVAL. */
int loom_cond_notify(loom_cond *c, int n);

/* Wake every waiter.  Returns the number woken, LOOM_EPERM, LOOM_EINVAL. */
int loom_cond_notify_all(loom_cond *c);

/* ---- Semaphore and BoundedSemaphore ------------------------------------ */

typedef struct loom_sem loom_sem;

/* A semaphore with `value` initial permits (value >= 0).
 * Returns 0, LOOM_EINVAL (out NULL or value < 0), LOOM_ENOMEM. */
int loom_sem_create(loom_sem **out, long value);

/* A bounded semaphore: releasing beyond the initial value is an error
 * (LOOM_EOVERFLOW, Python's ValueError). Same returns as loom_sem_create. */
int loom_bounded_sem_create(loom_sem **out, long value);

/* Free. Returns 0 or LOOM_EBUSY while someone waits. */
int loom_sem_destroy(loom_sem *s);

/* Take a permit, waiting up to `timeout` seconds.
 * Returns 0, LOOM_ETIMEDOUT (timeout 0: none free now), LOOM_ECANCELLED,
 * LOOM_EINVAL. */
int loom_sem_acquire(loom_sem *s, double timeout);

/* Give back n permits (n >= 1), each handed to the longest waiter if any.
 * Returns 0, LOOM_EOVERFLOW (bounded semaphore: would exceed the initial
 * value; nothing is released), LOOM_EINVAL (n < 1). */
int loom_sem_release(loom_sem *s, long n);

/* Free permits now (0 while anyone waits). */
long loom_sem_value(const loom_sem *s);

/* ---- Barrier ----------------------------------------------------------- */

typedef struct loom_barrier loom_barrier;

/* Run by the last party to arrive, before the others are released.  A
 * negative return breaks the barrier: that party's wait returns the code and
 * the others get LOOM_EBROKENBARRIER (Python: the action's exception). */
typedef int (*loom_barrier_action)(void *arg);

/* A barrier for `parties` (>= 1) threads or tasks; `action` may be NULL.
 * Returns 0, LOOM_EINVAL, LOOM_ENOMEM. */
int loom_barrier_create(loom_barrier **out, int parties, loom_barrier_action action,
                        void *arg);

/* Free. Returns 0 or LOOM_EBUSY while someone waits. */
int loom_barrier_destroy(loom_barrier *b);

/* Wait until `parties` callers have arrived.  Returns the caller's arrival
 * index in 0..parties-1 (exactly one caller gets each index per cycle; the
 * last to arrive, parties-1, runs the action); or
 *   LOOM_EBROKENBARRIER  the barrier is (or became) broken: abort, reset
 *                        while waiting, another waiter timed out, the action
 *                        failed;
 *   LOOM_ETIMEDOUT       this caller timed out: as in Python, that breaks
 *                        the barrier for everyone;
 *   LOOM_ECANCELLED      this task was cancelled: it leaves the barrier
 *                        (which is not broken; its place is free again);
 *   the action's code    the action failed in this caller;
 *   LOOM_EINVAL. */
int loom_barrier_wait(loom_barrier *b, double timeout);

/* Put the barrier into the broken state: current and future waiters get
 * LOOM_EBROKENBARRIER until reset.  Returns 0 or LOOM_EINVAL. */
int loom_barrier_abort(loom_barrier *b);

/* Return to the empty, unbroken state; current waiters get
 * LOOM_EBROKENBARRIER.  Returns 0 or LOOM_EINVAL. */
int loom_barrier_reset(loom_barrier *b);

int loom_barrier_parties(const loom_barrier *b);
/* Callers waiting in the current cycle. */
int loom_barrier_n_waiting(const loom_barrier *b);
bool loom_barrier_broken(const loom_barrier *b);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_SYNC_H */
