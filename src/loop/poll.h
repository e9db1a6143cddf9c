/* poll.h - the readiness backend behind the loop, as a small ops table.
 *
 * The loop core (loop.c, io.c) never sees epoll: it asks a backend to watch
 * fds for IN/OUT and to wait for events with a timeout.  poll_epoll.c is the
 * Linux implementation; an io_uring (poll_uring.c) or kqueue (poll_kqueue.c)
 * backend implements the same table and the build picks the file by name.
 * Interest is level-triggered: an fd stays reported while it is ready.
 */
#ifndef LOOM_LOOP_POLL_H
#define LOOM_LOOP_POLL_H

#include <stdint.h>

enum {
  LOOM__POLL_IN = 1u,  /* readable (or hang-up / error: the reader learns) */
  LOOM__POLL_OUT = 2u, /* writable (or error) */
};

typedef struct loom__poll_event {
  int fd;
  uint32_t events; /* LOOM__POLL_IN | LOOM__POLL_OUT */
} loom__poll_event;

typedef struct loom__poll {
  const struct loom__poll_ops *ops;
  int fd;     /* the backend's own descriptor (epoll fd), -1 if none */
  void *impl; /* backend-private state */
} loom__poll;

typedef struct loom__poll_ops {
  const char *name;
  /* Returns 0 or -errno. On failure p holds nothing. */
  int (*init)(loom__poll *p);
  /* Start watching fd for `events` (non-zero). 0 or -errno. */
  int (*add)(loom__poll *p, int fd, uint32_t events);
  /* Change the interest of a watched fd (non-zero). 0 or -errno. */
  int (*modify)(loom__poll *p, int fd, uint32_t events);
  /* Stop watching fd; tolerates an fd the caller already closed. */
  void (*remove)(loom__poll *p, int fd);
  /* Wait up to timeout_ns (-1 forever, 0 poll) for at most `max` events.
   * Returns the number stored in ev, or -errno (-EINTR counts as 0). */
  int (*wait)(loom__poll *p, int64_t timeout_ns, loom__poll_event *ev, int max);
  void (*close)(loom__poll *p);
} loom__poll_ops;

/* The backend this build uses. */
extern const loom__poll_ops loom__poll_default_ops;

#endif /* LOOM_LOOP_POLL_H */
