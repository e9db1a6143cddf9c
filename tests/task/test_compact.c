/* test_compact.c - the compact idle-stack mode (loom_task_set_default_compact,
 * loom_task_options.compact): a sleeping compact task's stack is copied to
 * the heap and its pages released, and comes back byte for byte at the same
 * addresses.  Checks the bytes survive many sleeps and deep stacks, that
 * pointers into a task's stack stay usable around sleeps and across other
 * waits, cancellation and dumps of a compacted task, a million compact
 * sleepers, and a fault sweep (no memory: the task sleeps resident). */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task_support.h"
#include "../../src/coro/coro.h"

static loom_loop *compact_loop(void) {
  loom_loop *l = ts_loop(true); /* virtual clock: sleeps take no time */
  LT_RC(loom_task_set_default_compact(l, true), 0);
  return l;
}

static loom_compact_stats stats_of(loom_loop *l) {
  loom_compact_stats s;
  LT_RC(loom_task_compact_stats(l, &s), 0);
  return s;
}

/* Fill / check a buffer with bytes that depend on a seed. */
__attribute__((noinline)) static void fill(volatile unsigned char *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(seed * 31u + i * 7u + (i >> 8));
}
__attribute__((noinline)) static bool intact(volatile unsigned char *b, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    if (b[i] != (unsigned char)(seed * 31u + i * 7u + (i >> 8))) return false;
  return true;
}

/* ---- bytes survive many sleeps ------------------------------------------ */

enum { SLEEPERS = 40, ROUNDS = 50 };
static int broken;

static int sleeper(loom_future *self, void *arg) {
  unsigned id = (unsigned)(uintptr_t)arg;
  volatile unsigned char buf[1500];
  for (unsigned r = 0; r < ROUNDS; r++) {
    fill(buf, sizeof buf, id * 1000 + r);
    volatile double d = id * 0.5 + r; /* a register-sized local too */
    int rc = loom_sleep(0.001 * (1 + (id + r) % 7));
    if (rc != 0) return rc;
    if (!intact(buf, sizeof buf, id * 1000 + r) || d != id * 0.5 + r) broken++;
  }
  return 0;
}

/* Watches from a task of its own while the others sleep. */
typedef struct spy {
  loom_future **tasks;
  int n;
  int seen_compacted;
  loom_compact_stats mid;
} spy;

static int spy_fn(loom_future *self, void *arg) {
  spy *s = arg;
  LT_RC(loom_sleep(0.0005), 0); /* every sleeper is asleep now */
  for (int i = 0; i < s->n; i++) s->seen_compacted += loom_task_is_compacted(s->tasks[i]);
  s->mid = stats_of(loom_task_loop(self));
  return 0;
}

LOOM_TEST(compact, bytes_survive_many_sleeps) {
  loom_loop *l = compact_loop();
  loom_future *t[SLEEPERS];
  broken = 0;
  for (int i = 0; i < SLEEPERS; i++)
    LT_RC(loom_task_spawn(l, sleeper, (void *)(uintptr_t)i, NULL, &t[i]), 0);
  spy s = {t, SLEEPERS, 0, {0}};
  loom_task_options no = {.name = "spy", .compact = -1};
  loom_future *sp;
  LT_RC(loom_task_spawn_ex(l, spy_fn, &s, &no, &sp), 0);
  for (int i = 0; i < SLEEPERS; i++) {
    ts_until(l, t[i]);
    LT_RC(loom_future_error(t[i], 0, NULL), 0);
    loom_future_release(t[i]);
  }
  ts_until(l, sp);
  loom_future_release(sp);
  assert_int_equal(broken, 0);
  assert_int_equal(s.seen_compacted, SLEEPERS);
  assert_int_equal(s.mid.compacted, SLEEPERS);
  /* The copied part is what the frames use, not the stack's pages. */
  LT_CHECK(s.mid.saved_bytes > SLEEPERS * 1500 && s.mid.saved_bytes < SLEEPERS * 16384,
           "%zu bytes saved for %d sleepers", s.mid.saved_bytes, SLEEPERS);
  loom_compact_stats end = stats_of(l);
  assert_int_equal(end.compactions, SLEEPERS * ROUNDS);
  assert_int_equal(end.restores, SLEEPERS * ROUNDS);
  assert_int_equal(end.compacted, 0);
  assert_int_equal(end.saved_bytes, 0);
  loom_loop_destroy(l);
}

/* ---- deep stacks ----------------------------------------------------------- */

enum { DEPTH = 120, FRAME = 300 };

__attribute__((noinline)) static int dive(int depth, unsigned seed) {
  volatile unsigned char frame[FRAME];
  fill(frame, sizeof frame, seed + (unsigned)depth);
  int rc = depth ? dive(depth - 1, seed) : loom_sleep(0.01);
  if (rc == 0 && depth == 0) rc = loom_sleep(0.02); /* twice at the bottom */
  if (!intact(frame, sizeof frame, seed + (unsigned)depth)) broken++;
  return rc;
}

static int diver(loom_future *self, void *arg) { return dive(DEPTH, (unsigned)(uintptr_t)arg); }

static int deep_spy(loom_future *self, void *arg) {
  loom_compact_stats *out = arg;
  LT_RC(loom_sleep(0.005), 0);
  *out = stats_of(loom_task_loop(self));
  return 0;
}

LOOM_TEST(compact, deep_stacks) {
  loom_loop *l = compact_loop();
  broken = 0;
  loom_future *a, *b, *sp;
  LT_RC(loom_task_spawn(l, diver, (void *)1, "a", &a), 0);
  LT_RC(loom_task_spawn(l, diver, (void *)2, "b", &b), 0);
  loom_compact_stats mid = {0};
  LT_RC(loom_task_spawn(l, deep_spy, &mid, "spy", &sp), 0);
  ts_until(l, a);
  ts_until(l, b);
  ts_until(l, sp);
  LT_RC(loom_future_error(a, 0, NULL), 0);
  LT_RC(loom_future_error(b, 0, NULL), 0);
  assert_int_equal(broken, 0);
  assert_int_equal(mid.compacted, 2);
  LT_CHECK(mid.saved_bytes > 2 * DEPTH * FRAME, "%zu bytes saved", mid.saved_bytes);
  assert_int_equal(stats_of(l).compactions, 2 * 2 + 1); /* + the spy's one sleep */
  loom_future_release(a);
  loom_future_release(b);
  loom_future_release(sp);
  loom_loop_destroy(l);
}

/* ---- direct hand-off to a compacted task --------------------------------------- */

/* A task that yields hands over straight to the next ready task (park.c):
 * when that is a compact sleeper whose timer just fired, the hand-off must
 * not switch to it before its stack is back (a compacted task's posted step
 * is not one hand-offs take, compact.c). */
enum { HOPPERS = 12, HOPS = 8 };
static int hoppers_done;

static int hopper(loom_future *self, void *arg) {
  unsigned id = (unsigned)(uintptr_t)arg;
  volatile unsigned char buf[600];
  for (unsigned r = 0; r < HOPS; r++) {
    fill(buf, sizeof buf, id * 100 + r);
    int rc = loom_sleep(0.001 * (1 + (id + r) % 3));
    if (rc == 0) rc = loom_yield(); /* a compact task hands over too */
    if (rc != 0) return rc;
    if (!intact(buf, sizeof buf, id * 100 + r)) broken++;
  }
  hoppers_done++;
  return 0;
}

static int yielder(loom_future *self, void *arg) {
  long *yields = arg;
  double end = loom_now() + 10.0; /* bound: the hoppers take ~30 ms */
  while (hoppers_done < HOPPERS && loom_now() < end) {
    LT_RC(loom_yield(), 0);
    ++*yields;
  }
  return hoppers_done == HOPPERS ? 0 : LOOM_ETIMEDOUT;
}

LOOM_TEST(compact, handoff_to_compacted_sleeper) {
  loom_loop *l = ts_loop(false); /* real clock: the yielder never lets the loop idle */
  LT_RC(loom_task_set_default_compact(l, true), 0);
  broken = 0;
  hoppers_done = 0;
  loom_future *t[HOPPERS], *y;
  for (int i = 0; i < HOPPERS; i++)
    LT_RC(loom_task_spawn(l, hopper, (void *)(uintptr_t)i, NULL, &t[i]), 0);
  long yields = 0;
  loom_task_options plain = {.name = "yielder", .compact = -1};
  LT_RC(loom_task_spawn_ex(l, yielder, &yields, &plain, &y), 0);
  ts_until(l, y);
  LT_RC(loom_future_error(y, 0, NULL), 0);
  for (int i = 0; i < HOPPERS; i++) {
    ts_until(l, t[i]);
    LT_RC(loom_future_error(t[i], 0, NULL), 0);
    loom_future_release(t[i]);
  }
  loom_future_release(y);
  assert_int_equal(broken, 0);
  LT_CHECK(yields > 0, "%ld yields", yields);
  loom_compact_stats st = stats_of(l);
  assert_int_equal(st.compacted, 0);
  assert_int_equal(st.compactions, st.restores);
  LT_CHECK(st.compactions > HOPPERS, "%llu compactions", st.compactions);
  loom_loop_destroy(l);
}

/* ---- pointers into a compact task's stack ---------------------------------- */

typedef struct shared {
  int *slot;            /* points at a local of `owner` */
  int *slot_after;      /* the same local, seen after its owner slept */
  loom_future *go;      /* set by the owner once it waits for `done` */
  loom_future *done;    /* set by the writer after writing *slot */
  bool owner_compacted_while_waiting;
  loom_future *owner;
} shared;

static int owner_fn(loom_future *self, void *arg) {
  shared *s = arg;
  volatile int local = 7;
  s->slot = (int *)&local;
  LT_RC(loom_sleep(0.01), 0); /* compacted: nobody uses the pointer now */
  s->slot_after = (int *)&local;
  loom_future_set_result(s->go, NULL, NULL);
  /* A future wait links a node on this stack: it stays resident, and the
   * writer may use the pointer meanwhile. */
  LT_RC(loom_future_wait(s->done, 5.0), 0);
  return local == 42 ? 0 : LOOM_EINVAL;
}

static int writer_fn(loom_future *self, void *arg) {
  shared *s = arg;
  LT_RC(loom_future_wait(s->go, 5.0), 0);
  LT_RC(loom_sleep(0.01), 0); /* the writer itself is compacted here */
  s->owner_compacted_while_waiting = loom_task_is_compacted(s->owner);
  *s->slot = 42;
  loom_future_set_result(s->done, NULL, NULL);
  return 0;
}

LOOM_TEST(compact, stack_pointer_used_by_another_task) {
  loom_loop *l = compact_loop();
  shared s = {0};
  LT_RC(loom_future_create(&s.go), 0);
  LT_RC(loom_future_create(&s.done), 0);
  loom_future *w;
  LT_RC(loom_task_spawn(l, owner_fn, &s, "owner", &s.owner), 0);
  LT_RC(loom_task_spawn(l, writer_fn, &s, "writer", &w), 0);
  ts_until(l, s.owner);
  ts_until(l, w);
  LT_RC(loom_future_error(s.owner, 0, NULL), 0);
  LT_RC(loom_future_error(w, 0, NULL), 0);
  assert_ptr_equal(s.slot, s.slot_after); /* same address after the copy-back */
  assert_false(s.owner_compacted_while_waiting);
  loom_compact_stats st = stats_of(l);
  assert_int_equal(st.compactions, 2); /* the two sleeps, never the waits */
  loom_future_release(s.owner);
  loom_future_release(w);
  loom_future_release(s.go);
  loom_future_release(s.done);
  loom_loop_destroy(l);
}

/* ---- cancellation, dumps and renames while compacted -------------------------- */

/* Not static: the dump names it through dladdr (-rdynamic). */
int compact_victim(loom_future *self, void *arg);
int compact_victim(loom_future *self, void *arg) {
  int *phase = arg;
  volatile unsigned char buf[800];
  fill(buf, sizeof buf, 99);
  int rc = loom_sleep(100.0);
  if (rc != LOOM_ECANCELLED || !intact(buf, sizeof buf, 99)) return LOOM_EINVAL;
  *phase = 1;
  loom_task_uncancel(self); /* refuses, and sleeps again */
  fill(buf, sizeof buf, 100);
  rc = loom_sleep(100.0);
  if (!intact(buf, sizeof buf, 100)) return LOOM_EINVAL;
  *phase = 2;
  return rc;
}

static int canceller(loom_future *self, void *arg) {
  loom_future *victim = arg;
  LT_RC(loom_sleep(1.0), 0);
  if (!loom_task_is_compacted(victim)) return LOOM_EINVAL;
  loom_task_cancel(victim, "first");
  LT_RC(loom_sleep(1.0), 0);
  if (!loom_task_is_compacted(victim)) return LOOM_EINVAL;
  /* A dump walks the real frames: the stack comes back for it. */
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  int frames = loom_task_print_stack(victim, f);
  fclose(f);
  bool named = text && strstr(text, "compact_victim");
  if (!named) print_message("%d frames:\n%s", frames, text ? text : "");
  free(text);
  if (frames < 2 || !named || loom_task_is_compacted(victim)) return LOOM_EINVAL;
  LT_RC(loom_task_set_name(victim, "renamed"), 0);
  loom_task_cancel(victim, "second");
  return 0;
}

LOOM_TEST(compact, cancel_dump_rename_while_compacted) {
  loom_loop *l = compact_loop();
  int phase = 0;
  loom_future *v, *c;
  LT_RC(loom_task_spawn(l, compact_victim, &phase, "victim", &v), 0);
  LT_RC(loom_task_spawn(l, canceller, v, "canceller", &c), 0);
  ts_until(l, c);
  ts_until(l, v);
  LT_RC(loom_future_error(c, 0, NULL), 0);
  assert_int_equal(phase, 2);
  assert_true(loom_future_cancelled(v));
  assert_string_equal(loom_task_name(v), "renamed");
  loom_compact_stats st = stats_of(l);
  assert_int_equal(st.compacted, 0);
  assert_int_equal(st.compactions, st.restores);
  LT_CHECK(st.compactions >= 4, "%llu compactions", st.compactions);
  loom_future_release(v);
  loom_future_release(c);
  loom_loop_destroy(l);
}

static int nap_once(loom_future *self, void *arg) { return loom_sleep(0.01); }

/* ---- closing a loop with compacted sleepers ------------------------------------- */

static int unwound;

static int long_nap(loom_future *self, void *arg) {
  volatile unsigned char buf[500];
  fill(buf, sizeof buf, 3);
  int rc = loom_sleep(100.0);
  if (rc == LOOM_ECANCELLED && intact(buf, sizeof buf, 3)) unwound++;
  return rc;
}

LOOM_TEST(compact, loop_close_cancels_compacted_sleepers) {
  loom_loop *l = compact_loop();
  unwound = 0;
  loom_future *t[5], *sp;
  for (int i = 0; i < 5; i++) LT_RC(loom_task_spawn(l, long_nap, NULL, NULL, &t[i]), 0);
  LT_RC(loom_task_spawn(l, nap_once, NULL, "spy", &sp), 0);
  ts_until(l, sp);
  assert_int_equal(stats_of(l).compacted, 5);
  ts_capture_reports(); /* "still pending when its loop closed" */
  loom_loop_destroy(l);
  ts_restore_reports();
  assert_int_equal(unwound, 5);
  for (int i = 0; i < 5; i++) {
    assert_true(loom_future_cancelled(t[i]));
    loom_future_release(t[i]);
  }
  loom_future_release(sp);
}

/* ---- breaking the rule: a pointer into a sleeping compact task -------------------- */

static volatile int *stale;

static int hands_out_local(loom_future *self, void *arg) {
  volatile int local = 1234;
  stale = &local;
  return loom_sleep(10.0);
}

static int reads_stale(loom_future *self, void *arg) {
  if (loom_sleep(1.0) < 0) _exit(3);
  int v = *stale; /* its owner sleeps, compacted: the memory is gone */
  _exit(v == 1234 ? 6 : 7);
}

/* The child: an owner hands out a pointer into its stack and sleeps
 * (compacted); a reader dereferences it.  Exits 6/7 if the read survived. */
static void stale_child(void *arg) {
  signal(SIGSEGV, SIG_DFL); /* not the test framework's handler: die */
  loom_loop *l = NULL;
  loom_loop_options o = {.virtual_clock = true};
  if (loom_loop_create(&l, &o) < 0 || loom_task_set_default_compact(l, true) < 0) _exit(3);
  loom_future *a, *b;
  if (loom_task_spawn(l, hands_out_local, NULL, "owner", &a) < 0 ||
      loom_task_spawn(l, reads_stale, NULL, "reader", &b) < 0)
    _exit(3);
  loom_loop_run_until_complete(l, b);
  _exit(4);
}

/* With guard pages (this kernel) the stale read faults; without (older
 * kernels, valgrind) it reads the zeros of released pages. */
LOOM_TEST(compact, stale_pointer_into_compacted_stack_faults) {
  /* Carve one stack so that the guard mode of this kernel is known. */
  loom__stack_pool *pool;
  loom__stack *stk;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  LT_RC(loom__stack_get(pool, 0, &stk), 0);
  loom__stack_put(pool, stk);
  loom__stack_pool_destroy(pool);
  bool guards = loom__stack_guard_mode() == LOOM__GUARD_MADVISE;
  char err[8192];
  int st = loom_test_run_child(stale_child, NULL, err, sizeof err);
  if (guards)
    LT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
             "status 0x%x: %s", st, err);
  else
    LT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "status 0x%x: %s", st, err);
}

/* ---- per-task choice ------------------------------------------------------------ */

static int looked;

static int look(loom_future *self, void *arg) {
  loom_future **t = arg;
  LT_RC(loom_sleep(0.005), 0);
  looked = (loom_task_is_compacted(t[0]) ? 1 : 0) | (loom_task_is_compacted(t[1]) ? 2 : 0);
  return 0;
}

/* Which of two tasks, spawned with these options, are compacted when they
 * sleep: bit 0 the first, bit 1 the second. */
static int choice_on(loom_loop *l, int opt_a, int opt_b) {
  loom_task_options a = {.compact = opt_a}, b = {.compact = opt_b};
  loom_future *t[2], *lk;
  looked = -1;
  LT_RC(loom_task_spawn_ex(l, nap_once, NULL, &a, &t[0]), 0);
  LT_RC(loom_task_spawn_ex(l, nap_once, NULL, &b, &t[1]), 0);
  LT_RC(loom_task_spawn(l, look, t, "look", &lk), 0);
  ts_until(l, lk);
  ts_until(l, t[0]);
  ts_until(l, t[1]);
  LT_RC(loom_future_error(lk, 0, NULL), 0);
  loom_future_release(t[0]);
  loom_future_release(t[1]);
  loom_future_release(lk);
  return looked;
}

LOOM_TEST(compact, per_task_choice) {
  loom_loop *plain = ts_loop(true);
  assert_int_equal(choice_on(plain, 1, 0), 1); /* only the one that opts in */
  assert_int_equal(stats_of(plain).compactions, 1);
  loom_loop_destroy(plain);
  loom_loop *l = compact_loop();
  assert_int_equal(choice_on(l, -1, 0), 2); /* all but the one that opts out */
  loom_loop_destroy(l);
  loom_compact_stats st;
  LT_RC(loom_task_compact_stats(NULL, &st), LOOM_EINVAL);
  LT_RC(loom_task_set_default_compact(NULL, true), LOOM_EINVAL);
  assert_false(loom_task_is_compacted(NULL));
}

/* ---- a million compact sleepers ---------------------------------------------------- */

#if defined(LOOM_TSAN)
enum { N_IDLE = 1000 }; /* TSan: at most ~8,000 fibers */
#else
enum { N_IDLE = 1000000 };
#endif
static long woke;

static int idle(loom_future *self, void *arg) {
  volatile unsigned char buf[64];
  fill(buf, sizeof buf, 5);
  int rc = loom_sleep(1.0);
  if (rc == 0 && intact(buf, sizeof buf, 5)) woke++;
  return rc;
}

static int census(loom_future *self, void *arg) {
  loom_compact_stats *out = arg;
  LT_RC(loom_sleep(0.5), 0);
  *out = stats_of(loom_task_loop(self));
  return loom_sleep(1.0);
}

LOOM_TEST_T(compact, million_idle_tasks, 300) {
  loom_loop *l = compact_loop();
  woke = 0;
  for (long i = 0; i < N_IDLE; i++) LT_RC(loom_task_spawn(l, idle, NULL, NULL, NULL), 0);
  loom_compact_stats mid = {0};
  loom_future *c;
  double t0 = loom_now();
  LT_RC(loom_task_spawn(l, census, &mid, "census", &c), 0);
  LT_RC(loom_loop_run_until_complete(l, c), 0);
  LT_RC(loom_future_error(c, 0, NULL), 0);
  assert_int_equal(woke, N_IDLE);
  assert_int_equal(mid.compacted, N_IDLE);
  double per = (double)mid.saved_bytes / N_IDLE;
  print_message("    %d compact sleepers in %.2f s, %.0f stack bytes kept each\n", N_IDLE,
                loom_now() - t0, per);
  /* The frames of a sleep (sanitizers make them several times larger). */
  LT_CHECK(per < 4096, "%.0f stack bytes kept per sleeper", per);
  loom_future_release(c);
  loom_loop_destroy(l);
}

/* ---- fault sweep --------------------------------------------------------------------- */

static int sweep_task(loom_future *self, void *arg) {
  volatile unsigned char buf[300];
  for (unsigned r = 0; r < 3; r++) {
    fill(buf, sizeof buf, r + 7);
    int rc = loom_sleep(0.01);
    if (rc < 0) return rc;
    if (!intact(buf, sizeof buf, r + 7)) broken++;
  }
  return 0;
}

static int sweep_once(void *ctx) {
  loom_loop_options o = {.virtual_clock = true};
  loom_loop *l = NULL;
  int rc = loom_loop_create(&l, &o);
  if (rc < 0) return rc;
  rc = loom_task_set_default_compact(l, true);
  loom_future *t[3] = {0};
  for (int i = 0; rc == 0 && i < 3; i++) rc = loom_task_spawn(l, sweep_task, NULL, NULL, &t[i]);
  for (int i = 0; rc == 0 && i < 3; i++) rc = loom_loop_run_until_complete(l, t[i]);
  for (int i = 0; rc == 0 && i < 3; i++) rc = loom_future_error(t[i], 0, NULL);
  for (int i = 0; i < 3; i++)
    if (t[i]) loom_future_release(t[i]);
  loom_loop_destroy(l);
  return rc > 0 ? 0 : rc;
}

LOOM_TEST_T(compact, fault_sweep, 120) {
  broken = 0;
  ts_capture_reports();
  int fired = loom_test_fault_sweep(sweep_once, NULL, LOOM_FAULT_ALL, 300);
  ts_restore_reports();
  print_message("    %d fault runs\n", fired);
  assert_int_equal(broken, 0);
  LT_CHECK(fired > 3, "only %d runs hit a fault", fired);
}
