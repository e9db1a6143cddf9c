/* pingpong.h - two tasks handing an item back and forth through two queues
 * of size 1: the workload of the hand-off tests (test_handoff.c,
 * test_handoff_bounds.c). */
#ifndef LOOM_TESTS_TASK_PINGPONG_H
#define LOOM_TESTS_TASK_PINGPONG_H

#include "task_support.h"

/* ---- ping-pong through two queues of size 1 ------------------------------- */

typedef struct pp {
  loom_queue *in, *out;
  long limit;     /* stop after this many hops in all (0: until *stop) */
  long *hops;     /* shared hop counter */
  bool *stop;     /* set by someone else to end an unbounded run */
  char tag;       /* written into the log on each receive */
  char *log;      /* shared log of receivers, in order */
  double timeout; /* of each get and put (0: 10 s; LOOM_FOREVER: none) */
  void (*on_hop)(void *ctx, long hops); /* called after each receive */
  void *ctx;
} pp;

static inline int player(loom_future *self, void *arg) {
  (void)self;
  pp *p = arg;
  for (;;) {
    void *item;
    double timeout = p->timeout ? p->timeout : 10.0;
    int rc = loom_queue_get(p->in, &item, timeout);
    if (rc < 0) return rc;
    long v = (long)item;
    if (v < 0) return 0; /* the end marker */
    if (p->log && v < 1000) p->log[v] = p->tag;
    ++*p->hops;
    if (p->on_hop) p->on_hop(p->ctx, *p->hops);
    bool done = p->limit ? v + 1 >= p->limit : *p->stop;
    rc = loom_queue_put(p->out, (void *)(done ? -1L : v + 1), timeout);
    if (rc < 0) return rc;
    if (done) return 0;
  }
}

typedef struct pingpong {
  loom_queue *ab, *ba;
  pp a, b;
  long hops;
  bool stop;
  loom_future *ta, *tb;
} pingpong;

static inline void pingpong_start_ex(loom_loop *l, pingpong *g, long limit, char *log, double timeout,
                              void (*on_hop)(void *, long), void *ctx) {
  loom_queue_options o = {.maxsize = 1};
  LT_RC(loom_queue_create(&g->ab, &o), 0);
  LT_RC(loom_queue_create(&g->ba, &o), 0);
  g->hops = 0;
  g->stop = false;
  g->a = (pp){g->ba, g->ab, limit, &g->hops, &g->stop, 'a', log, timeout, on_hop, ctx};
  g->b = (pp){g->ab, g->ba, limit, &g->hops, &g->stop, 'b', log, timeout, on_hop, ctx};
  LT_RC(loom_task_spawn(l, player, &g->a, "ping", &g->ta), 0);
  LT_RC(loom_task_spawn(l, player, &g->b, "pong", &g->tb), 0);
  LT_RC(loom_queue_put_nowait(g->ba, (void *)0L), 0); /* serve to ping */
}

static inline void pingpong_start(loom_loop *l, pingpong *g, long limit, char *log) {
  pingpong_start_ex(l, g, limit, log, 0, NULL, NULL);
}

static inline void pingpong_finish(loom_loop *l, pingpong *g) {
  ts_until(l, g->ta);
  ts_until(l, g->tb);
  LT_RC(loom_future_exception(g->ta, NULL, NULL), 0);
  LT_RC(loom_future_exception(g->tb, NULL, NULL), 0);
  loom_future_release(g->ta);
  loom_future_release(g->tb);
  void *rest;
  while (loom_queue_get_nowait(g->ab, &rest) == 0) {}
  while (loom_queue_get_nowait(g->ba, &rest) == 0) {}
  LT_RC(loom_queue_destroy(g->ab), 0);
  LT_RC(loom_queue_destroy(g->ba), 0);
}

#endif /* LOOM_TESTS_TASK_PINGPONG_H */
