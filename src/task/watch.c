/* watch.c - see watch.h. */
#include "watch.h"

static int watch_node_fn(loom_future *f, void *arg) {
  loom__watch *w = arg;
  loom__loop_post_threadsafe(w->loop, &w->cb);
  return 0;
}

/* One trampoline for every watch, so the loop can tell completion notices
 * from other callbacks and run them even when it closes. */
static void watch_run(loom__callback *cb) {
  loom__watch *w = LOOM__CONTAINER_OF(cb, loom__watch, cb);
  w->done(cb);
}

void loom__watch_start(loom__watch *w, loom_loop *loop, loom_future *f, loom__callback_fn done,
                       void *owner) {
  w->loop = loop;
  w->owner = owner;
  w->f = f;
  w->node.fn = watch_node_fn;
  w->node.arg = w;
  w->done = done;
  loom__callback_init(&w->cb, watch_run);
  loom__loop_run_at_close(watch_run);
  if (!loom__future_subscribe(f, &w->node)) loom__loop_post_threadsafe(loop, &w->cb);
}
