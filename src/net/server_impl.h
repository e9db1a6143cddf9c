/* server_impl.h - the layout of loom_server (server.c, server_accept.c) and
 * the counters tests read to check accept behaviour under exhaustion. */
#ifndef LOOM_NET_SERVER_IMPL_H
#define LOOM_NET_SERVER_IMPL_H

#include "../futures/future_internal.h"
#include "stream_impl.h"

#define LOOM__SERVER_MAX_SOCKETS 4

typedef struct loom__conn loom__conn;
struct loom__conn {
  loom__conn *prev, *next;  /* the server's live connections */
  struct loom_server *srv;
  loom_stream *s;
  loom_future *task;        /* the handler task: no reference is held; it is
                             * valid while linked (the loop holds the task
                             * until done, and done unlinks the conn) */
  loom__fnode done;         /* completion subscriber: cleans up, no malloc */
};

typedef struct loom__server_stats {
  unsigned long accept_calls;   /* accept4() calls made */
  unsigned long accepted;       /* connections handed to a handler */
  unsigned long exhausted;      /* EMFILE/ENFILE events */
  unsigned long shed;           /* connections accepted and closed at once */
} loom__server_stats;

struct loom_server {
  loom_loop *loop;
  loom_conn_fn fn;
  void *arg;
  int lfd[LOOM__SERVER_MAX_SOCKETS];
  size_t n;
  bool unix_path;              /* lfd[0] is bound to a path to unlink */
  loom_addr addr[LOOM__SERVER_MAX_SOCKETS];
  loom_stream_opts sopts;
  int spare_fd;                /* /dev/null, given up to shed the backlog */
  loom__timer backoff;         /* re-arms accepting after exhaustion */
  int64_t backoff_ns;          /* next back-off delay */
  bool accepting;              /* readers registered */
  bool closed;                 /* stopped listening */
  bool destroyed;              /* free once the last connection ends */
  loom__conn *conns;
  size_t nconns;
  loom__swlist waiters;        /* serve_forever and wait_closed */
  loom__server_stats stats;
};

/* Start or stop watching the listening sockets. */
void loom__server_set_accepting(struct loom_server *srv, bool on);
/* Prepare the back-off timer (at creation). */
void loom__server_backoff_init(struct loom_server *srv);
/* Free a destroyed server once nothing refers to it any more. */
void loom__server_maybe_free(struct loom_server *srv);

#endif
