/* cross_main.c - the engine checks of test_coro.c without cmocka, for the
 * aarch64 cross build run under qemu (test_aarch64.sh): switches, callee-
 * saved registers (x19-x28, d8-d15), deep recursion, stack reuse, and the
 * overflow report.  Prints "ok <name>" per check; exits non-zero on failure. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coro/coro.h"
#include "regs_check.h"

#define CHECK(c)                                                                \
  do {                                                                          \
    if (!(c)) {                                                                 \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);              \
      exit(1);                                                                  \
    }                                                                           \
  } while (0)

static loom__stack_pool *pool;
static loom__coro main_ctx, ca, cb;
static long na, nb;

static void body_a(loom__coro *self, void *arg) {
  for (int i = 0; i < 100000; i++) {
    CHECK(na == nb);
    na++;
    loom__coro_switch(self, &cb);
  }
}

static void body_b(loom__coro *self, void *arg) {
  for (;;) {
    nb++;
    CHECK(nb == na);
    loom__coro_switch(self, &ca);
  }
}

static void check_ping_pong(void) {
  loom__stack *sa, *sb;
  CHECK(loom__stack_get(pool, 0, &sa) == 0 && loom__stack_get(pool, 0, &sb) == 0);
  loom__coro_init(&ca, sa, body_a, NULL);
  loom__coro_init(&cb, sb, body_b, NULL);
  ca.exit_to = &main_ctx;
  loom__coro_switch(&main_ctx, &ca);
  CHECK(ca.done && na == 100000 && nb == 100000);
  loom__coro_fini(&ca);
  loom__coro_fini(&cb);
  loom__stack_put(pool, sa);
  loom__stack_put(pool, sb);
  puts("ok ping_pong");
}

static loom__coro rc_co;
static uint64_t co_bad = 99;
static void to_co(void) { loom__coro_switch(&main_ctx, &rc_co); }
static void to_main(void) { loom__coro_switch(&rc_co, &main_ctx); }
static void reg_body(loom__coro *self, void *arg) {
  co_bad = regs_survive(to_main, 0x5a5a000000000000ull);
}

static void check_registers(void) {
  loom__stack *s;
  CHECK(loom__stack_get(pool, 0, &s) == 0);
  loom__coro_init(&rc_co, s, reg_body, NULL);
  rc_co.exit_to = &main_ctx;
  CHECK(regs_survive(to_co, 0x1234000000000000ull) == 0);
  to_co();
  CHECK(rc_co.done && co_bad == 0);
  loom__coro_fini(&rc_co);
  loom__stack_put(pool, s);
  puts("ok callee_saved_registers");
}

static long __attribute__((noinline)) recurse(int depth) {
  volatile char pad[256];
  pad[0] = (char)depth;
  if (depth == 0) return 0;
  return recurse(depth - 1) + 1 + (pad[0] - (char)depth);
}

static long deep_result;
static void deep_body(loom__coro *self, void *arg) { deep_result = recurse(300); }

static void check_deep(void) {
  loom__stack *s;
  CHECK(loom__stack_get(pool, 0, &s) == 0);
  loom__coro c;
  loom__coro_init(&c, s, deep_body, NULL);
  c.exit_to = &main_ctx;
  loom__coro_switch(&main_ctx, &c);
  CHECK(c.done && deep_result == 300);
  loom__coro_fini(&c);
  loom__stack_put(pool, s);
  loom__stack *again;
  CHECK(loom__stack_get(pool, 0, &again) == 0 && again == s); /* reused */
  loom__stack_put(pool, again);
  puts("ok deep_recursion_and_reuse");
}

static volatile long limit = -1;
static long __attribute__((noinline)) forever(long n) {
  volatile char pad[512];
  pad[0] = (char)n;
  if (n == limit) return 0;
  return forever(n + 1) + pad[0];
}
static void overflow_body(loom__coro *self, void *arg) { forever(0); }

static void check_overflow(void) {
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(NULL);
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    loom__stack_pool *p;
    loom__stack *s;
    if (loom__stack_pool_create(0, &p) || loom__stack_get(p, 0, &s)) _exit(3);
    static loom__coro c;
    loom__coro_init(&c, s, overflow_body, NULL);
    c.name = "deep-one";
    c.exit_to = &main_ctx;
    loom__coro_switch(&main_ctx, &c);
    _exit(4);
  }
  close(fds[1]);
  char buf[4096];
  size_t n = 0;
  ssize_t r;
  while (n + 1 < sizeof buf && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
  buf[n] = 0;
  int st;
  CHECK(waitpid(pid, &st, 0) == pid);
  if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)) fprintf(stderr, "status 0x%x, stderr: %s\n", st, buf);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  CHECK(strstr(buf, "loom: stack overflow in task 'deep-one' (stack size 131072)"));
  puts("ok overflow_report");
}

int main(void) {
  CHECK(loom__stack_pool_create(0, &pool) == 0);
  loom__coro_thread_init(&main_ctx);
  check_ping_pong();
  check_registers();
  check_deep();
  check_overflow();
  loom__coro_thread_fini(&main_ctx);
  loom__stack_pool_destroy(pool);
  CHECK(loom_live_count(LOOM_LIVE_STACKS) == 0);
  puts("all ok");
  return 0;
}
