/* test_block.c - the biased lock under the sync primitives (core/block.h).
 *
 * A lock that one thread takes LOOM__BLOCK_BIAS_AFTER times in a row is
 * biased to it; another thread revokes the bias (membarrier) and both go on
 * through the futex lock.  These tests check that no interleaving of the two
 * ever lets two holders in or loses anything:
 *  - a raw lock biased, then revoked while its owner hammers it (a plain
 *    counter under the lock must come out exact);
 *  - a queue biased to one thread, then shared with a second one (every item
 *    received once, each producer's items in order);
 *  - a plain thread, a task of the loop the queue is biased to and a task of
 *    another loop consuming one queue at once;
 *  - a thread parked in get (it released the lock) while the lock is biased
 *    to another thread: woken by a put, or timing out, never waited on;
 *  - a revocation while the owner is inside its critical section waits for
 *    it to leave;
 *  - biasing switched off (hook and LOOM_NO_BIAS): never biased, still
 *    correct;
 *  - many bias/revoke rounds racing (the TSan stress).
 */
#include "threads_util.h"

#include "core/block.h"

#ifdef LOOM_TSAN
enum { SCALE = 10 };
#else
enum { SCALE = 1 };
#endif

static void bias_to_me(loom__block *b) {
  for (unsigned i = 0; i < LOOM__BLOCK_BIAS_AFTER + 1; i++) {
    loom__block_acquire(b);
    loom__block_release(b);
  }
}

/* ---- a raw lock: bias, then revoke while the owner hammers ------------- */

typedef struct {
  loom__block b;
  long counter;           /* under b */
  long owner_n, other_n;  /* increments each side made */
  _Atomic bool warmed, biased, other_done;
} hammer;

static void bump(hammer *h, long *mine) {
  loom__block_acquire(&h->b);
  long c = h->counter; /* a read-modify-write spread out: a second holder */
  loom__cpu_relax();   /* in between would lose an update */
  h->counter = c + 1;
  loom__block_release(&h->b);
  (*mine)++;
}

static void *hammer_owner(void *p) {
  hammer *h = p;
  for (unsigned i = 0; i < LOOM__BLOCK_BIAS_AFTER + 1; i++) bump(h, &h->owner_n);
  atomic_store(&h->biased, loom__block_biased(&h->b));
  atomic_store(&h->warmed, true);
  /* Go on until the other side is done, and at least a while. */
  while (!atomic_load(&h->other_done) || h->owner_n < 50000 / SCALE) bump(h, &h->owner_n);
  return NULL;
}

static void *hammer_other(void *p) {
  hammer *h = p;
  WAIT_UNTIL(atomic_load(&h->warmed), 10);
  for (long i = 0; i < 50000 / SCALE; i++) bump(h, &h->other_n);
  atomic_store(&h->other_done, true);
  return NULL;
}

LOOM_TEST(block, bias_then_revoke_while_the_owner_hammers) {
  assert_true(loom__block_biasing()); /* Linux >= 4.14: membarrier */
  hammer h = {0};
  loom__block_init(&h.b);
  unsigned long revoked_before = atomic_load(&loom__block_revocations_done);
  pthread_t o = spawn(hammer_owner, &h);
  pthread_t x = spawn(hammer_other, &h);
  pthread_join(o, NULL);
  pthread_join(x, NULL);
  assert_true(atomic_load(&h.biased));
  assert_true(loom__block_revoked(&h.b));
  assert_int_equal(atomic_load(&loom__block_revocations_done), revoked_before + 1);
  LT_CHECK(h.counter == h.owner_n + h.other_n, "counter %ld, increments %ld + %ld", h.counter,
           h.owner_n, h.other_n);
}

/* ---- a queue biased to one thread, then shared ------------------------- */

enum { Q_ITEMS = 40000 / SCALE };

typedef struct {
  loom_queue *q;
  long tag;                  /* items are tag << 32 | sequence */
  _Atomic uint64_t *bitmap;  /* per tag: Q_ITEMS bits */
  _Atomic bool *go;          /* the second side waits for this */
  long got, bad, last[3];
} qside;

static void record(qside *s, void *v) {
  long x = (long)(uintptr_t)v, tag = x >> 32, seq = x & 0xffffffffL;
  if (tag < 1 || tag > 2 || seq < 1 || seq > Q_ITEMS || seq <= s->last[tag]) {
    s->bad++;
    return;
  }
  s->last[tag] = seq;
  long bit = (tag - 1) * Q_ITEMS + seq - 1;
  uint64_t m = 1ull << (bit % 64);
  if (atomic_fetch_or(&s->bitmap[bit / 64], m) & m) s->bad++; /* duplicate */
  s->got++;
}

/* Put my items, taking one item back after each put when there is one. */
static void *put_get_side(void *p) {
  qside *s = p;
  if (s->go) WAIT_UNTIL(atomic_load(s->go), 10);
  for (long i = 1; i <= Q_ITEMS; i++) {
    if (loom_queue_put(s->q, (void *)(uintptr_t)(s->tag << 32 | i), 10) < 0) s->bad++;
    void *v;
    if (loom_queue_get_nowait(s->q, &v) == 0) record(s, v);
  }
  return NULL;
}

LOOM_TEST(block, queue_biased_then_shared_loses_nothing) {
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  _Atomic uint64_t *bitmap = calloc(2 * Q_ITEMS / 64 + 2, sizeof *bitmap);
  _Atomic bool go = false;
  qside a = {.q = q, .tag = 1, .bitmap = bitmap}, b = {.q = q, .tag = 2, .bitmap = bitmap, .go = &go};
  /* a alone first: the queue's lock is biased to a's thread. */
  pthread_t tb = spawn(put_get_side, &b);
  for (long i = 1; i <= 200; i++) {
    LT_RC(loom_queue_put(q, (void *)(uintptr_t)(1L << 32 | i), 0), 0);
    void *v;
    LT_RC(loom_queue_get_nowait(q, &v), 0);
    record(&a, v);
  }
  assert_true(loom__block_biased(loom__queue_mu(q)));
  atomic_store(&go, true);
  /* Then both, a from item 201 on (its sequence goes on). */
  for (long i = 201; i <= Q_ITEMS; i++) {
    LT_RC(loom_queue_put(q, (void *)(uintptr_t)(1L << 32 | i), 10), 0);
    void *v;
    if (loom_queue_get_nowait(q, &v) == 0) record(&a, v);
  }
  pthread_join(tb, NULL);
  assert_true(loom__block_revoked(loom__queue_mu(q)));
  qside rest = {.q = q, .bitmap = bitmap};
  void *v;
  while (loom_queue_get_nowait(q, &v) == 0) record(&rest, v);
  assert_int_equal(a.bad + b.bad + rest.bad, 0);
  assert_int_equal(a.got + b.got + rest.got, 2L * Q_ITEMS);
  free(bitmap);
  LT_RC(loom_queue_destroy(q), 0);
}

/* ---- a plain thread, a task of the biased loop, a task of another ------ */

enum { L_ITEMS = 30000 / SCALE, CONSUMERS = 3 };

typedef struct {
  loom_queue *q;
  _Atomic bool *others_started;
  long got, bad, last;
  int rc;
} lside;

static int consume(lside *s) {
  for (;;) {
    void *v;
    int rc = loom_queue_get(s->q, &v, 10);
    if (rc < 0) return rc;
    long x = (long)(uintptr_t)v;
    if (x == 0) return 0; /* end of stream: one 0 per consumer */
    if (x <= s->last || x > L_ITEMS) s->bad++;
    s->last = x;
    s->got++;
  }
}

static int consumer_task(loom_future *self, void *p) {
  (void)self;
  lside *s = p;
  return s->rc = consume(s);
}

static void *consumer_thread(void *p) {
  lside *s = p;
  s->rc = consume(s);
  return NULL;
}

/* Phase 1 alone with its loop's consumer (the bias), phase 2 once the
 * other consumers run, then one end marker per consumer. */
static int producer_task(loom_future *self, void *p) {
  (void)self;
  lside *s = p;
  for (long i = 1; i <= L_ITEMS; i++) {
    if (i == 1000 / SCALE) {
      double end = loom_now() + 10;
      while (!atomic_load(s->others_started) && loom_now() < end) loom_sleep(0.001);
    }
    int rc = loom_queue_put(s->q, (void *)(uintptr_t)i, 10);
    if (rc < 0) return rc;
  }
  for (int k = 0; k < CONSUMERS; k++) {
    int rc = loom_queue_put(s->q, NULL, 10);
    if (rc < 0) return rc;
  }
  return 0;
}

typedef struct {
  lside *prod, *cons; /* prod NULL: consumer only */
} loop_job;

static void *loop_thread(void *p) {
  loop_job *j = p;
  loom_loop *l = NULL;
  if (loom_loop_create(&l, NULL) < 0) return (void *)1;
  loom_future *tc = NULL, *tp = NULL;
  bool ok = loom_task_spawn(l, consumer_task, j->cons, "consumer", &tc) == 0;
  if (ok && j->prod) ok = loom_task_spawn(l, producer_task, j->prod, "producer", &tp) == 0;
  if (ok && tp) ok = loom_loop_run_until_complete(l, tp) == 0 && loom_future_result(tp, 0, NULL) == 0;
  if (ok) ok = loom_loop_run_until_complete(l, tc) == 0;
  if (tc) loom_future_release(tc);
  if (tp) loom_future_release(tp);
  ok = loom_loop_close(l) == 0 && ok;
  loom_loop_destroy(l);
  return ok ? NULL : (void *)1;
}

LOOM_TEST(block, thread_and_two_loops_share_a_biased_queue) {
  loom_queue *q;
  loom_queue_options o = {.maxsize = 4};
  LT_RC(loom_queue_create(&q, &o), 0);
  _Atomic bool started = false;
  lside prod = {.q = q, .others_started = &started};
  lside ca = {.q = q}, cb = {.q = q}, ct = {.q = q};
  loop_job ja = {&prod, &ca}, jb = {NULL, &cb};
  pthread_t ta = spawn(loop_thread, &ja);
  LT_CHECK(WAIT_UNTIL(loom__block_biased(loom__queue_mu(q)), 10),
           "the queue's lock was never biased to the loop's thread");
  pthread_t tb = spawn(loop_thread, &jb);
  pthread_t tt = spawn(consumer_thread, &ct);
  atomic_store(&started, true);
  void *ra, *rb;
  pthread_join(ta, &ra);
  pthread_join(tb, &rb);
  pthread_join(tt, NULL);
  assert_null(ra);
  assert_null(rb);
  LT_RC(ca.rc, 0);
  LT_RC(cb.rc, 0);
  LT_RC(ct.rc, 0);
  assert_int_equal(ca.bad + cb.bad + ct.bad, 0);
  assert_int_equal(ca.got + cb.got + ct.got, L_ITEMS);
  assert_true(loom__block_revoked(loom__queue_mu(q)));
  assert_int_equal(loom_queue_qsize(q), 0);
  LT_RC(loom_queue_destroy(q), 0);
}

/* ---- a thread parked while the lock is biased to another --------------- */

typedef struct {
  loom_queue *q;
  double timeout;
  int rc;
  void *got;
  _Atomic bool done;
} getter;

static void *get_thread(void *p) {
  getter *g = p;
  g->rc = loom_queue_get(g->q, &g->got, g->timeout);
  atomic_store(&g->done, true);
  return NULL;
}

LOOM_TEST(block, thread_parked_in_get_while_biased_elsewhere) {
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  loom__block *mu = loom__queue_mu(q);
  getter g = {.q = q, .timeout = 10};
  pthread_t t = spawn(get_thread, &g);
  LT_CHECK(WAIT_UNTIL(loom__queue_n_waiters(q, 0) == 1, 10), "the getter never parked");
  /* Bias the lock to this thread while the getter is parked. */
  for (unsigned i = 0; i < LOOM__BLOCK_BIAS_AFTER + 1; i++) (void)loom_queue_qsize(q);
  assert_true(loom__block_biased(mu));
  assert_int_equal(loom__queue_n_waiters(q, 0), 1);
  assert_false(atomic_load(&g.done));
  /* A put under the bias hands the item to the parked thread. */
  LT_RC(loom_queue_put(q, (void *)(uintptr_t)77, 0), 0);
  pthread_join(t, NULL);
  LT_RC(g.rc, 0);
  assert_ptr_equal(g.got, (void *)(uintptr_t)77);
  assert_true(loom__block_biased(mu)); /* the woken getter did not retake the lock */

  /* A second getter revokes the bias with its first acquisition while we
   * keep taking the lock through it, then parks and times out: it leaves
   * nothing linked and takes nothing. */
  getter g2 = {.q = q, .timeout = 0.05};
  t = spawn(get_thread, &g2);
  double end = loom_now() + 10;
  while (!atomic_load(&g2.done) && loom_now() < end) (void)loom_queue_qsize(q);
  pthread_join(t, NULL);
  LT_RC(g2.rc, LOOM_ETIMEDOUT);
  assert_true(loom__block_revoked(mu));
  assert_int_equal(loom__queue_n_waiters(q, 0), 0);
  assert_int_equal(loom_queue_qsize(q), 0);
  LT_RC(loom_queue_destroy(q), 0);
}

/* ---- revocation while the owner is inside ----------------------------- */

typedef struct {
  loom__block b;
  _Atomic bool owner_left, entered, saw_owner_left;
} inside_t;

static void *revoker(void *p) {
  inside_t *s = p;
  loom__block_acquire(&s->b); /* waits for the owner to leave */
  atomic_store(&s->saw_owner_left, atomic_load(&s->owner_left));
  atomic_store(&s->entered, true);
  loom__block_release(&s->b);
  return NULL;
}

LOOM_TEST(block, revocation_waits_for_the_owner_inside) {
  inside_t s = {0};
  loom__block_init(&s.b);
  bias_to_me(&s.b);
  assert_true(loom__block_biased(&s.b));
  unsigned long started = atomic_load(&loom__block_revocations_started);
  loom__block_acquire(&s.b); /* inside, through the bias */
  pthread_t t = spawn(revoker, &s);
  LT_CHECK(WAIT_UNTIL(atomic_load(&loom__block_revocations_started) > started, 10),
           "the revocation never started");
  sleep_ms(20); /* give a broken revoker every chance to barge in */
  assert_false(atomic_load(&s.entered));
  atomic_store(&s.owner_left, true);
  loom__block_release(&s.b);
  pthread_join(t, NULL);
  assert_true(atomic_load(&s.entered));
  assert_true(atomic_load(&s.saw_owner_left));
  assert_true(loom__block_revoked(&s.b));
  /* The old owner now goes through the futex lock, and still works. */
  bias_to_me(&s.b);
  assert_true(loom__block_revoked(&s.b));
}

/* ---- biasing switched off --------------------------------------------- */

LOOM_TEST(block, biasing_off_never_biases_and_stays_correct) {
  loom__block_set_biasing(false);
  assert_false(loom__block_biasing());
  hammer h = {0};
  loom__block_init(&h.b);
  pthread_t o = spawn(hammer_owner, &h);
  pthread_t x = spawn(hammer_other, &h);
  pthread_join(o, NULL);
  pthread_join(x, NULL);
  assert_false(atomic_load(&h.biased));
  assert_true(loom__block_revoked(&h.b)); /* settled: a plain futex lock */
  assert_int_equal(h.counter, h.owner_n + h.other_n);
  loom__block_set_biasing(true);
  assert_true(loom__block_biasing());

  /* LOOM_NO_BIAS=1 does the same, read when biasing is first decided. */
  setenv("LOOM_NO_BIAS", "1", 1);
  loom__block_redecide();
  assert_false(loom__block_biasing());
  loom__block b;
  loom__block_init(&b);
  bias_to_me(&b);
  assert_false(loom__block_biased(&b));
  unsetenv("LOOM_NO_BIAS");
  loom__block_redecide();
  assert_true(loom__block_biasing());
  loom__block_init(&b);
  bias_to_me(&b);
  assert_true(loom__block_biased(&b));
}

/* ---- stress: many locks biased and revoked under contention ------------ */

typedef struct {
  loom__block b;
  long counter;
  _Atomic int phase; /* 0 biasing, 1 both hammer */
  long a_n, b_n;
} round_t;

static void round_bump(round_t *r, long *mine) {
  loom__block_acquire(&r->b);
  r->counter++;
  loom__block_release(&r->b);
  (*mine)++;
}

static void *round_a(void *p) {
  round_t *r = p;
  for (unsigned i = 0; i < LOOM__BLOCK_BIAS_AFTER + 1; i++) round_bump(r, &r->a_n);
  atomic_store(&r->phase, 1);
  for (int i = 0; i < 300; i++) round_bump(r, &r->a_n);
  return NULL;
}

static void *round_b(void *p) {
  round_t *r = p;
  WAIT_UNTIL(atomic_load(&r->phase) == 1, 10);
  for (int i = 0; i < 300; i++) round_bump(r, &r->b_n);
  return NULL;
}

LOOM_TEST(block, stress_bias_and_revoke_rounds) {
  int rounds = 200 / SCALE;
  for (int k = 0; k < rounds; k++) {
    round_t r = {0};
    loom__block_init(&r.b);
    pthread_t a = spawn(round_a, &r), b = spawn(round_b, &r);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    LT_CHECK(r.counter == r.a_n + r.b_n, "round %d: counter %ld, increments %ld + %ld", k,
             r.counter, r.a_n, r.b_n);
    assert_true(loom__block_revoked(&r.b));
  }
}
