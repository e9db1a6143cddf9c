/* test_coro.c - the coroutine engine: switches, preserved registers and FP
 * control, deep recursion, stack pool reuse and release, a million stacks
 * within the mapping limit, guard pages, the overflow report and the trap
 * for an entry function that returns.  Also built for aarch64 and run under
 * qemu by test_aarch64.sh (LOOM_CORO_CROSS: no cmocka there, see below). */
#include <fenv.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loom_test.h"
#include "coro/coro.h"
#include "regs_check.h"

/* ---- ping-pong ---------------------------------------------------------- */

typedef struct pp {
  loom__coro main, a, b;
  long n, a_count, b_count;
  int order_errors;
} pp;

static void pp_a(loom__coro *self, void *arg) {
  pp *p = arg;
  for (long i = 0; i < p->n; i++) {
    if (p->a_count != p->b_count) p->order_errors++;
    p->a_count++;
    loom__coro_switch(self, &p->b);
  }
}

static void pp_b(loom__coro *self, void *arg) {
  pp *p = arg;
  for (;;) {
    if (p->b_count + 1 != p->a_count) p->order_errors++;
    p->b_count++;
    loom__coro_switch(self, &p->a);
  }
}

LOOM_TEST(coro, ping_pong_many) {
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  loom__stack *sa, *sb;
  LT_RC(loom__stack_get(pool, 0, &sa), 0);
  LT_RC(loom__stack_get(pool, 0, &sb), 0);
  pp p = {.n = 200000};
  loom__coro_thread_init(&p.main);
  loom__coro_init(&p.a, sa, pp_a, &p);
  loom__coro_init(&p.b, sb, pp_b, &p);
  p.a.exit_to = &p.main;
  loom__coro_switch(&p.main, &p.a);
  assert_true(p.a.done);
  assert_false(p.b.done); /* b is abandoned while suspended */
  LT_CHECK(p.a_count == p.n && p.b_count == p.n, "a %ld b %ld", p.a_count, p.b_count);
  assert_int_equal(p.order_errors, 0);
  loom__coro_fini(&p.a);
  loom__coro_fini(&p.b);
  loom__coro_thread_fini(&p.main);
  loom__stack_put(pool, sa);
  loom__stack_put(pool, sb);
  loom__stack_pool_destroy(pool);
}

/* ---- callee-saved registers survive a switch ----------------------------- */

static loom__coro reg_main, reg_co;
static uint64_t reg_co_bad = 99;

static void to_co(void) { loom__coro_switch(&reg_main, &reg_co); }
static void to_main(void) { loom__coro_switch(&reg_co, &reg_main); }

static void reg_body(loom__coro *self, void *arg) {
  /* Different values from main's: a switch that mixed them up shows. */
  reg_co_bad = regs_survive(to_main, 0x5a5a000000000000ull);
}

LOOM_TEST(coro, callee_saved_registers_preserved) {
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  loom__stack *s;
  LT_RC(loom__stack_get(pool, 0, &s), 0);
  loom__coro_thread_init(&reg_main);
  loom__coro_init(&reg_co, s, reg_body, NULL);
  reg_co.exit_to = &reg_main;
  /* main -> co (co loads its values, switches back) -> main checks its own */
  uint64_t bad_main = regs_survive(to_co, 0x1234000000000000ull);
  assert_true(bad_main == 0);
  /* main -> co: co checks its values and finishes */
  to_co();
  assert_true(reg_co.done);
  assert_true(reg_co_bad == 0);
  loom__coro_fini(&reg_co);
  loom__coro_thread_fini(&reg_main);
  loom__stack_put(pool, s);
  loom__stack_pool_destroy(pool);
}

#if defined(__x86_64__)
/* MXCSR and the x87 control word belong to the context (System V says a
 * callee preserves them), so each coroutine keeps its rounding mode. */
static loom__coro fp_main, fp_co;
static int fp_seen_in_co = -1;

static void fp_body(loom__coro *self, void *arg) {
  fesetround(FE_UPWARD);
  loom__coro_switch(self, &fp_main);
  fp_seen_in_co = fegetround();
  fesetround(FE_TONEAREST);
}

LOOM_TEST(coro, fp_control_preserved) {
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  loom__stack *s;
  LT_RC(loom__stack_get(pool, 0, &s), 0);
  assert_int_equal(fegetround(), FE_TONEAREST);
  loom__coro_thread_init(&fp_main);
  loom__coro_init(&fp_co, s, fp_body, NULL);
  fp_co.exit_to = &fp_main;
  loom__coro_switch(&fp_main, &fp_co);
  assert_int_equal(fegetround(), FE_TONEAREST); /* co's FE_UPWARD stayed there */
  fesetround(FE_TOWARDZERO);
  loom__coro_switch(&fp_main, &fp_co);
  assert_int_equal(fp_seen_in_co, FE_UPWARD);   /* main's change stayed here */
  assert_int_equal(fegetround(), FE_TOWARDZERO);
  fesetround(FE_TONEAREST);
  loom__coro_fini(&fp_co);
  loom__coro_thread_fini(&fp_main);
  loom__stack_put(pool, s);
  loom__stack_pool_destroy(pool);
}
#endif

/* ---- deep recursion ----------------------------------------------------- */

static long __attribute__((noinline)) recurse(int depth, long acc) {
  volatile char pad[256];
  pad[0] = (char)depth;
  pad[255] = (char)acc;
  if (depth == 0) return acc + pad[0];
  return recurse(depth - 1, acc + 1) + pad[255] - (char)acc;
}

typedef struct deep {
  int depth;
  long result;
  loom__coro main;
} deep;

static void deep_body(loom__coro *self, void *arg) {
  deep *d = arg;
  d->result = recurse(d->depth, 0);
}

LOOM_TEST(coro, deep_recursion_within_stack) {
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create((size_t)1 << 20, &pool), 0);
  loom__stack *s;
  LT_RC(loom__stack_get(pool, 0, &s), 0);
  assert_true(s->size == (size_t)1 << 20);
  /* ~300-1000 bytes a frame (more under ASan): 1000 frames is well inside
   * 1 MiB and far past one page. */
  deep d = {.depth = 1000};
  loom__coro c;
  loom__coro_thread_init(&d.main);
  loom__coro_init(&c, s, deep_body, &d);
  c.exit_to = &d.main;
  loom__coro_switch(&d.main, &c);
  assert_true(c.done);
  assert_int_equal(d.result, 1000);
  loom__coro_fini(&c);
  loom__coro_thread_fini(&d.main);
  loom__stack_put(pool, s);
  loom__stack_pool_destroy(pool);
}

/* ---- stack pool ---------------------------------------------------------- */

LOOM_TEST(coro, stack_reuse_lifo_and_release) {
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  assert_true(loom__stack_pool_size(pool) == LOOM__STACK_DEFAULT_SIZE);
  loom__stack *s1, *s2;
  LT_RC(loom__stack_get(pool, 0, &s1), 0);
  assert_int_equal(loom_live_count(LOOM_LIVE_STACKS), 1);
  loom__stack_put(pool, s1);
  LT_RC(loom__stack_get(pool, 0, &s2), 0);
  assert_ptr_equal(s1, s2); /* the hot one comes back */
  assert_int_equal(loom_live_count(LOOM_LIVE_STACKS), 1);
  /* Fill the hot cache, then a batch of 128 more (released together), then
   * two more (kept until the next batch). */
  enum { N = 64 + 128 + 2 };
  static loom__stack *many[N];
  many[0] = s2;
  for (int i = 1; i < N; i++) LT_RC(loom__stack_get(pool, 0, &many[i]), 0);
  for (int i = 0; i < N; i++) memset(many[i]->lo, 0xab, 64);
  for (int i = 0; i < N; i++) loom__stack_put(pool, many[i]);
  size_t hot, cached = loom__stack_pool_cached(pool, &hot);
  LT_CHECK(cached == N && hot == 64 + 2, "cached %zu resident %zu", cached, hot);
  /* Hot stacks come first and keep their contents, then the two not yet
   * released... */
  for (int i = 0; i < 64 + 2; i++) {
    LT_RC(loom__stack_get(pool, 0, &many[i]), 0);
    LT_CHECK(many[i]->hot && (unsigned char)many[i]->lo[0] == 0xab, "stack %d", i);
  }
  /* ...then released ones, whose pages read as zero again. */
  loom__stack *c;
  LT_RC(loom__stack_get(pool, 0, &c), 0);
  assert_false(c->hot);
  assert_int_equal((unsigned char)c->lo[0], 0);
  loom__stack_put(pool, c);
  for (int i = 0; i < 64 + 2; i++) loom__stack_put(pool, many[i]);
  /* Another size class lives beside the default one. */
  loom__stack *big;
  LT_RC(loom__stack_get(pool, 512 * 1024, &big), 0);
  assert_true(big->size == 512 * 1024);
  loom__stack_put(pool, big);
  assert_int_equal(loom_live_count(LOOM_LIVE_STACKS), N + 1);
  loom__stack_pool_destroy(pool);
  assert_int_equal(loom_live_count(LOOM_LIVE_STACKS), 0);
}

static int count_maps(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  int n = 0, ch;
  while ((ch = fgetc(f)) != EOF)
    if (ch == '\n') n++;
  fclose(f);
  return n;
}

LOOM_TEST_T(coro, million_stacks_few_mappings, 300) {
  enum { N = 1000000 };
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  loom__stack **all = malloc(N * sizeof *all);
  assert_non_null(all);
  int before = count_maps();
  double t0 = loom_now();
  for (int i = 0; i < N; i++) LT_RC(loom__stack_get(pool, 0, &all[i]), 0);
  int after = count_maps();
  double t1 = loom_now();
  /* Touch the top of a few stacks: committed lazily, each works. */
  for (int i = 0; i < N; i += 9973) all[i]->lo[all[i]->size - 1] = 1;
  /* ~260 slabs; the kernel merges neighbours (TSan's shadow adds a few per
   * slab).  Either way far below vm.max_map_count = 65530. */
  if (loom__stack_guard_mode() == LOOM__GUARD_MADVISE)
    LT_CHECK(after - before < 5000, "%d new mappings for a million stacks", after - before);
  else /* mprotect guards: two VMAs a stack (docs/coroutines.md) */
    LT_CHECK(after - before <= 2 * N + 1000, "%d new mappings", after - before);
  print_message("    1M stacks: %.2f s, %d new mappings, guard mode %d\n", t1 - t0,
                after - before, (int)loom__stack_guard_mode());
  for (int i = 0; i < N; i++) loom__stack_put(pool, all[i]);
  assert_int_equal(loom_live_count(LOOM_LIVE_STACKS), N);
  loom__stack_pool_destroy(pool);
  free(all);
}

LOOM_TEST(coro, stack_get_fault_sweep_is_clean) {
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  /* Fail each fault point of the first carve in turn: an error, no leak. */
  for (uint64_t n = 1; n < 8; n++) {
    loom_fault_arm(n, 0, LOOM_FAULT_ALL);
    loom__stack *s = NULL;
    int rc = loom__stack_get(pool, 0, &s);
    uint64_t fired = loom_fault_injected();
    loom_fault_disarm();
    if (rc == 0) loom__stack_put(pool, s);
    else LT_CHECK(rc < 0 && fired, "rc %d fired %lu", rc, (unsigned long)fired);
    if (!fired) break;
  }
  loom__stack_pool_destroy(pool);
}

/* ---- crashes, in a child process (loom_test_run_child) ------------------- */

static volatile long forever_limit = -1; /* never reached: runs off the stack */

static long __attribute__((noinline)) forever(long n) {
  volatile char pad[512];
  pad[0] = (char)n;
  if (n == forever_limit) return 0;
  return forever(n + 1) + pad[0];
}

static void overflow_body(loom__coro *self, void *arg) { forever(0); }

static void overflow_child(void *arg) {
  loom__stack_pool *pool;
  loom__stack *s;
  if (loom__stack_pool_create(0, &pool) || loom__stack_get(pool, 0, &s)) _exit(3);
  static loom__coro main_ctx, c;
  loom__coro_thread_init(&main_ctx);
  loom__coro_init(&c, s, overflow_body, NULL);
  c.name = "deep-one";
  c.exit_to = &main_ctx;
  loom__coro_switch(&main_ctx, &c);
  _exit(4); /* not reached */
}

LOOM_TEST(coro, overflow_names_the_task) {
  char err[8192];
  int st = loom_test_run_child(overflow_child, NULL, err, sizeof err);
  LT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x, stderr: %s", st, err);
  char want[128];
  snprintf(want, sizeof want, "loom: stack overflow in task 'deep-one' (stack size %zu)",
           LOOM__STACK_DEFAULT_SIZE);
  LT_CHECK(strstr(err, want) != NULL, "stderr was: %s", err);
}

static void guard_child(void *arg) {
  loom__stack_pool *pool;
  loom__stack *s;
  if (loom__stack_pool_create(0, &pool) || loom__stack_get(pool, 0, &s)) _exit(3);
  signal(SIGSEGV, SIG_DFL);
  s->lo[0] = 1;                     /* the lowest usable byte is fine */
  ((volatile char *)s->lo)[-1] = 1; /* the guard is not */
  _exit(5);
}

LOOM_TEST(coro, guard_page_faults) {
  char err[8192];
  int st = loom_test_run_child(guard_child, NULL, err, sizeof err);
  LT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status 0x%x, stderr: %s", st, err);
}

static void returner(loom__coro *self, void *arg) {}

static void return_child(void *arg) {
  loom__stack_pool *pool;
  loom__stack *s;
  if (loom__stack_pool_create(0, &pool) || loom__stack_get(pool, 0, &s)) _exit(3);
  static loom__coro main_ctx, c;
  loom__coro_thread_init(&main_ctx);
  loom__coro_init(&c, s, returner, NULL); /* exit_to left NULL: nowhere to go */
  loom__coro_switch(&main_ctx, &c);
  _exit(4);
}

LOOM_TEST(coro, returning_without_exit_traps) {
  char err[8192];
  int st = loom_test_run_child(return_child, NULL, err, sizeof err);
  LT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x", st);
  LT_CHECK(strstr(err, "loom: coroutine entry function returned") != NULL, "stderr: %s", err);
}

/* ---- backtrace of a suspended coroutine ---------------------------------- */

static loom__coro bt_main, bt_co;

static void __attribute__((noinline)) bt_leaf(int depth) {
  if (depth > 0) {
    bt_leaf(depth - 1);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return;
  }
  loom__coro_switch(&bt_co, &bt_main);
}

static void __attribute__((noinline)) bt_body(loom__coro *self, void *arg) {
  bt_leaf(6);
  __asm__ volatile("" ::: "memory"); /* no tail call: its frame is counted */
}

LOOM_TEST(coro, backtrace_of_suspended) {
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  loom__stack *s;
  LT_RC(loom__stack_get(pool, 0, &s), 0);
  loom__coro_thread_init(&bt_main);
  loom__coro_init(&bt_co, s, bt_body, NULL);
  bt_co.exit_to = &bt_main;
  loom__coro_switch(&bt_main, &bt_co);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  int frames = loom__coro_backtrace(&bt_co, f, 64);
  fclose(f);
  /* 7 bt_leaf frames, the body, loom__coro_main (+ the switch's caller). */
  LT_CHECK(frames >= 9 && frames < 64, "%d frames:\n%s", frames, buf);
  LT_CHECK(strstr(buf, "loom__coro_main") != NULL, "%s", buf);
  free(buf);
  loom__coro_switch(&bt_main, &bt_co);
  assert_true(bt_co.done);
  assert_int_equal(loom__coro_backtrace(&bt_co, stderr, 64), 0);
  loom__coro_fini(&bt_co);
  loom__coro_thread_fini(&bt_main);
  loom__stack_put(pool, s);
  loom__stack_pool_destroy(pool);
}

/* ---- the fallback for kernels before 6.13 -------------------------------- */

static loom__stack *fallback_stack;

static void fallback_guard_child(void *arg) {
  signal(SIGSEGV, SIG_DFL);
  fallback_stack->lo[0] = 1;
  ((volatile char *)fallback_stack->lo)[-1] = 1;
  _exit(5);
}

LOOM_TEST(coro, mprotect_fallback_guards) {
  loom__guard_mode saved = loom__stack_guard_mode();
  loom__stack_guard_mode_set(LOOM__GUARD_MPROTECT);
  loom__stack_pool *pool;
  LT_RC(loom__stack_pool_create(0, &pool), 0);
  enum { N = 100 };
  loom__stack *s[N];
  int before = count_maps();
  for (int i = 0; i < N; i++) LT_RC(loom__stack_get(pool, 0, &s[i]), 0);
  int after = count_maps();
  loom__stack_guard_mode_set(saved);
  /* Each guard splits the slab: about two mappings a stack. */
  LT_CHECK(after - before >= N, "only %d new mappings for %d mprotect guards", after - before, N);
  fallback_stack = s[N / 2];
  char err[4096];
  int st = loom_test_run_child(fallback_guard_child, NULL, err, sizeof err);
  LT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status 0x%x", st);
  for (int i = 0; i < N; i++) loom__stack_put(pool, s[i]);
  loom__stack_pool_destroy(pool);
}
