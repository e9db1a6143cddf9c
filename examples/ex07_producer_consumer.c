/* ex07_producer_consumer - producers and consumers over one queue, as
 * coroutine tasks (the seeds' asyncio.Queue producer/consumer).
 *
 *   ex07_producer_consumer [-p N] [-c N] [--seed S] [--scale X] [--virtual]
 *
 * Each producer makes a random number (0..10) of items, sleeping a random
 * 0..10 time units before each; each consumer loops forever: sleep 0..10
 * units, take an item, print how long the item waited in the queue, mark it
 * done.  The main task awaits the producers, then joins the queue (every item
 * put has been marked done), then cancels the consumers, which are asleep or
 * blocked in get: the cancellation reaches them there.
 *
 * A time unit is --scale seconds (default 0.1 s; the seeds' 1 s makes a run
 * last a minute).  Every producer and consumer draws from its own random
 * generator seeded from --seed and its number, so what each one does does not
 * depend on how the loop interleaves them: the same seed gives the same items
 * and the same sleeps.  With --virtual the loop runs on the virtual clock, so
 * the whole output, latencies included, is reproducible, and instant.
 *
 * The queue is a loom_queue: the same object threads use; from a task, put,
 * get and join suspend the task, not the thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom.h>

enum { MAX_ACTORS = 100 };

typedef struct item {
  char id[11];    /* 5 random bytes in hex */
  double put_at;  /* loop time when it was put */
} item;

typedef struct actor {
  int num;               /* producer or consumer number */
  unsigned rng;          /* own generator: same draws whatever the interleaving */
  loom_queue *q;
} actor;

static double unit = 0.1;  /* seconds per time unit */
static loom_loop *loop;

static int randint(actor *a, int lo, int hi) { return lo + (int)(rand_r(&a->rng) % (unsigned)(hi - lo + 1)); }

static int randsleep(actor *a, const char *who) {
  int i = randint(a, 0, 10);
  printf("%s %d sleeping for %d units.\n", who, a->num, i);
  return loom_sleep(i * unit);
}

static int produce(loom_future *self, void *arg) {
  (void)self;
  actor *a = arg;
  int n = randint(a, 0, 10), rc = 0;
  for (int k = 0; k < n && rc == 0; k++) {
    rc = randsleep(a, "Producer");
    item *it = rc ? NULL : malloc(sizeof *it);
    if (!rc && !it) rc = LOOM_ENOMEM;
    if (rc) break;
    for (int b = 0; b < 5; b++) sprintf(it->id + 2 * b, "%02x", randint(a, 0, 255));
    it->put_at = loom_loop_time(loop);
    rc = loom_queue_put(a->q, it, LOOM_FOREVER);
    if (rc) free(it);
    else printf("Producer %d added <%s> to queue.\n", a->num, it->id);
  }
  return rc;
}

static int consume(loom_future *self, void *arg) {
  (void)self;
  actor *a = arg;
  for (;;) {
    void *p;
    int rc = randsleep(a, "Consumer");
    if (rc == 0) rc = loom_queue_get(a->q, &p, LOOM_FOREVER);
    if (rc == LOOM_ECANCELLED) {
      printf("Consumer %d cancelled.\n", a->num);
      return rc;
    }
    if (rc) return rc;
    item *it = p;
    printf("Consumer %d got element <%s> in %.5f seconds.\n", a->num, it->id,
           loom_loop_time(loop) - it->put_at);
    free(it);
    loom_queue_task_done(a->q);
  }
}

typedef struct config {
  int nprod, ncon;
  unsigned seed;
} config;

/* Spawn n actors of one kind; returns 0 or the first error (tasks spawned
 * before it are in ts[], the rest NULL). */
static int spawn_all(actor *as, loom_future **ts, int n, loom_fn fn, unsigned seed,
                     unsigned salt, loom_queue *q) {
  for (int i = 0; i < n; i++) {
    as[i] = (actor){.num = i, .rng = seed * 7919u + salt * 104729u + (unsigned)i, .q = q};
    int rc = loom_task_spawn(loop, fn, &as[i], fn == produce ? "producer" : "consumer", &ts[i]);
    if (rc) return rc;
  }
  return 0;
}

/* Cancel what is still running and wait for every task, then drop them. */
static void cancel_and_reap(loom_future **ts, int n) {
  for (int i = 0; i < n; i++)
    if (ts[i]) loom_task_cancel(ts[i], "done");
  for (int i = 0; i < n; i++) {
    if (!ts[i]) continue;
    loom_future_wait(ts[i], LOOM_FOREVER);
    loom_future_release(ts[i]);
  }
}

static int main_task(loom_future *self, void *arg) {
  (void)self;
  const config *cfg = arg;
  static actor prods[MAX_ACTORS], cons[MAX_ACTORS];
  loom_future *pt[MAX_ACTORS] = {0}, *ct[MAX_ACTORS] = {0};
  loom_queue *q;
  int rc = loom_queue_create(&q, &(loom_queue_options){.item_dtor = free});
  if (rc) return rc;
  rc = spawn_all(prods, pt, cfg->nprod, produce, cfg->seed, 1, q);
  if (rc == 0) rc = spawn_all(cons, ct, cfg->ncon, consume, cfg->seed, 2, q);
  for (int i = 0; i < cfg->nprod && rc == 0; i++) /* asyncio.gather(*producers) */
    rc = loom_future_result(pt[i], LOOM_FOREVER, NULL);
  if (rc == 0) rc = loom_queue_join(q, LOOM_FOREVER); /* every item consumed */
  if (rc == 0) printf("Queue joined: every item was consumed; cancelling the consumers.\n");
  cancel_and_reap(pt, cfg->nprod);
  cancel_and_reap(ct, cfg->ncon);
  loom_queue_destroy(q);
  return rc;
}

static int usage(void) {
  fprintf(stderr, "usage: ex07_producer_consumer [-p N] [-c N] [--seed S] [--scale SECONDS] "
                  "[--virtual]   (1 <= N <= %d)\n", MAX_ACTORS);
  return 2;
}

int main(int argc, char **argv) {
  config cfg = {.nprod = 5, .ncon = 10, .seed = 444};
  loom_loop_options o = {0};
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--virtual")) o.virtual_clock = true;
    else if (!v) return usage();
    else if (!strcmp(argv[i], "-p") || !strcmp(argv[i], "--nprod")) cfg.nprod = atoi(v), i++;
    else if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--ncon")) cfg.ncon = atoi(v), i++;
    else if (!strcmp(argv[i], "--seed")) cfg.seed = (unsigned)strtoul(v, NULL, 10), i++;
    else if (!strcmp(argv[i], "--scale")) unit = atof(v), i++;
    else return usage();
  }
  if (cfg.nprod < 1 || cfg.nprod > MAX_ACTORS || cfg.ncon < 1 || cfg.ncon > MAX_ACTORS ||
      !(unit >= 0))
    return usage();
  loom_future *t;
  int rc = loom_loop_create(&loop, &o);
  if (rc) return fprintf(stderr, "loop: %s\n", loom_strerror(rc)), 1;
  double start = loom_loop_time(loop);
  rc = loom_task_spawn(loop, main_task, &cfg, "main", &t);
  if (rc == 0) {
    rc = loom_loop_run_until_complete(loop, t);
    if (rc == 0) rc = loom_future_result(t, 0, NULL);
    loom_future_release(t);
  }
  double elapsed = loom_loop_time(loop) - start;
  loom_loop_destroy(loop);
  if (rc) return fprintf(stderr, "failed: %s\n", loom_strerror(rc)), 1;
  printf("Program completed in %.5f seconds.\n", elapsed);
  return 0;
}
