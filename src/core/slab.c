/* slab.c - fixed-size slots for futures and tasks (see slab.h).
 *
 * Why: a program that spawns a million tasks or submits 200,000 jobs would
 * otherwise touch hundreds of MB of fresh malloc heap one 4 KB page at a
 * time, and on a virtual machine each page fault costs more than the rest of
 * the object's life.  Chunks of 2 MB advised MADV_HUGEPAGE fault once each
 * when the kernel has a huge page free.
 *
 * Per class: a global free list and the chunk being carved, under one
 * process-wide mutex (only taken to move a batch); per thread and class: a
 * free list with its length.  A thread that exits returns its lists.
 * Chunks are kept for the life of the process (reachable from g_chunks, so
 * leak checkers see them).
 *
 * A thread that runs dry with nothing on the global list takes a run of
 * fresh slots that it hands out by bumping a pointer (a thread submitting
 * 200,000 jobs mostly allocates fresh slots: no list to thread through
 * them).  Each chunk is faulted in by one madvise(MADV_POPULATE_WRITE), far
 * cheaper than a fault per page.  Huge pages are dropped for good once a
 * chunk was slow to fault in: virtual machines that hand free huge pages
 * back to their host (free page reporting) make a fresh huge page cost the
 * host's page faults, several milliseconds at random (W3 then ran at 2-3 M
 * futures/s instead of 19 M, W2 stalled up to 0.5 s); ordinary pages cost a
 * steady, moderate amount.
 */
#include "slab.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"

#ifdef LOOM_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CHUNK (2u << 20) /* one transparent huge page */
#define BATCH 64         /* slots moved between a thread and the global list */
#define LOCAL_MAX 512    /* a thread keeps at most this many free slots per class */
#define SLOT_MAX 1024
#define RUN 256          /* fresh slots a thread carves at once */
/* Faulting in a huge page takes about 0.1-0.3 ms where the memory is really
 * there; several ms means the host is backing it page by page, and the next
 * chunks will be as slow: ordinary pages are the better deal from then on. */
#define HUGE_SLOW_NS 1500000

typedef struct slot {
  struct slot *next;
} slot;

typedef struct klass {
  size_t size;        /* slot bytes, a multiple of 64; set by the first alloc */
  slot *free;         /* slots returned by threads */
  char *bump, *end;   /* the chunk being carved */
} klass;

typedef struct tlist {
  slot *free;
  int count;
  char *bump, *end; /* a run of fresh slots, not yet on any list */
} tlist;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* guards g_* */
static klass g_cls[LOOM__SLAB__COUNT];
static void *g_chunks; /* every chunk, linked through its first word */
static bool g_huge_ok = true; /* ask for huge pages: they have been fast */

static _Thread_local tlist t_lists[LOOM__SLAB__COUNT];
static _Thread_local bool t_registered;
static pthread_key_t t_key;
static pthread_once_t t_once = PTHREAD_ONCE_INIT;

/* A free slot is poisoned under ASan; its link word is read and written
 * through these, which lift the poison for that one word. */
static inline slot *next_of(slot *s) {
  UNPOISON(s, sizeof *s);
  slot *n = s->next;
  POISON(s, sizeof *s);
  return n;
}

static inline void set_next(slot *s, slot *n) {
  UNPOISON(s, sizeof *s);
  s->next = n;
  POISON(s, sizeof *s);
}

/* Hand `n` slots of the thread's list of `cls` to the global list. */
static void give_back(int cls, int n) {
  tlist *tl = &t_lists[cls];
  if (n <= 0) return;
  slot *first = tl->free, *last = first;
  for (int i = 1; i < n; i++) last = next_of(last);
  tl->free = next_of(last);
  tl->count -= n;
  pthread_mutex_lock(&g_mu);
  set_next(last, g_cls[cls].free);
  g_cls[cls].free = first;
  pthread_mutex_unlock(&g_mu);
}

static void thread_exit(void *unused) {
  (void)unused;
  for (int c = 0; c < LOOM__SLAB__COUNT; c++) {
    tlist *tl = &t_lists[c];
    for (; tl->bump != tl->end; tl->bump += g_cls[c].size) { /* the unused run */
      slot *s = (slot *)tl->bump;
      set_next(s, tl->free);
      tl->free = s;
      tl->count++;
    }
    give_back(c, tl->count);
  }
}

/* A process forked while another thread held g_mu must not inherit it
 * locked (process pools fork). */
static void fork_prepare(void) { pthread_mutex_lock(&g_mu); }
static void fork_release(void) { pthread_mutex_unlock(&g_mu); }

static void init_once(void) {
  pthread_key_create(&t_key, thread_exit);
  pthread_atfork(fork_prepare, fork_release, fork_release);
}

static void register_thread(void) {
  pthread_once(&t_once, init_once);
  pthread_setspecific(t_key, (void *)1); /* so thread_exit runs */
  t_registered = true;
}

/* The real clock (loom_now_ns() may be a loop's virtual one). */
static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* g_mu held.  Start a new chunk for k; false if memory is exhausted. */
static bool new_chunk(klass *k) {
  char *raw = loom__malloc(2 * (size_t)CHUNK); /* mapped, not touched */
  if (!raw) return false;
  uintptr_t a = ((uintptr_t)raw + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
  if (g_huge_ok) madvise((void *)a, CHUNK, MADV_HUGEPAGE); /* hints: failures */
  int64_t t0 = mono_ns();                                   /* are harmless */
  madvise((void *)a, CHUNK, MADV_POPULATE_WRITE); /* before Linux 5.14: on use */
  if (g_huge_ok && mono_ns() - t0 > HUGE_SLOW_NS) g_huge_ok = false;
  *(void **)raw = g_chunks; /* keep it reachable (leak checkers) */
  g_chunks = raw;
  k->bump = (char *)a;
  k->end = k->bump + CHUNK / k->size * k->size;
  if (a - (uintptr_t)raw < sizeof(void *)) k->bump += k->size; /* link word inside */
  return true;
}

/* Refill the thread's list of `cls` with up to BATCH slots. */
static void refill(int cls, size_t size) {
  if (!t_registered) register_thread();
  tlist *tl = &t_lists[cls];
  klass *k = &g_cls[cls];
  pthread_mutex_lock(&g_mu);
  if (!k->size) k->size = (size + 63) & ~(size_t)63;
  while (tl->count < BATCH && k->free) {
    slot *s = k->free;
    k->free = next_of(s);
    set_next(s, tl->free);
    tl->free = s;
    tl->count++;
  }
  if (!tl->free && (k->bump != k->end || new_chunk(k))) {
    size_t left = (size_t)(k->end - k->bump);
    tl->bump = k->bump;
    tl->end = k->bump + (left < RUN * k->size ? left : RUN * k->size);
    k->bump = tl->end;
    POISON(tl->bump, (size_t)(tl->end - tl->bump));
  }
  pthread_mutex_unlock(&g_mu);
}

/* The next fresh slot of the thread's run. */
static inline void *bump(tlist *tl, size_t size) {
  char *s = tl->bump;
  tl->bump += size;
  /* The next slots will be written soon: start fetching them now (fresh
   * slots are cold), so the caller's stores do not wait for them. */
  __builtin_prefetch(s + 4 * size, 1);
  UNPOISON(s, size);
  return s;
}

void *loom__slab_alloc(int cls, size_t size) {
  if (loom__fault(LOOM_FAULT_ALLOC)) return NULL;
  tlist *tl = &t_lists[cls];
  if (LOOM__UNLIKELY(!tl->free)) {
    if (LOOM__LIKELY(tl->bump != tl->end)) return bump(tl, g_cls[cls].size);
    refill(cls, size);
    if (!tl->free) return tl->bump != tl->end ? bump(tl, g_cls[cls].size) : NULL;
  }
  slot *s = tl->free;
  tl->free = next_of(s);
  tl->count--;
  UNPOISON(s, size);
  return s;
}

void loom__slab_free(int cls, void *p) {
  if (!p) return;
  if (LOOM__UNLIKELY(!t_registered)) register_thread();
  tlist *tl = &t_lists[cls];
  slot *s = p;
  POISON(s, g_cls[cls].size);
  set_next(s, tl->free);
  tl->free = s;
  if (LOOM__UNLIKELY(++tl->count > LOCAL_MAX)) give_back(cls, LOCAL_MAX / 2);
}

_Static_assert(SLOT_MAX <= CHUNK / 64, "a chunk holds many slots");
