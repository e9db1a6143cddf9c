/* W7 peer: n libuv timers (uv_timer_start) with random delays in [0, 1 s].
 * libuv timers have millisecond resolution, so delays are whole ms.
 * Prints RESULT rate (timers/s: n over the time from the first
 * uv_timer_start to the last callback) and RESULT overhead_ms (that time
 * beyond 1 s).
 */
#include <uv.h>

#include "../common.h"

static long long fired, total;
static double t_last;

static void on_timer(uv_timer_t *t) {
  if (++fired == total) t_last = bench_now();
}

int main(int argc, char **argv) {
  total = bench_arg(argc, argv, "--n", 1000000);
  uv_loop_t *loop = uv_default_loop();
  uv_timer_t *timers = malloc(sizeof(*timers) * (size_t)total);
  uint64_t *delays = malloc(sizeof(*delays) * (size_t)total);
  if (!timers || !delays) return 1;
  srand48(42);
  for (long long i = 0; i < total; i++) delays[i] = (uint64_t)(drand48() * 1000.0 + 0.5); /* [0, 1000] ms */
  uv_update_time(loop);
  double t0 = bench_now();
  for (long long i = 0; i < total; i++) {
    uv_timer_init(loop, &timers[i]);
    uv_timer_start(&timers[i], on_timer, delays[i], 0);
  }
  /* One-shot timers stop themselves; the loop ends when all have fired. */
  uv_run(loop, UV_RUN_DEFAULT);
  if (fired != total) return 1;
  double elapsed = t_last - t0;
  bench_result("rate", (double)total / elapsed);
  bench_result("overhead_ms", (elapsed - 1.0) * 1000.0);
  for (long long i = 0; i < total; i++) uv_close((uv_handle_t *)&timers[i], NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  free(timers);
  free(delays);
  return 0;
}
