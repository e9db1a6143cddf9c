/* sync_internal.h - what the condition variable needs from the lock. */
#ifndef LOOM_THREADS_SYNC_INTERNAL_H
#define LOOM_THREADS_SYNC_INTERNAL_H

#include "loom/sync.h"

#include "wlist.h"

/* Release l completely (a recursive lock at any depth) on behalf of the
 * caller, who must own it; *depth gets the depth to restore.
 * Returns 0 or LOOM_EPERM. */
int loom__lock_release_all(loom_lock *l, unsigned *depth);

/* Acquire l without time limit and restore `depth`.  Returns 0 or
 * LOOM_ECANCELLED (a cancelled task: the lock is NOT held then). */
int loom__lock_acquire_depth(loom_lock *l, unsigned depth);

#endif
