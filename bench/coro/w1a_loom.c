/* w1a_loom.c - W1a: raw context switch.  Two coroutines switch to each other
 * --n times (default 10,000,000 switches in all); prints
 *     RESULT ns_per_switch X
 * The peers (Boost.Context fcontext, ucontext) do the same work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/coro/coro.h"

static loom__coro main_ctx, a, b;
static long switches_left;

static void body_a(loom__coro *self, void *arg) {
  while (switches_left > 0) {
    switches_left--;
    loom__coro_switch(self, &b);
  }
}

static void body_b(loom__coro *self, void *arg) {
  for (;;) {
    switches_left--;
    loom__coro_switch(self, &a);
  }
}

int main(int argc, char **argv) {
  long n = 10000000;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--n")) n = atol(argv[i + 1]);
  loom__stack_pool *pool;
  loom__stack *sa, *sb;
  if (loom__stack_pool_create(0, &pool) || loom__stack_get(pool, 0, &sa) ||
      loom__stack_get(pool, 0, &sb)) {
    fprintf(stderr, "w1a: no stacks\n");
    return 1;
  }
  loom__coro_thread_init(&main_ctx);
  loom__coro_init(&a, sa, body_a, NULL);
  loom__coro_init(&b, sb, body_b, NULL);
  a.exit_to = &main_ctx;
  switches_left = 1000; /* warm up */
  loom__coro_switch(&main_ctx, &a);
  loom__coro_init(&a, sa, body_a, NULL); /* b stays parked, a restarts */
  a.exit_to = &main_ctx;
  switches_left = n;
  int64_t t0 = loom_now_ns();
  loom__coro_switch(&main_ctx, &a);
  int64_t t1 = loom_now_ns();
  printf("RESULT ns_per_switch %.3f\n", (double)(t1 - t0) / (double)n);
  loom__coro_fini(&a);
  loom__coro_fini(&b);
  loom__stack_put(pool, sa);
  loom__stack_put(pool, sb);
  loom__stack_pool_destroy(pool);
  return 0;
}
