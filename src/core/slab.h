/* slab.h - fixed-size object storage for the objects loom allocates most
 * (futures, tasks), with per-thread free lists and huge-page chunks.
 *
 * Each class has one slot size.  Slots come from 2 MB chunks advised to use
 * transparent huge pages, so a million objects cost a few hundred page
 * faults instead of tens of thousands.  A free slot goes to the freeing
 * thread's own list (no lock); a thread with too many hands half to the
 * class's global list, one that runs dry takes a batch back.  Slots may be
 * freed on any thread, after the thread or loop that allocated them is gone:
 * the storage is process-wide and chunks live as long as the process.
 *
 * Under AddressSanitizer a class either bypasses the slab (plain
 * loom__malloc/loom__free, so ASan's quarantine catches every use after
 * free) or keeps it and poisons free slots (so the slab's own reuse path is
 * exercised by the sanitized tests, and a use of a freed slot is still
 * caught until the slot is handed out again).
 */
#ifndef LOOM_CORE_SLAB_H
#define LOOM_CORE_SLAB_H

#include <stddef.h>

enum {
  LOOM__SLAB_FUTURE, /* loom_future (future_alloc.c); malloc under ASan */
  LOOM__SLAB_TASK,   /* loom__task (src/task); poisoned slab under ASan */
  LOOM__SLAB__COUNT
};

/* A slot of class `cls` (at least `size` bytes, 64-byte aligned), or NULL
 * when memory is exhausted or the ALLOC fault point fires.  `size` must be
 * the same on every call for a class and at most 1 KB.  Free it with
 * loom__slab_free on any thread. */
void *loom__slab_alloc(int cls, size_t size);

/* Give back a slot of class `cls` (NULL is ignored). */
void loom__slab_free(int cls, void *p);

#endif /* LOOM_CORE_SLAB_H */
