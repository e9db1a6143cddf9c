/* ex06_chain - chained coroutines: phase 1, then phase 2 using phase 1's
 * result (the seeds' "chained model").  Each phase is its own task that
 * does some (simulated) I/O; the outer task awaits them in turn.
 *
 *   ex06_chain [--delay S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom.h>

static double delay = 0.1;

static int phase1(loom_future *self, void *arg) {
  printf("in phase1\n");
  int rc = loom_sleep(delay); /* the I/O */
  if (rc) return rc;
  return loom_future_set_result(self, strdup("result1"), free);
}

static int phase2(loom_future *self, void *arg) {
  printf("in phase2\n");
  int rc = loom_sleep(delay);
  if (rc) return rc;
  char buf[128];
  snprintf(buf, sizeof buf, "result2 derived from %s", (const char *)arg);
  return loom_future_set_result(self, strdup(buf), free);
}

/* Spawn fn(arg) and wait for its string result; *out is malloc'ed. */
static int await_phase(loom_fn fn, void *arg, const char *name, char **out) {
  loom_future *t;
  int rc = loom_task_spawn(loom_task_loop(loom_task_current()), fn, arg, name, &t);
  if (rc) return rc;
  void *v = NULL;
  rc = loom_future_result(t, LOOM_FOREVER, &v);
  *out = rc ? NULL : strdup(v);
  loom_future_release(t);
  return rc;
}

static int outer(loom_future *self, void *arg) {
  char *r1 = NULL, *r2 = NULL;
  printf("in outer\n");
  printf("waiting for result1\n");
  int rc = await_phase(phase1, NULL, "phase1", &r1);
  if (rc) return rc;
  printf("waiting for result2\n");
  rc = await_phase(phase2, r1, "phase2", &r2);
  if (!rc) printf("return value: ('%s', '%s')\n", r1, r2);
  free(r1);
  free(r2);
  return rc;
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--delay")) delay = atof(argv[++i]);
  loom_loop *loop;
  loom_future *t;
  if (loom_loop_create(&loop, NULL) || loom_task_spawn(loop, outer, NULL, "outer", &t)) return 1;
  loom_loop_run_until_complete(loop, t);
  int rc = loom_future_result(t, 0, NULL);
  loom_future_release(t);
  loom_loop_destroy(loop);
  return rc ? 1 : 0;
}
