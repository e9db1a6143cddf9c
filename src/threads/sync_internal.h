/* sync_internal.h - what the condition variable needs from the lock, and
 * test hooks that count parked waiters. */
#ifndef LOOM_THREADS_SYNC_INTERNAL_H
#define LOOM_THREADS_SYNC_INTERNAL_H

#include "loom/queue.h"
#include "loom/sync.h"

#include "wlist.h"

/* Release l completely (a recursive lock at any depth) on behalf of the
 * caller, who must own it; *depth gets the depth to restore.
 * Returns 0 or LOOM_EPERM. */
int loom__lock_release_all(loom_lock *l, unsigned *depth);

/* Acquire l without time limit and restore `depth`.  Returns 0 or
 * LOOM_ECANCELLED (a cancelled task: the lock is NOT held then). */
int loom__lock_acquire_depth(loom_lock *l, unsigned depth);

/* Test hooks: how many waiters are parked (linked) right now. */
size_t loom__lock_n_waiters(loom_lock *l);
size_t loom__sem_n_waiters(loom_sem *s);
size_t loom__event_n_waiters(loom_event *e);
size_t loom__cond_n_waiters(loom_cond *c);
size_t loom__queue_n_waiters(loom_queue *q, int which); /* 0 getters, 1 putters, 2 joiners */

/* Test hook: the queue's internal lock (to look at its bias). */
loom__block *loom__queue_mu(loom_queue *q);

#endif
