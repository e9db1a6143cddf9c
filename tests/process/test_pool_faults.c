/* test_pool_faults.c - fault injection over the process pool, Process and
 * the queue: every allocation and every system call of the parent side made
 * to fail in turn.  Each run must end in a clean error or a correct result,
 * with no hang, no leaked object, descriptor or child. */
#include <string.h>
#include <unistd.h>

#include "loom_test.h"
#include "pt_util.h"

static int twice(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg * 2), NULL);
}

static int echo_bytes(loom_future *self, void *arg) {
  return loom_future_set_result_bytes(self, arg, loom_future_arg_size(self));
}

/* Create a pool, run a pointer job and a 100 KiB bytes job (memfd both
 * ways), shut down.  Any step may fail; a result that arrives is right. */
static int pool_round(void *ctx) {
  static unsigned char big[100 * 1024];
  memset(big, 0x5a, sizeof big);
  loom_executor *ex;
  int rc = loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 1});
  if (rc < 0) return rc;
  loom_future *a = NULL, *b = NULL;
  rc = loom_executor_submit(ex, twice, (void *)21L, &a);
  if (rc == 0) rc = loom_executor_submit_bytes(ex, echo_bytes, big, sizeof big, &b);
  if (rc == 0) {
    void *v;
    rc = loom_future_result(a, 60, &v);
    LT_CHECK(loom_future_done(a), "a job did not settle");
    if (rc == 0) LT_CHECK((long)v == 42, "wrong result %ld", (long)v);
  }
  if (rc == 0) {
    const void *d;
    size_t n;
    rc = loom_future_result_bytes(b, 60, &d, &n);
    LT_CHECK(loom_future_done(b), "a bytes job did not settle");
    if (rc == 0) LT_CHECK(n == sizeof big && memcmp(d, big, n) == 0, "bytes came back wrong");
  }
  loom_future_release(a);
  loom_future_release(b);
  loom_executor_destroy(ex);
  return rc > 0 ? 0 : rc;
}

LOOM_TEST_T(process_pool_faults, sweep_alloc_and_syscalls, 600) {
  pt_snap s = pt_begin();
  int faulted = loom_test_fault_sweep(pool_round, NULL, LOOM_FAULT_ALL, 400);
  print_message("    %d fault points failed in turn\n", faulted);
  LT_CHECK(faulted > 10, "only %d fault points were hit", faulted);
  PT_END(s);
}

static int child_exit3(const void *arg, size_t len) { return 3; }

static int proc_round(void *ctx) {
  loom_mpqueue *q;
  int rc = loom_mpqueue_create(&q);
  if (rc < 0) return rc;
  loom_process *p;
  rc = loom_process_start(&p, child_exit3, "x", 1, &q, 1);
  if (rc == 0) {
    rc = loom_process_join(p, 30);
    int code = -1;
    if (rc == 0) LT_CHECK(loom_process_exitcode(p, &code) == 0 && code == 3, "exit code %d", code);
    loom_process_destroy(p);
  }
  loom_mpqueue_destroy(q);
  return rc;
}

LOOM_TEST_T(process_pool_faults, sweep_process_and_queue, 300) {
  pt_snap s = pt_begin();
  int faulted = loom_test_fault_sweep(proc_round, NULL, LOOM_FAULT_ALL, 100);
  print_message("    %d fault points failed in turn\n", faulted);
  LT_CHECK(faulted >= 3, "only %d fault points were hit", faulted);
  PT_END(s);
}
