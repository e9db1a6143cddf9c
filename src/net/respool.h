/* respool.h - the resolver's private, bounded thread pool (an executor). */
#ifndef LOOM_NET_RESPOOL_H
#define LOOM_NET_RESPOOL_H

#include "loom/executor.h"

/* A pool of at most max_threads (>= 1) workers started on demand.
 * Destroy it with loom_executor_destroy().  Returns 0 or LOOM_ENOMEM. */
int loom__respool_create(int max_threads, loom_executor **out);

#endif
