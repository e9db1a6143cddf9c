/* W1a peer: raw context switch with POSIX ucontext (swapcontext).
 *
 * Two contexts, main and a coroutine, switch to each other n times in all;
 * prints RESULT ns_per_switch.  swapcontext saves and restores the signal
 * mask, a system call per switch: this is the cost loom's assembly switch
 * avoids, shown here as the classic C way to write coroutines.
 */
#include <ucontext.h>

#include "../common.h"

static ucontext_t main_ctx, coro_ctx;
static long long switches_left;

static void coro_body(void) {
  for (;;) {
    switches_left--;
    swapcontext(&coro_ctx, &main_ctx);
  }
}

int main(int argc, char **argv) {
  long long n = bench_arg(argc, argv, "--n", 10000000);
  size_t stack_size = 64 * 1024;
  char *stack = malloc(stack_size);
  if (!stack || getcontext(&coro_ctx) < 0) return 1;
  coro_ctx.uc_stack.ss_sp = stack;
  coro_ctx.uc_stack.ss_size = stack_size;
  coro_ctx.uc_link = &main_ctx;
  makecontext(&coro_ctx, coro_body, 0);
  switches_left = n;
  double t0 = bench_now();
  /* Each loop turn is two switches: main -> coro, coro -> main. */
  while (switches_left > 0) {
    switches_left--;
    swapcontext(&main_ctx, &coro_ctx);
  }
  double t = bench_now() - t0;
  bench_result("ns_per_switch", t * 1e9 / (double)n);
  free(stack);
  return 0;
}
