/* watch.c - see watch.h. */
#include "watch.h"

static int watch_node_fn(loom_future *f, void *arg) {
  loom__watch *w = arg;
  loom__loop_post_threadsafe(w->loop, &w->cb);
  return 0;
}

void loom__watch_start(loom__watch *w, loom_loop *loop, loom_future *f, loom__callback_fn done,
                       void *owner) {
  w->loop = loop;
  w->owner = owner;
  w->f = f;
  w->node.fn = watch_node_fn;
  w->node.arg = w;
  loom__callback_init(&w->cb, done);
  if (!loom__future_subscribe(f, &w->node)) loom__loop_post_threadsafe(loop, &w->cb);
}
