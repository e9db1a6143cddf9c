/* queue_loom.c - benchmark: N items through a bounded loom_queue (maxsize
 * 1024) from P producer threads to C consumer threads (loom_thread).
 * Usage: bench_threads_queue_loom --n N [--producers P] [--consumers C]
 * Prints RESULT rate <items/s>; checks the sum of the items received. */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  loom_queue *q;
  long first, count; /* producer: first+1 .. first+count */
  long sum;          /* consumer: sum received */
} role;

static int producer(loom_future *self, void *arg) {
  (void)self;
  role *r = arg;
  for (long i = 1; i <= r->count; i++) {
    int rc = loom_queue_put(r->q, (void *)(uintptr_t)(r->first + i), LOOM_FOREVER);
    if (rc < 0) return rc;
  }
  return 0;
}

static int consumer(loom_future *self, void *arg) {
  (void)self;
  role *r = arg;
  void *v;
  int rc;
  while ((rc = loom_queue_get(r->q, &v, LOOM_FOREVER)) == 0) r->sum += (long)(uintptr_t)v;
  return rc == LOOM_ECLOSED ? 0 : rc;
}

static long arg_of(int argc, char **argv, const char *name, long dflt) {
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], name)) return atol(argv[i + 1]);
  return dflt;
}

static int run_all(loom_thread **t, int n) {
  int rc = 0;
  for (int i = 0; i < n; i++) {
    int r = loom_thread_join(t[i], LOOM_FOREVER);
    if (r == 0) r = loom_future_result(loom_thread_future(t[i]), 0, NULL);
    if (r < 0) rc = r;
    loom_thread_destroy(t[i]);
  }
  return rc;
}

int main(int argc, char **argv) {
  long n = arg_of(argc, argv, "--n", 1000000);
  int np = (int)arg_of(argc, argv, "--producers", 1);
  int nc = (int)arg_of(argc, argv, "--consumers", 1);
  if (np < 1 || nc < 1 || np > 64 || nc > 64) return 2;
  long per = n / np, total = per * np;
  loom_queue *q;
  loom_queue_options o = {.kind = LOOM_QUEUE_FIFO, .maxsize = 1024};
  if (loom_queue_create(&q, &o) < 0) return 1;
  role pr[64], cr[64];
  loom_thread *pt[64], *ct[64];
  double t0 = loom_now();
  for (int i = 0; i < nc; i++) {
    cr[i] = (role){.q = q};
    if (loom_thread_start(&ct[i], "consumer", consumer, &cr[i]) < 0) return 1;
  }
  for (int i = 0; i < np; i++) {
    pr[i] = (role){.q = q, .first = i * per, .count = per};
    if (loom_thread_start(&pt[i], "producer", producer, &pr[i]) < 0) return 1;
  }
  int rc = run_all(pt, np);
  loom_queue_shutdown(q, false); /* consumers drain, then see LOOM_ECLOSED */
  if (run_all(ct, nc) < 0 || rc < 0) return 1;
  double dt = loom_now() - t0;
  long sum = 0;
  for (int i = 0; i < nc; i++) sum += cr[i].sum;
  loom_queue_destroy(q);
  if (sum != total * (total + 1) / 2) {
    fprintf(stderr, "bad sum %ld\n", sum);
    return 1;
  }
  printf("RESULT rate %.1f\n", total / dt);
  return 0;
}
