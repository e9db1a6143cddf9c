/* timers_cpu.c - the CPU cost of W7's work without its one-second wait:
 * n timers with random delays in [0, 1 s] scheduled, then fired on the
 * virtual clock (the loop jumps from deadline to deadline).  Process CPU
 * time, so the figures hold up on a loaded machine better than W7's wall
 * clock; the virtual clock means no clock read per call_later (W7 pays
 * ~20-30 ns more per timer for it).
 *
 * Prints RESULT schedule_ns and RESULT fire_ns (per timer) and RESULT
 * faults (minor page faults while scheduling).  --handles asks for a handle
 * per timer (released at once), the path a cancellable timer takes.
 * Usage: bench_loop_timers_cpu [--n N] [--handles]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <loom.h>

typedef struct run {
  loom_loop *loop;
  long left;
} run;

static void fire(void *arg) {
  run *r = arg;
  if (--r->left == 0) loom_loop_stop(r->loop);
}

static uint64_t rnd(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long faults(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

int main(int argc, char **argv) {
  long n = 1000000;
  bool handles = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--n") && i + 1 < argc) n = atol(argv[++i]);
    else if (!strcmp(argv[i], "--handles")) handles = true;
  }
  run r = {.left = n};
  loom_loop_options o = {.virtual_clock = true};
  if (n <= 0 || loom_loop_create(&r.loop, &o)) return 1;
  double *delays = malloc(sizeof *delays * (size_t)n);
  if (!delays) return 1;
  uint64_t seed = 42;
  for (long i = 0; i < n; i++) delays[i] = (double)(rnd(&seed) >> 11) / 9007199254740992.0;
  long f0 = faults();
  double c0 = cpu_s();
  for (long i = 0; i < n; i++) {
    loom_handle *h = NULL;
    if (loom_call_later(r.loop, delays[i], fire, &r, handles ? &h : NULL)) return 1;
    loom_handle_release(h);
  }
  double c1 = cpu_s();
  long f1 = faults();
  if (loom_loop_run_forever(r.loop) || r.left) return 1;
  double c2 = cpu_s();
  printf("RESULT schedule_ns %.1f\n", (c1 - c0) * 1e9 / (double)n);
  printf("RESULT fire_ns %.1f\n", (c2 - c1) * 1e9 / (double)n);
  printf("RESULT faults %ld\n", f1 - f0);
  loom_loop_destroy(r.loop);
  free(delays);
  return 0;
}
