/* stack.c - coroutine stacks: carved from large mappings, guarded, cached.
 *
 * A million live tasks must fit a machine whose vm.max_map_count is 65530,
 * so a mapping per stack (let alone two, with an mprotect'ed guard) is out.
 * Stacks are carved from slabs: one anonymous MAP_NORESERVE mapping holding
 * many [guard | stack] slots, the slab size doubling from 16 to 4096 slots,
 * so a million stacks take about 260 mappings.  Memory is committed by the
 * kernel page by page as a stack is touched, so an idle task costs the pages
 * its frames reached (usually one), not its virtual size.
 *
 * Guards: madvise(MADV_GUARD_INSTALL) (Linux 6.13+) marks the guard pages
 * inside the slab without splitting it - no extra mapping.  On older kernels
 * it fails with EINVAL and we fall back to mprotect(PROT_NONE), which splits
 * the mapping around every guard: two VMAs a stack, so a million stacks then
 * need vm.max_map_count >= ~2.1 M (docs/coroutines.md).
 *
 * Cache: freed stacks go on a LIFO free list per size class.  The first
 * HOT_MAX keep their pages (a reused stack costs nothing); beyond that the
 * pages are released with MADV_DONTNEED, RELEASE_BATCH stacks per
 * process_madvise call, and only the address space (and the guard) is kept.
 * Guards are installed GUARD_BATCH at a time the same way.  Slabs are unmapped when the pool is destroyed.
 *
 * Every carved slot counts as a live stack (LOOM_LIVE_STACKS) until the pool
 * is destroyed, cached ones included.
 */
#include "coro.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define SLAB_FIRST 16
#define SLAB_MAX 4096
#define HOT_MAX 64
#define GUARD_BATCH 128 /* guards installed per process_madvise call */
#define RELEASE_BATCH 128 /* stacks released per process_madvise call */

typedef struct slab {
  struct slab *next;
  char *base;              /* the mapping */
  size_t len;
  size_t count, carved;    /* slots in the slab, slots handed out so far */
  size_t guarded;          /* slots whose guard is installed (>= carved) */
  loom__stack descs[];     /* one descriptor per slot */
} slab;

typedef struct loom__stack_class {
  struct loom__stack_class *next;
  size_t size;             /* usable bytes per stack */
  size_t stride;           /* guard + size */
  slab *slabs;             /* newest first; only the newest has free slots */
  loom__stack *hot, *cold; /* cached stacks, LIFO */
  loom__stack *dirty;      /* beyond the hot cache, pages not released yet */
  size_t nhot, ncold, ndirty;
  size_t next_count;       /* slots in the next slab */
} stack_class;

struct loom__stack_pool {
  size_t size;             /* default usable size */
  stack_class *classes;
  size_t out;              /* stacks handed out and not put back */
};

static _Atomic int guard_mode = LOOM__GUARD_AUTO;

loom__guard_mode loom__stack_guard_mode(void) { return atomic_load(&guard_mode); }
void loom__stack_guard_mode_set(loom__guard_mode m) { atomic_store(&guard_mode, m); }

static size_t page_size(void) {
  /* Racy first use from several loops' threads is fine: all store the same
   * value; relaxed atomics make that benign race well-defined. */
  static _Atomic size_t ps;
  size_t v = atomic_load_explicit(&ps, memory_order_relaxed);
  if (!v) {
    v = (size_t)sysconf(_SC_PAGESIZE);
    atomic_store_explicit(&ps, v, memory_order_relaxed);
  }
  return v;
}

static size_t round_pages(size_t n) {
  size_t ps = page_size();
  return (n + ps - 1) / ps * ps;
}

int loom__stack_pool_create(size_t size, loom__stack_pool **out) {
  if (!out) return LOOM_EINVAL;
  loom__stack_pool *p = loom__calloc(1, sizeof *p);
  if (!p) return LOOM_ENOMEM;
  p->size = round_pages(size ? size : LOOM__STACK_DEFAULT_SIZE);
  *out = p;
  return 0;
}

size_t loom__stack_pool_size(const loom__stack_pool *p) { return p->size; }

size_t loom__stack_pool_cached(const loom__stack_pool *p, size_t *hot) {
  size_t n = 0, h = 0;
  for (const stack_class *c = p->classes; c; c = c->next) {
    n += c->nhot + c->ncold + c->ndirty;
    h += c->nhot + c->ndirty;
  }
  if (hot) *hot = h;
  return n;
}

static stack_class *class_for(loom__stack_pool *p, size_t size) {
  for (stack_class *c = p->classes; c; c = c->next)
    if (c->size == size) return c;
  stack_class *c = loom__calloc(1, sizeof *c);
  if (!c) return NULL;
  c->size = size;
  c->stride = size + round_pages(LOOM__STACK_GUARD_SIZE);
  c->next_count = SLAB_FIRST;
  c->next = p->classes;
  p->classes = c;
  return c;
}

static int new_slab(stack_class *c) {
  size_t count = c->next_count;
  slab *s = loom__malloc(sizeof *s + count * sizeof(loom__stack));
  if (!s) return LOOM_ENOMEM;
  size_t len = count * c->stride;
  void *base = MAP_FAILED;
  if (!loom__sys_fault(ENOMEM))
    base = mmap(NULL, len, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    int err = -errno;
    loom__free(s);
    return err;
  }
  s->base = base;
  s->len = len;
  s->count = count;
  s->carved = 0;
  s->guarded = 0;
  s->next = c->slabs;
  c->slabs = s;
  if (c->next_count < SLAB_MAX) c->next_count *= 2;
  return 0;
}

/* Does the guard at g really stop accesses?  Some environments accept
 * MADV_GUARD_INSTALL and ignore it (qemu-user treats unknown advice as a
 * hint).  A system call reading a guard page fails with EFAULT instead of
 * faulting, so writing one byte from it into a pipe tells, once per process. */
static bool guard_effective(const char *g) {
  int p[2];
  if (pipe(p) != 0) return true; /* cannot tell: trust the kernel */
  ssize_t n = write(p[1], g, 1);
  close(p[0]);
  close(p[1]);
  return n < 0;
}

/* Make [g, g + len) inaccessible without adding a mapping if we can. */
static int install_guard(char *g, size_t len) {
  int mode = atomic_load(&guard_mode);
  if (mode != LOOM__GUARD_MPROTECT) {
    if (loom__sys_fault(ENOMEM)) return -errno;
    if (madvise(g, len, MADV_GUARD_INSTALL) == 0) {
      if (mode == LOOM__GUARD_MADVISE) return 0;
      if (guard_effective(g)) {
        atomic_store(&guard_mode, LOOM__GUARD_MADVISE);
        return 0;
      }
      errno = EINVAL; /* accepted but ignored: use the fallback */
    }
    if (errno != EINVAL || mode == LOOM__GUARD_MADVISE) return -errno;
    atomic_store(&guard_mode, LOOM__GUARD_MPROTECT); /* kernel before 6.13 */
  }
  if (loom__sys_fault(ENOMEM)) return -errno;
  return mprotect(g, len, PROT_NONE) == 0 ? 0 : -errno;
}

/* Install the guards of the next slots of s in one system call:
 * process_madvise(MADV_GUARD_INSTALL) takes a vector of ranges (6.13+), so a
 * million stacks cost ~8,000 calls instead of a million.  Only once the
 * madvise mode is established; any failure turns batching off for good and
 * carve() falls back to one madvise per slot. */
static _Atomic bool batch_off;

static int self_pidfd(void) {
  /* The pidfd is cached with the pid it names: after fork() the child must
   * not advise its parent's memory. */
  static _Atomic long cached; /* pid << 32 | fd, 0 = none */
  long v = atomic_load(&cached);
  pid_t pid = getpid();
  if (v && (pid_t)(v >> 32) == pid) return (int)(v & 0xffffffff);
  int fd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return -1;
  long nv = ((long)pid << 32) | fd;
  if (!atomic_compare_exchange_strong(&cached, &v, nv)) {
    close(fd); /* another thread won; v now holds its value */
    return (pid_t)(v >> 32) == pid ? (int)(v & 0xffffffff) : -1;
  }
  return fd;
}

static void guard_batch(stack_class *c, slab *s) {
  if (atomic_load(&batch_off) || atomic_load(&guard_mode) != LOOM__GUARD_MADVISE) return;
  size_t n = s->count - s->guarded, guard = c->stride - c->size;
  if (n > GUARD_BATCH) n = GUARD_BATCH;
  if (n < 2) return;
  struct iovec v[GUARD_BATCH];
  for (size_t i = 0; i < n; i++) {
    v[i].iov_base = s->base + (s->guarded + i) * c->stride;
    v[i].iov_len = guard;
  }
  if (loom__sys_fault(ENOMEM)) return; /* a test's fault: per slot this time */
  int fd = self_pidfd();
  long done = fd < 0 ? -1 : syscall(SYS_process_madvise, fd, v, n, MADV_GUARD_INSTALL, 0);
  if (done == (long)(n * guard))
    s->guarded += n;
  else
    atomic_store(&batch_off, true); /* partial or refused: per slot from now */
}

static int carve(stack_class *c, loom__stack **out) {
  slab *s = c->slabs;
  if (!s || s->carved == s->count) {
    int rc = new_slab(c);
    if (rc < 0) return rc;
    s = c->slabs;
  }
  char *slot = s->base + s->carved * c->stride;
  size_t guard = c->stride - c->size;
  if (s->guarded == s->carved) guard_batch(c, s);
  if (s->guarded == s->carved) {
    int rc = install_guard(slot, guard);
    if (rc < 0) return rc;
    s->guarded++;
  }
  loom__stack *st = &s->descs[s->carved++];
  st->lo = slot + guard;
  st->size = c->size;
  st->next = NULL;
  st->cls = c;
  st->hot = false;
  loom__live_inc(LOOM_LIVE_STACKS);
  *out = st;
  return 0;
}

int loom__stack_get(loom__stack_pool *p, size_t size, loom__stack **out) {
  size = size ? round_pages(size) : p->size;
  stack_class *c = p->classes;
  if (!c || c->size != size) c = class_for(p, size);
  if (!c) return LOOM_ENOMEM;
  loom__stack *s;
  if ((s = c->hot)) {
    c->hot = s->next;
    c->nhot--;
  } else if ((s = c->dirty)) {
    c->dirty = s->next;
    c->ndirty--;
  } else if ((s = c->cold)) {
    c->cold = s->next;
    c->ncold--;
  } else {
    int rc = carve(c, &s);
    if (rc < 0) return rc;
  }
  s->next = NULL;
  p->out++;
  *out = s;
  return 0;
}

static void push(loom__stack **list, size_t *n, loom__stack *s) {
  s->next = *list;
  *list = s;
  (*n)++;
}

/* Release the pages of every dirty stack and move them to the cold list:
 * one process_madvise(MADV_DONTNEED) for the batch, or one madvise each if
 * that is refused.  A stack whose release fails (or that a test makes fail)
 * stays resident, on the hot list. */
static void release_dirty(stack_class *c) {
  struct iovec v[RELEASE_BATCH];
  size_t n = 0;
  for (loom__stack *s = c->dirty; s && n < RELEASE_BATCH; s = s->next, n++) {
    v[n].iov_base = s->lo;
    v[n].iov_len = s->size;
  }
  bool batched = false;
  if (!atomic_load(&batch_off) && !loom__sys_fault(ENOMEM)) {
    int fd = self_pidfd();
    long done = fd < 0 ? -1 : syscall(SYS_process_madvise, fd, v, n, MADV_DONTNEED, 0);
    batched = done == (long)(n * c->size);
    if (!batched) atomic_store(&batch_off, true);
  }
  while (c->dirty) {
    loom__stack *s = c->dirty;
    c->dirty = s->next;
    c->ndirty--;
    if (batched || (!loom__sys_fault(ENOMEM) && madvise(s->lo, s->size, MADV_DONTNEED) == 0)) {
      s->hot = false;
      push(&c->cold, &c->ncold, s);
    } else {
      push(&c->hot, &c->nhot, s);
    }
  }
}

void loom__stack_put(loom__stack_pool *p, loom__stack *s) {
  stack_class *c = s->cls;
  p->out--;
  s->hot = true;
  if (c->nhot < HOT_MAX) {
    push(&c->hot, &c->nhot, s);
    return;
  }
  /* Beyond the hot cache the pages go back to the kernel, a batch at a time
   * (until then the stack is still reusable as is). */
  push(&c->dirty, &c->ndirty, s);
  if (c->ndirty >= RELEASE_BATCH) release_dirty(c);
}

void loom__stack_pool_destroy(loom__stack_pool *p) {
  if (!p) return;
  if (p->out)
    loom__report("stack pool destroyed with %zu stacks still in use", p->out);
  stack_class *c = p->classes;
  while (c) {
    stack_class *cn = c->next;
    slab *s = c->slabs;
    while (s) {
      slab *sn = s->next;
      for (size_t i = 0; i < s->carved; i++) loom__live_dec(LOOM_LIVE_STACKS);
      munmap(s->base, s->len);
      loom__free(s);
      s = sn;
    }
    loom__free(c);
    c = cn;
  }
  loom__free(p);
}
