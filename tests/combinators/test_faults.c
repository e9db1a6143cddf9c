/* test_faults.c - fault sweeps over the combinators: every allocation and
 * system call they make fails in turn; each run must end with a clean error
 * code and nothing leaked (the sweep checks the live counters). */
#include "../task/task_support.h"

static int short_sleep(loom_future *self, void *arg) { return loom_sleep(0.01); }

static int failing(loom_future *self, void *arg) {
  loom_sleep(0.005);
  return LOOM_EPIPE;
}

/* A parent that uses a timeout scope, a task group and a task pool. */
static int parent(loom_future *self, void *arg) {
  loom_timeout *to = NULL;
  int rc = loom_timeout_begin(5.0, &to);
  if (rc) return rc;
  loom_task_group *g = NULL;
  rc = loom_task_group_create(&g);
  for (int i = 0; !rc && i < 3; i++) rc = loom_task_group_spawn(g, short_sleep, NULL, NULL, NULL);
  if (!rc) rc = loom_task_group_spawn(g, failing, NULL, "failing", NULL);
  if (g) {
    int wrc = loom_task_group_wait(g, rc);
    if (!rc) rc = wrc == LOOM_EFAILED ? 0 : wrc;
    loom_task_group_destroy(g);
  }
  loom_task_pool *p = NULL;
  if (!rc) rc = loom_task_pool_create(NULL, 2, &p);
  for (int i = 0; !rc && i < 4; i++) rc = loom_task_pool_submit(p, short_sleep, NULL, NULL, NULL);
  if (p) {
    if (!rc) rc = loom_task_pool_join(p, LOOM_FOREVER);
    loom_task_pool_destroy(p);
  }
  return loom_timeout_end(to, rc);
}

static int run_parent(void *ctx) {
  loom_loop *l = NULL;
  loom_loop_options o = {.virtual_clock = true};
  int rc = loom_loop_create(&l, &o);
  if (rc) return rc;
  loom_future *t = NULL;
  rc = loom_task_spawn(l, parent, NULL, "parent", &t);
  if (!rc) rc = loom_loop_run_until_complete(l, t);
  if (!rc) rc = loom_future_result(t, 0, NULL);
  loom_future_release(t);
  loom_loop_destroy(l);
  return rc;
}

LOOM_TEST_T(combinator_faults, group_pool_timeout, 300) {
  int faults = loom_test_fault_sweep(run_parent, NULL, LOOM_FAULT_ALL, 2000);
  LT_CHECK(faults >= 10 && faults < 2000, "%d runs hit a fault", faults);
  print_message("%d fault points swept\n", faults);
}
