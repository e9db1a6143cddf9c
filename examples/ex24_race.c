/* ex24_race.c - a race condition, and two ways to cure it.
 *
 * Four threads each add 1 to a shared balance 200 times.  Each update is
 * "read the balance, think for a moment, write balance + 1" - the shape of
 * most real races (check-then-act).  Without synchronisation, threads read
 * the same old value while another is thinking, and their writes overwrite
 * each other: updates are lost.  With a loom Lock around the update, or with
 * the updates sent through a loom queue to one owner thread, none are.
 *
 * The deliberate race is kept to this example.  The balance is accessed with
 * relaxed atomic loads and stores, so the program has no undefined behaviour:
 * what goes wrong is the logic (two steps that must not interleave), which
 * is exactly what a lock or a queue fixes.  The pause inside the update (a
 * 50 us sleep) makes the interleaving - and the lost updates - reliable
 * while keeping the run short (well under a second).
 */
#include <loom.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

enum { THREADS = 4, UPDATES = 200 };

static _Atomic long balance;

static void think(void) {
  struct timespec ts = {0, 50 * 1000};
  nanosleep(&ts, NULL);
}

/* The racy update: read, think, write. */
static void add_one_unsafely(void) {
  long seen = atomic_load_explicit(&balance, memory_order_relaxed);
  think();
  atomic_store_explicit(&balance, seen + 1, memory_order_relaxed);
}

/* ---- three strategies, one thread body each ---------------------------- */

static int unsynchronised(loom_future *self, void *arg) {
  (void)self;
  (void)arg;
  for (int i = 0; i < UPDATES; i++) add_one_unsafely();
  return 0;
}

static int with_lock(loom_future *self, void *arg) {
  (void)self;
  loom_lock *lock = arg;
  for (int i = 0; i < UPDATES; i++) {
    int rc = loom_lock_acquire(lock, LOOM_FOREVER);
    if (rc < 0) return rc;
    add_one_unsafely(); /* safe now: only the lock holder runs it */
    loom_lock_release(lock);
  }
  return 0;
}

static int with_queue(loom_future *self, void *arg) {
  (void)self;
  loom_queue *q = arg; /* producers only send "+1"; the owner applies them */
  for (int i = 0; i < UPDATES; i++) {
    int rc = loom_queue_put(q, (void *)1, LOOM_FOREVER);
    if (rc < 0) return rc;
  }
  return 0;
}

/* The queue's owner: the only thread that touches the balance. */
static int balance_owner(loom_future *self, void *arg) {
  (void)self;
  loom_queue *q = arg;
  void *delta;
  int rc;
  while ((rc = loom_queue_get(q, &delta, LOOM_FOREVER)) == 0) add_one_unsafely();
  return rc == LOOM_ECLOSED ? 0 : rc; /* closed and drained: done */
}

static int run_threads(loom_fn fn, void *arg) {
  loom_thread *t[THREADS] = {0};
  int rc = 0;
  for (int i = 0; i < THREADS && rc == 0; i++) rc = loom_thread_start(&t[i], NULL, fn, arg);
  for (int i = 0; i < THREADS; i++) {
    if (!t[i]) continue;
    int jrc = loom_thread_join(t[i], 60);
    if (jrc == 0) jrc = loom_future_result(loom_thread_future(t[i]), 0, NULL);
    if (jrc < 0 && rc == 0) rc = jrc;
    loom_thread_destroy(t[i]);
  }
  return rc;
}

static int report(const char *how, int rc) {
  long want = (long)THREADS * UPDATES, got = atomic_load(&balance);
  if (rc < 0) {
    printf("%-16s failed: %s\n", how, loom_strerror(rc));
    return 1;
  }
  printf("%-16s expected %ld, got %ld (%ld updates lost)\n", how, want, got, want - got);
  return 0;
}

static int queue_strategy(void) {
  loom_queue *q;
  loom_queue_options o = {.kind = LOOM_QUEUE_FIFO, .maxsize = 64};
  int rc = loom_queue_create(&q, &o);
  if (rc < 0) return rc;
  loom_thread *owner;
  rc = loom_thread_start(&owner, "owner", balance_owner, q);
  if (rc == 0) {
    rc = run_threads(with_queue, q);
    loom_queue_shutdown(q, false); /* the owner drains what is left, then ends */
    int orc = loom_thread_join(owner, 60);
    if (orc == 0) orc = loom_future_result(loom_thread_future(owner), 0, NULL);
    if (rc == 0) rc = orc;
    loom_thread_destroy(owner);
  }
  loom_queue_destroy(q);
  return rc;
}

int main(void) {
  printf("%d threads each add 1 to a shared balance %d times.\n", THREADS, UPDATES);
  int failed = 0;

  atomic_store(&balance, 0);
  failed |= report("without a lock:", run_threads(unsynchronised, NULL));

  loom_lock *lock;
  atomic_store(&balance, 0);
  int rc = loom_lock_create(&lock);
  if (rc == 0) {
    rc = run_threads(with_lock, lock);
    loom_lock_destroy(lock);
  }
  failed |= report("with a lock:", rc);

  atomic_store(&balance, 0);
  failed |= report("with a queue:", queue_strategy());
  return failed;
}
