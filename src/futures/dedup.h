#ifndef LOOM_FUTURES_DEDUP_H
#define LOOM_FUTURES_DEDUP_H
#include "future_internal.h"
/* *out gets a new array (free with loom__free) of the *m distinct futures of
 * fs, in order of first appearance.  Returns 0, LOOM_EINVAL (a NULL entry),
 * LOOM_ENOMEM. */
int loom__dedup(loom_future *const *fs, size_t n, loom_future ***out, size_t *m);
#endif
