/* future_alloc.c - storage for loom_future objects.
 *
 * Futures are the object loom allocates most: one per job, per task, per
 * network operation.  A program that submits 200,000 jobs touches 25 MB of
 * fresh heap, and on a virtual machine each 4 KB page fault costs more than
 * the rest of a job's life.  So futures come from 2 MB chunks, faulted in by
 * one madvise(MADV_POPULATE_WRITE) each and advised to use a transparent
 * huge page (one 2 MB clear), carved into 128-byte, cache-line-aligned slots
 * (no false sharing between a future a submitter is filling and one a
 * worker is finishing).
 *
 * Huge pages are dropped for good once a chunk was slow to fault in:
 * virtual machines that hand free huge pages back to their host (free page
 * reporting) make a fresh huge page cost the host's page faults, several
 * milliseconds at random (W3 then ran at 2-3 M futures/s instead of 19 M);
 * ordinary pages cost a steady, moderate amount.
 *
 * Free slots go to a per-thread list (no lock on the fast path); a thread
 * with too many hands half of them to the global list, and one that runs
 * dry takes a batch from it, or else a run of fresh slots from the current
 * chunk that it then hands out by bumping a pointer (a thread submitting
 * 200,000 jobs mostly allocates fresh slots: no list to thread through
 * them).  A thread that exits returns its list and the rest of its run.
 * Chunks are kept for the life of the process.
 *
 * Under AddressSanitizer futures use loom__malloc/loom__free directly, so a
 * use after free of a future is still caught.  Either way each allocation
 * passes the ALLOC fault point.
 */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "future_internal.h"

#ifdef LOOM_ASAN

void *loom__future_alloc(void) { return loom__malloc(sizeof(loom_future)); }
void loom__future_free(void *p) { loom__free(p); }

#else

#define SLOT 128          /* bytes per future: two cache lines */
#define CHUNK (2u << 20)  /* one transparent huge page */
#define BATCH 64          /* slots moved between a thread and the global list */
#define LOCAL_MAX 512     /* a thread keeps at most this many free slots */
#define RUN 256           /* fresh slots a thread carves at once */
/* Faulting in a huge page takes about 0.1-0.3 ms where the memory is really
 * there; several ms means the host is backing it page by page, and then the
 * next chunks will be as slow: ordinary pages (a steady cost) are the
 * better deal from the first such chunk on. */
#define HUGE_SLOW_NS 1500000

_Static_assert(sizeof(loom_future) <= SLOT, "loom_future outgrew its slot");

typedef struct slot {
  struct slot *next;
} slot;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* guards g_* */
static slot *g_free;            /* free slots returned by threads */
static char *g_bump, *g_end;    /* the chunk being carved */
static void *g_chunks;          /* every chunk, linked through its first word */
static bool g_huge_ok = true;   /* ask for huge pages: they have been fast */

static _Thread_local slot *t_free;
static _Thread_local int t_count;
static _Thread_local char *t_bump, *t_end; /* a run of fresh slots */
static _Thread_local bool t_registered;
static pthread_key_t t_key;
static pthread_once_t t_once = PTHREAD_ONCE_INIT;

/* Hand `n` slots of the thread's list to the global list. */
__attribute__((noinline)) static void give_back(int n) {
  if (n <= 0) return;
  slot *first = t_free, *last = first;
  for (int i = 1; i < n; i++) last = last->next;
  t_free = last->next;
  t_count -= n;
  pthread_mutex_lock(&g_mu);
  last->next = g_free;
  g_free = first;
  pthread_mutex_unlock(&g_mu);
}

static void thread_exit(void *unused) {
  (void)unused;
  for (; t_bump != t_end; t_bump += SLOT) { /* the unused run joins the list */
    slot *s = (slot *)t_bump;
    s->next = t_free;
    t_free = s;
    t_count++;
  }
  give_back(t_count);
}

/* A process forked while another thread held g_mu must not inherit it
 * locked (process pools fork). */
static void fork_prepare(void) { pthread_mutex_lock(&g_mu); }
static void fork_release(void) { pthread_mutex_unlock(&g_mu); }

static void init_once(void) {
  pthread_key_create(&t_key, thread_exit);
  pthread_atfork(fork_prepare, fork_release, fork_release);
}

/* The real clock (loom_now_ns() may be a loop's virtual one). */
static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* g_mu held.  Start a new chunk, its pages faulted in by one call (far
 * cheaper than one fault per page); false if memory is exhausted. */
static bool new_chunk(void) {
  char *raw = loom__malloc(2 * (size_t)CHUNK);
  if (!raw) return false;
  uintptr_t a = ((uintptr_t)raw + CHUNK - 1) & ~(uintptr_t)(CHUNK - 1);
  if (g_huge_ok) madvise((void *)a, CHUNK, MADV_HUGEPAGE); /* hints: failures */
  int64_t t0 = mono_ns();                                   /* are harmless */
  madvise((void *)a, CHUNK, MADV_POPULATE_WRITE); /* before Linux 5.14: on use */
  if (g_huge_ok && mono_ns() - t0 > HUGE_SLOW_NS) g_huge_ok = false;
  *(void **)raw = g_chunks; /* keep it reachable (leak checkers) */
  g_chunks = raw;
  g_bump = (char *)a;
  g_end = g_bump + CHUNK;
  if (a - (uintptr_t)raw < sizeof(void *)) g_bump += SLOT; /* link word inside */
  return true;
}

__attribute__((noinline, cold)) static void register_thread(void) {
  pthread_once(&t_once, init_once);
  pthread_setspecific(t_key, (void *)1); /* so thread_exit runs */
  t_registered = true;
}

/* The thread's list and run are empty: take up to BATCH slots from the
 * global list, or else a run of up to RUN fresh slots. */
__attribute__((noinline, cold)) static void refill(void) {
  if (!t_registered) register_thread();
  pthread_mutex_lock(&g_mu);
  while (t_count < BATCH && g_free) {
    slot *s = g_free;
    g_free = s->next;
    s->next = t_free;
    t_free = s;
    t_count++;
  }
  if (!t_free && (g_bump != g_end || new_chunk())) {
    size_t left = (size_t)(g_end - g_bump);
    t_bump = g_bump;
    t_end = g_bump + (left < RUN * SLOT ? left : RUN * SLOT);
    g_bump = t_end;
  }
  pthread_mutex_unlock(&g_mu);
}

static inline void *bump(void) {
  char *s = t_bump;
  t_bump += SLOT;
  /* The next slots will be written soon: start fetching them now (fresh
   * slots are cold), so the submitter's stores do not wait for them. */
  __builtin_prefetch(s + 4 * SLOT, 1);
  return s;
}

void *loom__future_alloc(void) {
  if (loom__fault(LOOM_FAULT_ALLOC)) return NULL;
  if (LOOM__UNLIKELY(!t_free)) {
    if (LOOM__LIKELY(t_bump != t_end)) return bump();
    refill();
    if (!t_free) return t_bump != t_end ? bump() : NULL;
  }
  slot *s = t_free;
  t_free = s->next;
  t_count--;
  return s;
}

void loom__future_free(void *p) {
  if (LOOM__UNLIKELY(!t_registered)) register_thread();
  slot *s = p;
  s->next = t_free;
  t_free = s;
  if (LOOM__UNLIKELY(++t_count > LOCAL_MAX)) give_back(LOCAL_MAX / 2);
}

#endif
