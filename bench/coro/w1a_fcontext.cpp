/* W1a peer: raw context switch with Boost.Context's fcontext, the fastest
 * widely used C/C++ switch (hand-written assembly per ABI; what
 * Boost.Coroutine2 and Boost.Fiber run on).
 *
 * Two contexts, main and a coroutine, jump to each other n times in all;
 * prints RESULT ns_per_switch.
 */
#include <boost/context/detail/fcontext.hpp>

#include <cstdlib>

extern "C" {
#include "../common.h"
}

namespace ctx = boost::context::detail;

static long long switches_left;

static void coro_body(ctx::transfer_t t) {
  for (;;) {
    switches_left--;
    t = ctx::jump_fcontext(t.fctx, nullptr);
  }
}

int main(int argc, char **argv) {
  long long n = bench_arg(argc, argv, "--n", 10000000);
  const std::size_t stack_size = 64 * 1024;
  char *stack = static_cast<char *>(std::malloc(stack_size));
  if (!stack) return 1;
  /* fcontext stacks grow down: pass the top. */
  ctx::fcontext_t coro = ctx::make_fcontext(stack + stack_size, stack_size, coro_body);
  switches_left = n;
  double t0 = bench_now();
  /* Each loop turn is two switches: main -> coro, coro -> main. */
  while (switches_left > 0) {
    switches_left--;
    coro = ctx::jump_fcontext(coro, nullptr).fctx;
  }
  double t = bench_now() - t0;
  bench_result("ns_per_switch", t * 1e9 / static_cast<double>(n));
  std::free(stack);
  return 0;
}
