/* fault.c - fault injection points and the allocation wrappers.
 *
 * Every allocation in loom goes through loom__malloc & co, and every fallible
 * system call checks loom__fault(LOOM_FAULT_SYSCALL) first.  When a test arms
 * injection, the Nth point passed (process-wide, in the armed classes) and the
 * `extra` after it fail.  Disarmed, a point costs one relaxed atomic load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

_Atomic unsigned loom__fault_mask_armed;
static _Atomic uint64_t fault_seen;     /* points passed since arming */
static _Atomic uint64_t fault_fired;    /* faults injected since arming */
static uint64_t fault_nth, fault_last;  /* written only while disarmed */

void loom_fault_arm(uint64_t nth, uint64_t extra, unsigned mask) {
  atomic_store(&loom__fault_mask_armed, 0);
  atomic_store(&fault_seen, 0);
  atomic_store(&fault_fired, 0);
  fault_nth = nth;
  fault_last = nth + extra;
  if (nth) atomic_store(&loom__fault_mask_armed, mask & LOOM_FAULT_ALL);
}

void loom_fault_disarm(void) { atomic_store(&loom__fault_mask_armed, 0); }

uint64_t loom_fault_points(void) { return atomic_load(&fault_seen); }
uint64_t loom_fault_injected(void) { return atomic_load(&fault_fired); }

bool loom__fault_slow(unsigned mask) {
  (void)mask;
  uint64_t n = atomic_fetch_add(&fault_seen, 1) + 1;
  if (n < fault_nth || n > fault_last) return false;
  atomic_fetch_add(&fault_fired, 1);
  return true;
}

void *loom__malloc(size_t n) {
  if (loom__fault(LOOM_FAULT_ALLOC)) return NULL;
  return malloc(n);
}

void *loom__calloc(size_t n, size_t size) {
  if (loom__fault(LOOM_FAULT_ALLOC)) return NULL;
  return calloc(n, size);
}

void *loom__realloc(void *p, size_t n) {
  if (loom__fault(LOOM_FAULT_ALLOC)) return NULL;
  return realloc(p, n);
}

char *loom__strdup(const char *s) {
  if (!s) return NULL;
  size_t len = strlen(s) + 1;
  char *d = loom__malloc(len);
  if (d) memcpy(d, s, len);
  return d;
}

char *loom__vasprintf(const char *fmt, va_list ap) {
  if (loom__fault(LOOM_FAULT_ALLOC)) return NULL;
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return NULL;
  return s;
}

char *loom__asprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = loom__vasprintf(fmt, ap);
  va_end(ap);
  return s;
}

void loom__free(void *p) { free(p); }
