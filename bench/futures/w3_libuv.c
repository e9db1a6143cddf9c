/* w3_libuv.c - workload W3 peer: N trivial uv_queue_work requests on
 * libuv's thread pool (UV_THREADPOOL_SIZE=2), every result collected by the
 * after-work callback on the loop.  Prints RESULT rate <requests/s>.
 * Usage: bench_futures_w3_libuv [--n N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

typedef struct job {
  uv_work_t req;
  long in, out;
} job;

static long sum, done;

static void work(uv_work_t *req) {
  job *j = (job *)req;
  j->out = j->in + 1;
}

static void after(uv_work_t *req, int status) {
  job *j = (job *)req;
  if (status == 0) sum += j->out;
  done++;
}

int main(int argc, char **argv) {
  long n = 200000;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--n")) n = atol(argv[i + 1]);
  setenv("UV_THREADPOOL_SIZE", "2", 1); /* read when the pool first starts */
  uv_loop_t *loop = uv_default_loop();
  job *jobs = calloc((size_t)n, sizeof *jobs);
  if (!jobs) return 1;
  uint64_t t0 = uv_hrtime();
  for (long i = 0; i < n; i++) {
    jobs[i].in = i;
    if (uv_queue_work(loop, &jobs[i].req, work, after) != 0) return 1;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  double dt = (double)(uv_hrtime() - t0) / 1e9;
  if (done != n || sum != n * (n + 1) / 2) {
    fprintf(stderr, "wrong: done %ld sum %ld\n", done, sum);
    return 1;
  }
  printf("RESULT rate %.1f\n", (double)n / dt);
  free(jobs);
  return 0;
}
