/* ex08_task_pool - a bounded task pool (the seeds' TaskPool: a semaphore
 * around task creation): many tasks, at most --limit in flight; submit
 * waits for a free slot, join waits for the rest.
 *
 *   ex08_task_pool [--tasks N] [--limit K] [--seed S] [--virtual]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom.h>

static int in_flight, max_in_flight, finished;

static int job(loom_future *self, void *arg) {
  int i = (int)(long)arg;
  double secs = 0.05 + 0.25 * rand() / ((double)RAND_MAX + 1);
  if (++in_flight > max_in_flight) max_in_flight = in_flight;
  printf("task %d start, %d in flight, sleeps %.2f s\n", i, in_flight, secs);
  int rc = loom_sleep(secs);
  in_flight--;
  finished++;
  printf("task %d done\n", i);
  return rc;
}

typedef struct cfg {
  int tasks, limit;
} cfg;

static int main_task(loom_future *self, void *arg) {
  cfg *c = arg;
  loom_task_pool *pool;
  int rc = loom_task_pool_create(loom_task_loop(self), (size_t)c->limit, &pool);
  if (rc) return rc;
  for (long i = 0; i < c->tasks && !rc; i++) rc = loom_task_pool_submit(pool, job, (void *)i, NULL, NULL);
  if (!rc) rc = loom_task_pool_join(pool, LOOM_FOREVER);
  loom_task_pool_destroy(pool);
  return rc;
}

int main(int argc, char **argv) {
  cfg c = {.tasks = 20, .limit = 3};
  unsigned seed = 7;
  loom_loop_options o = {0};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--tasks") && i + 1 < argc) c.tasks = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--limit") && i + 1 < argc) c.limit = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--virtual")) o.virtual_clock = true;
  }
  if (c.limit < 1 || c.tasks < 0) return 2;
  srand(seed);
  loom_loop *loop;
  loom_future *t;
  if (loom_loop_create(&loop, &o) || loom_task_spawn(loop, main_task, &c, "main", &t)) return 1;
  double t0 = loom_loop_time(loop);
  loom_loop_run_until_complete(loop, t);
  int rc = loom_future_result(t, 0, NULL);
  printf("%d tasks finished, at most %d in flight (limit %d), %.2f s\n", finished,
         max_in_flight, c.limit, loom_loop_time(loop) - t0);
  loom_future_release(t);
  loom_loop_destroy(loop);
  return rc ? 1 : 0;
}
