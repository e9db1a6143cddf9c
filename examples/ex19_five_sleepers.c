/* ex19_five_sleepers - five tasks sleep a random 0-5 s each; the main task
 * sleeps 2 s, then waits for all of them (the seeds' five_sleepers).
 *
 *   ex19_five_sleepers [--seed N] [--scale S] [--virtual]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom.h>

static double scale = 1.0, delays[5];

static int random_sleep(loom_future *self, void *arg) {
  int i = (int)(long)arg;
  printf("%d sleeps for %.2f seconds\n", i, delays[i]);
  int rc = loom_sleep(delays[i] * scale);
  if (rc) return rc;
  printf("%d awakens\n", i);
  return 0;
}

static int five_sleepers(loom_future *self, void *arg) {
  loom_loop *loop = loom_task_loop(self);
  loom_future *tasks[5];
  printf("Creating five tasks\n");
  for (long i = 0; i < 5; i++) {
    int rc = loom_task_spawn(loop, random_sleep, (void *)i, NULL, &tasks[i]);
    if (rc) return rc;
  }
  printf("Sleeping after starting five tasks\n");
  loom_sleep(2.0 * scale);
  printf("Waking and waiting for five tasks\n");
  int rc = loom_wait(tasks, 5, LOOM_FOREVER, LOOM_ALL_COMPLETED, NULL, NULL, NULL, NULL);
  for (int i = 0; i < 5; i++) loom_future_release(tasks[i]);
  return rc;
}

int main(int argc, char **argv) {
  unsigned seed = 1;
  loom_loop_options o = {0};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atof(argv[++i]);
    else if (!strcmp(argv[i], "--virtual")) o.virtual_clock = true;
  }
  srand(seed);
  for (int i = 0; i < 5; i++) delays[i] = 5.0 * rand() / ((double)RAND_MAX + 1);
  loom_loop *loop;
  loom_future *t;
  if (loom_loop_create(&loop, &o) || loom_task_spawn(loop, five_sleepers, NULL, "main", &t))
    return 1;
  loom_loop_run_until_complete(loop, t);
  int rc = loom_future_result(t, 0, NULL);
  printf("Done five tasks\n");
  loom_future_release(t);
  loom_loop_destroy(loop);
  return rc ? 1 : 0;
}
