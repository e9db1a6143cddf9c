/* dedup.c - distinct futures of an input array, in order of first
 * appearance, in O(n) with an open-addressing pointer set.  wait() and
 * as_completed() treat their input as a set, as Python does. */
#include "dedup.h"

static size_t hash_ptr(const void *p) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (size_t)x;
}

int loom__dedup(loom_future *const *fs, size_t n, loom_future ***out, size_t *m) {
  *out = NULL;
  *m = 0;
  if (n && !fs) return LOOM_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!fs[i]) return LOOM_EINVAL;
  loom_future **u = loom__malloc((n ? n : 1) * sizeof *u);
  if (!u) return LOOM_ENOMEM;
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  loom_future **set = loom__calloc(cap, sizeof *set);
  if (!set) {
    loom__free(u);
    return LOOM_ENOMEM;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t h = hash_ptr(fs[i]) & (cap - 1);
    while (set[h] && set[h] != fs[i]) h = (h + 1) & (cap - 1);
    if (set[h]) continue;
    set[h] = fs[i];
    u[k++] = fs[i];
  }
  loom__free(set);
  *out = u;
  *m = k;
  return 0;
}
