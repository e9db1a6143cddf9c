/* watch.h - "tell me on the loop thread when this future is done".
 *
 * The combinators (gather, task groups, the task pool) follow children that
 * may be completed by any thread.  A watch subscribes an internal node to the
 * child; the node runs under the child's lock in the completing thread, so it
 * only posts the watch's loop callback (no allocation, no lock nesting).  The
 * real bookkeeping then runs on the loop thread, where cancelling siblings or
 * waking the parent is safe.  A watch must stay valid until its callback ran.
 */
#ifndef LOOM_TASK_WATCH_H
#define LOOM_TASK_WATCH_H

#include "../futures/future_internal.h"
#include "../loop/loop_internal.h"

typedef struct loom__watch loom__watch;
struct loom__watch {
  loom__fnode node;     /* subscribed to the child */
  loom__callback cb;    /* posted to the loop when the child is done */
  loom_loop *loop;
  loom_future *f;       /* the child */
  void *owner;          /* the combinator, for the callback */
  loom__callback_fn done; /* the combinator's handler, called with &cb */
};

/* Start watching f; `done` runs once on the loop thread after f is done
 * (posted at once if f is done already). */
void loom__watch_start(loom__watch *w, loom_loop *loop, loom_future *f, loom__callback_fn done,
                       void *owner);

#endif /* LOOM_TASK_WATCH_H */
