/* future_alloc.c - storage for loom_future objects.
 *
 * Futures are the object loom allocates most: one per job, per task, per
 * network operation.  They come from the futures class of the slab
 * (core/slab.c: 2 MB huge-page chunks, per-thread free lists), carved into
 * 128-byte, cache-line-aligned slots: no false sharing between a future a
 * submitter is filling and one a worker is finishing.
 *
 * Under AddressSanitizer futures use loom__malloc/loom__free directly, so a
 * use after free of a future is caught however late it comes.  Either way
 * each allocation passes the ALLOC fault point.
 */
#include "../core/slab.h"
#include "future_internal.h"

#ifdef LOOM_ASAN

void *loom__future_alloc(void) { return loom__malloc(sizeof(loom_future)); }
void loom__future_free(void *p) { loom__free(p); }

#else

#define SLOT 128 /* bytes per future: two cache lines */

_Static_assert(sizeof(loom_future) <= SLOT, "loom_future outgrew its slot");

void *loom__future_alloc(void) { return loom__slab_alloc(LOOM__SLAB_FUTURE, SLOT); }
void loom__future_free(void *p) { loom__slab_free(LOOM__SLAB_FUTURE, p); }

#endif
