/* wait.c - loom_wait(): block until FIRST_COMPLETED, FIRST_EXCEPTION or
 * ALL_COMPLETED, like concurrent.futures.wait().
 *
 * One shared waiter and one node per distinct pending future: every future
 * that finishes decrements a counter under its own lock and fires the waiter
 * when the mode is satisfied.  Setting up and tearing down is O(n), and
 * nothing is rescanned on a wake-up, so waiting on 100,000 futures costs
 * O(n) however many finish.
 */
#include "dedup.h"

typedef struct wait_state {
  loom__waiter w;
  _Atomic size_t pending; /* distinct futures not yet seen done */
  loom_wait_mode mode;
} wait_state;

static int on_done(loom_future *f, void *arg) {
  wait_state *ws = arg;
  size_t left = atomic_fetch_sub(&ws->pending, 1) - 1;
  if (ws->mode == LOOM_FIRST_COMPLETED || left == 0 ||
      (ws->mode == LOOM_FIRST_EXCEPTION && loom__future_failed(f)))
    loom__waiter_fire(&ws->w, 0);
  return 0;
}

static bool satisfied(loom_future *const *u, size_t m, loom_wait_mode mode) {
  size_t done = 0;
  for (size_t i = 0; i < m; i++) {
    if (!loom_future_done(u[i])) continue;
    done++;
    if (mode == LOOM_FIRST_COMPLETED) return true;
    if (mode == LOOM_FIRST_EXCEPTION && loom__future_failed(u[i])) return true;
  }
  return done == m;
}

/* Subscribe to every future, park until satisfied or the deadline, and
 * unsubscribe.  Returns 0 or LOOM_ECANCELLED (the waiting task was
 * cancelled) or LOOM_ENOMEM. */
static int block(loom_future *const *u, size_t m, int64_t deadline, loom_wait_mode mode) {
  loom__fnode *nodes = loom__calloc(m, sizeof *nodes);
  if (!nodes) return LOOM_ENOMEM;
  wait_state ws;
  loom__waiter_init(&ws.w);
  ws.mode = mode;
  atomic_init(&ws.pending, m);
  bool *linked = loom__calloc(m, sizeof *linked);
  if (!linked) {
    loom__free(nodes);
    return LOOM_ENOMEM;
  }
  for (size_t i = 0; i < m; i++) {
    nodes[i].fn = on_done;
    nodes[i].arg = &ws;
    linked[i] = loom__future_subscribe(u[i], &nodes[i]);
    if (!linked[i]) on_done(u[i], &ws); /* finished before we could subscribe */
  }
  int reason = loom__waiter_park(&ws.w, deadline);
  for (size_t i = 0; i < m; i++)
    if (linked[i]) loom__future_unsubscribe(u[i], &nodes[i]);
  loom__free(linked);
  loom__free(nodes);
  return reason == LOOM_ECANCELLED ? LOOM_ECANCELLED : 0;
}

int loom_wait(loom_future *const *fs, size_t n, double timeout, loom_wait_mode mode,
              loom_future **done, size_t *n_done, loom_future **not_done,
              size_t *n_not_done) {
  if (n_done) *n_done = 0;
  if (n_not_done) *n_not_done = 0;
  if (mode != LOOM_FIRST_COMPLETED && mode != LOOM_FIRST_EXCEPTION &&
      mode != LOOM_ALL_COMPLETED)
    return LOOM_EINVAL;
  loom_future **u;
  size_t m;
  int rc = loom__dedup(fs, n, &u, &m);
  if (rc < 0) return rc;
  int64_t deadline = loom_deadline(timeout);
  if (m && !satisfied(u, m, mode) && deadline > loom_now_ns())
    rc = block(u, m, deadline, mode);
  size_t nd = 0, nn = 0;
  for (size_t i = 0; i < m; i++) {
    if (loom_future_done(u[i])) {
      if (done) done[nd] = u[i];
      nd++;
    } else {
      if (not_done) not_done[nn] = u[i];
      nn++;
    }
  }
  if (n_done) *n_done = nd;
  if (n_not_done) *n_not_done = nn;
  loom__free(u);
  return rc;
}
