/* w1b_queue_loom.c - W1b in its queue form: two tasks on one loop
 * ping-pong n hops through two loom queues of maxsize 1 (asyncio's
 * "two asyncio.Queue(1)" peer).  A hop is one value handed from one task to
 * the other.  Usage: bench_threads_w1b_queue_loom --n N.  Prints
 * RESULT ns_per_hop; checks every value comes back. */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long rounds;
static loom_queue *qa, *qb;

static int pinger(loom_future *self, void *arg) {
  (void)self;
  (void)arg;
  for (long i = 0; i < rounds; i++) {
    void *v;
    int rc = loom_queue_put(qa, (void *)(uintptr_t)i, LOOM_FOREVER);
    if (rc == 0) rc = loom_queue_get(qb, &v, LOOM_FOREVER);
    if (rc < 0) return rc;
    if ((long)(uintptr_t)v != i) return LOOM_EFAILED; /* a hop was lost */
  }
  return 0;
}

static int ponger(loom_future *self, void *arg) {
  (void)self;
  (void)arg;
  for (long i = 0; i < rounds; i++) {
    void *v;
    int rc = loom_queue_get(qa, &v, LOOM_FOREVER);
    if (rc == 0) rc = loom_queue_put(qb, v, LOOM_FOREVER);
    if (rc < 0) return rc;
  }
  return 0;
}

int main(int argc, char **argv) {
  long n = 10000000;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--n")) n = atol(argv[i + 1]);
  rounds = n / 2;
  loom_queue_options o = {.kind = LOOM_QUEUE_FIFO, .maxsize = 1};
  loom_loop *loop;
  if (loom_queue_create(&qa, &o) < 0 || loom_queue_create(&qb, &o) < 0 ||
      loom_loop_create(&loop, NULL) < 0)
    return 1;
  loom_future *t[2];
  double t0 = loom_now();
  if (loom_task_spawn(loop, pinger, NULL, "ping", &t[0]) < 0 ||
      loom_task_spawn(loop, ponger, NULL, "pong", &t[1]) < 0)
    return 1;
  for (int i = 0; i < 2; i++)
    if (loom_loop_run_until_complete(loop, t[i]) < 0) return 1;
  double dt = loom_now() - t0;
  int failed = 0;
  for (int i = 0; i < 2; i++) {
    if (loom_future_result(t[i], 0, NULL) < 0) failed = 1;
    loom_future_release(t[i]);
  }
  loom_loop_close(loop);
  loom_loop_destroy(loop);
  loom_queue_destroy(qa);
  loom_queue_destroy(qb);
  if (failed) {
    fprintf(stderr, "a task failed\n");
    return 1;
  }
  printf("RESULT ns_per_hop %.2f\n", dt * 1e9 / (double)(rounds * 2));
  return 0;
}
