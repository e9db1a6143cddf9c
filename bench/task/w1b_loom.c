/* w1b_loom.c - W1b: two tasks on one loop ping-pong --n times in all
 * (default 10,000,000 hops).  --mode queue (default): through two loom
 * queues of maxsize 1, each side gets from its own and puts to the other's.
 * --mode future: each side waits on its own inbox future, makes a fresh one
 * for the next round, and completes the other side's.  Prints
 *     RESULT ns_per_hop X */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct side {
  loom_future *inbox;
  struct side *peer;
  long hops;
} side;

static long total, done_hops;

static int player(loom_future *self, void *arg) {
  side *me = arg;
  for (;;) {
    if (loom_future_wait(me->inbox, LOOM_FOREVER) < 0) return LOOM_EFAILED;
    loom_future_release(me->inbox);
    me->inbox = NULL;
    if (done_hops >= total) break;
    if (loom_future_create(&me->inbox) < 0) return LOOM_ENOMEM;
    done_hops++;
    me->hops++;
    loom_future_set_result(me->peer->inbox, NULL, NULL); /* hand over */
  }
  /* Let the peer see the end too, if it still waits. */
  if (me->peer->inbox) loom_future_set_result(me->peer->inbox, NULL, NULL);
  return 0;
}

/* ---- queue mode ---------------------------------------------------------- */

typedef struct qside {
  loom_queue *in, *out;
} qside;

static int qplayer(loom_future *self, void *arg) {
  qside *me = arg;
  for (;;) {
    void *item;
    if (loom_queue_get(me->in, &item, LOOM_FOREVER) < 0) return LOOM_EFAILED;
    if ((long)item >= total) break;
    done_hops++;
    if (loom_queue_put(me->out, (void *)((long)item + 1), LOOM_FOREVER) < 0)
      return LOOM_EFAILED;
  }
  /* Let the peer see the end too (its queue has room: it waits in get). */
  (void)loom_queue_put_nowait(me->out, (void *)total);
  return 0;
}

static int run_queue(loom_loop *loop) {
  loom_queue_options o = {.maxsize = 1};
  loom_queue *ab, *ba;
  if (loom_queue_create(&ab, &o) < 0 || loom_queue_create(&ba, &o) < 0) return 1;
  qside a = {ba, ab}, b = {ab, ba};
  loom_future *ta, *tb;
  if (loom_task_spawn(loop, qplayer, &a, "ping", &ta) < 0 ||
      loom_task_spawn(loop, qplayer, &b, "pong", &tb) < 0)
    return 1;
  loom_queue_put_nowait(ba, (void *)0L); /* serve */
  double t0 = loom_now();
  if (loom_loop_run_until_complete(loop, ta) < 0) return 1;
  if (!loom_future_done(tb) && loom_loop_run_until_complete(loop, tb) < 0) return 1;
  double took = loom_now() - t0;
  printf("RESULT ns_per_hop %.2f\n", took * 1e9 / (double)done_hops);
  loom_future_release(ta);
  loom_future_release(tb);
  loom_queue_destroy(ab);
  loom_queue_destroy(ba);
  loom_loop_destroy(loop);
  return 0;
}

int main(int argc, char **argv) {
  int compact = 0; /* --compact 1: compact idle stacks (loom/task.h) */
  total = 10000000;
  const char *mode = "queue";
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--compact")) compact = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--n")) total = atol(argv[i + 1]);
    if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
  }
  loom_loop *loop;
  if (loom_loop_create(&loop, NULL) < 0) return 1;
  if (compact && loom_task_set_default_compact(loop, true) < 0) return 1;
  if (!strcmp(mode, "queue")) return run_queue(loop);
  side a = {0}, b = {0};
  a.peer = &b;
  b.peer = &a;
  if (loom_future_create(&a.inbox) < 0 || loom_future_create(&b.inbox) < 0) return 1;
  loom_future *ta, *tb;
  if (loom_task_spawn(loop, player, &a, "ping", &ta) < 0 ||
      loom_task_spawn(loop, player, &b, "pong", &tb) < 0)
    return 1;
  loom_future_set_result(a.inbox, NULL, NULL); /* serve */
  double t0 = loom_now();
  if (loom_loop_run_until_complete(loop, ta) < 0) return 1;
  if (!loom_future_done(tb) && loom_loop_run_until_complete(loop, tb) < 0) return 1;
  double took = loom_now() - t0;
  printf("RESULT ns_per_hop %.2f\n", took * 1e9 / (double)done_hops);
  if (a.inbox) loom_future_release(a.inbox);
  if (b.inbox) loom_future_release(b.inbox);
  loom_future_release(ta);
  loom_future_release(tb);
  loom_loop_destroy(loop);
  return 0;
}
