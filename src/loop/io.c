/* io.c - readers and writers on foreign file descriptors.
 *
 * A table indexed by fd holds each fd's reader and writer; the backend is
 * told only about changes of the combined interest (IN, OUT, both, none).
 * Callbacks may add or remove watches, for the fd being dispatched too, and
 * the table may grow meanwhile: dispatch re-reads the slot after each call
 * instead of holding a pointer.  An fd the caller closed before removing it
 * is tolerated: its registration is dropped here and epoll forgot it anyway.
 */
#include "loop_impl.h"

enum { MIN_CAP = 64 };

static int io_reserve(loom_loop *loop, int fd) {
  if (fd < loop->io_cap) return 0;
  int cap = loop->io_cap ? loop->io_cap : MIN_CAP;
  while (cap <= fd) cap *= 2;
  loom__io_watch *io = loom__realloc(loop->io, (size_t)cap * sizeof *io);
  if (!io) return LOOM_ENOMEM;
  for (int i = loop->io_cap; i < cap; i++) io[i] = (loom__io_watch){0};
  loop->io = io;
  loop->io_cap = cap;
  return 0;
}

/* Bring the backend in line with the slot's reader/writer. */
static int io_sync(loom_loop *loop, int fd) {
  loom__io_watch *w = &loop->io[fd];
  uint32_t want = (w->rfn ? LOOM__POLL_IN : 0u) | (w->wfn ? LOOM__POLL_OUT : 0u);
  if (want == w->armed) return 0;
  const loom__poll_ops *ops = loop->poll.ops;
  int rc = 0;
  if (!want) ops->remove(&loop->poll, fd);
  else if (!w->armed) rc = ops->add(&loop->poll, fd, want);
  else rc = ops->modify(&loop->poll, fd, want);
  if (rc) return rc;
  loop->io_count += (want != 0) - (w->armed != 0);
  w->armed = want;
  return 0;
}

static int io_add(loom_loop *loop, int fd, bool writer, loom_callback_fn fn, void *arg) {
  if (!loop || fd < 0 || !fn) return LOOM_EINVAL;
  if (atomic_load(&loop->closed)) return LOOM_ECLOSED;
  int rc = io_reserve(loop, fd);
  if (rc) return rc;
  loom__io_watch *w = &loop->io[fd], old = *w;
  if (writer) w->wfn = fn, w->warg = arg;
  else w->rfn = fn, w->rarg = arg;
  rc = io_sync(loop, fd);
  if (rc) *w = old;
  return rc;
}

static int io_remove(loom_loop *loop, int fd, bool writer) {
  if (!loop || fd < 0 || fd >= loop->io_cap) return 0;
  loom__io_watch *w = &loop->io[fd];
  loom_callback_fn *slot = writer ? &w->wfn : &w->rfn;
  if (!*slot) return 0;
  *slot = NULL;
  if (io_sync(loop, fd)) {
    /* Narrowing failed: the fd is gone (closed); forget it entirely. */
    loop->poll.ops->remove(&loop->poll, fd);
    *w = (loom__io_watch){0};
    loop->io_count--;
  }
  return 1;
}

int loom_loop_add_reader(loom_loop *loop, int fd, loom_callback_fn fn, void *arg) {
  return io_add(loop, fd, false, fn, arg);
}
int loom_loop_add_writer(loom_loop *loop, int fd, loom_callback_fn fn, void *arg) {
  return io_add(loop, fd, true, fn, arg);
}
int loom_loop_remove_reader(loom_loop *loop, int fd) { return io_remove(loop, fd, false); }
int loom_loop_remove_writer(loom_loop *loop, int fd) { return io_remove(loop, fd, true); }

static void io_call(loom_loop *loop, loom_callback_fn fn, void *arg) {
  if (LOOM__UNLIKELY(loop->hot.slow_ns)) {
    int64_t t0 = loom_now_ns();
    fn(arg);
    loom__loop_check_slow(loop, t0, "an fd callback");
  } else {
    fn(arg);
  }
}

void loom__io_dispatch(loom_loop *loop, int fd, uint32_t events) {
  if (fd < 0 || fd >= loop->io_cap) return;
  loom__io_watch *w = &loop->io[fd];
  if ((events & LOOM__POLL_IN) && w->rfn) io_call(loop, w->rfn, w->rarg);
  w = &loop->io[fd]; /* the table may have moved */
  if ((events & LOOM__POLL_OUT) && w->wfn) io_call(loop, w->wfn, w->warg);
}

void loom__io_fini(loom_loop *loop) {
  for (int fd = 0; fd < loop->io_cap; fd++)
    if (loop->io[fd].armed) loop->poll.ops->remove(&loop->poll, fd);
  loom__free(loop->io);
  loop->io = NULL;
  loop->io_cap = loop->io_count = 0;
}
