/* server_accept.c - accepting connections: one task per connection, and
 * staying alive when file descriptors run out.
 *
 * Under EMFILE/ENFILE the listening socket stays readable, so a naive
 * level-triggered server spins at 100% CPU calling accept in vain, while its
 * clients wait in the backlog.  Here:
 *  1. the server's spare descriptor (/dev/null) is closed, which frees one
 *     slot, and pending connections are accepted and closed at once until
 *     the backlog is empty (their clients see a clean close, not a hang);
 *     then the spare is reopened;
 *  2. accepting pauses (the readers are removed) and a timer re-arms it after
 *     a back-off of 10 ms, doubling up to 1 s while exhaustion lasts and reset
 *     by the next successful accept.
 * Connections already accepted keep being served throughout.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loom/task.h"
#include "server_impl.h"

#define BATCH 64                    /* accepts per readiness event */
#define BACKOFF_MIN (10 * 1000000LL) /* 10 ms */
#define BACKOFF_MAX (1000 * 1000000LL)

/* Runs when the handler task is done, whatever way (even if it never ran):
 * as an internal subscriber, on the loop thread that completes the task,
 * under the task's lock - so it only unlinks and frees what is ours and
 * never touches the task.  Subscribing allocates nothing, so no connection
 * can be left without its cleanup. */
static int conn_done(loom_future *f, void *arg) {
  (void)f;
  loom__conn *c = arg;
  loom_server *srv = c->srv;
  if (c->prev) c->prev->next = c->next;
  else srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->nconns--;
  loom__stream_finish(c->s); /* what the handler wrote still goes out */
  loom__free(c);
  if (srv->closed && srv->nconns == 0) loom__swait_fire_all(&srv->waiters);
  loom__server_maybe_free(srv);
  return 0;
}

static int conn_main(loom_future *self, void *arg) {
  loom__conn *c = arg;
  int rc = c->srv->fn(c->s, c->srv->arg);
  if (rc < 0 && rc != LOOM_ECANCELLED) {
    loom_addr peer;
    char who[LOOM_ADDR_STRLEN] = "?";
    if (loom_stream_peername(c->s, &peer) == 0) loom_addr_format(&peer, who, sizeof who);
    loom__report("server connection handler for %s failed: %s", who, loom_strerror(rc));
    return 0; /* reported here, with the peer: not again by the task layer */
  }
  return rc;
}

/* Hand an accepted socket to a new handler task. */
static void start_conn(loom_server *srv, int fd) {
  loom__conn *c = loom__calloc(1, sizeof *c);
  int rc = c ? loom__stream_from_sock(fd, &srv->sopts, &c->s) : LOOM_ENOMEM;
  if (rc == 0) rc = loom_task_spawn(srv->loop, conn_main, c, NULL, &c->task);
  if (rc < 0) { /* out of memory: drop this connection, keep serving */
    if (c && c->s) loom_stream_destroy(c->s);
    else close(fd);
    loom__free(c);
    return;
  }
  c->srv = srv;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  srv->stats.accepted++;
  c->done.fn = conn_done;
  c->done.arg = c;
  loom_future *t = c->task;
  /* A task starts on a later iteration, so it cannot be done yet. */
  if (!loom__future_subscribe(t, &c->done)) conn_done(t, c);
  loom_future_release(t); /* the loop keeps the task until it is done */
}

static void on_backoff(loom__timer *t) {
  loom_server *srv = LOOM__CONTAINER_OF(t, loom_server, backoff);
  if (!srv->closed) loom__server_set_accepting(srv, true);
}

/* Out of descriptors: shed the backlog with the spare, then back off. */
static void exhausted(loom_server *srv, int lfd) {
  srv->stats.exhausted++;
  if (srv->spare_fd >= 0) {
    close(srv->spare_fd);
    srv->spare_fd = -1;
    for (;;) {
      srv->stats.accept_calls++;
      int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) break;
      close(c);
      srv->stats.shed++;
    }
    srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  loom__server_set_accepting(srv, false);
  loom__timer_start(srv->loop, &srv->backoff, loom__loop_now(srv->loop) + srv->backoff_ns);
  srv->backoff_ns = srv->backoff_ns * 2 > BACKOFF_MAX ? BACKOFF_MAX : srv->backoff_ns * 2;
}

static void on_acceptable(void *arg) {
  loom_server *srv = arg;
  for (size_t i = 0; i < srv->n && srv->accepting; i++) {
    for (int k = 0; k < BATCH && srv->accepting; k++) {
      srv->stats.accept_calls++;
      int fd = loom__sys_fault(EMFILE) ? -1
                                       : accept4(srv->lfd[i], NULL, NULL,
                                                 SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0) {
        srv->backoff_ns = BACKOFF_MIN;
        start_conn(srv, fd);
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        exhausted(srv, srv->lfd[i]);
      break; /* EAGAIN: this socket's backlog is empty */
    }
  }
}

void loom__server_set_accepting(loom_server *srv, bool on) {
  if (on == srv->accepting) return;
  for (size_t i = 0; i < srv->n; i++) {
    if (on && loom_loop_add_reader(srv->loop, srv->lfd[i], on_acceptable, srv) < 0) {
      /* cannot watch now (out of memory): try again after a back-off */
      loom__timer_start(srv->loop, &srv->backoff, loom__loop_now(srv->loop) + BACKOFF_MIN);
      for (size_t j = 0; j < i; j++) loom_loop_remove_reader(srv->loop, srv->lfd[j]);
      return;
    }
    if (!on) loom_loop_remove_reader(srv->loop, srv->lfd[i]);
  }
  srv->accepting = on;
}

void loom__server_backoff_init(loom_server *srv) {
  loom__timer_init(&srv->backoff, on_backoff);
  srv->backoff_ns = BACKOFF_MIN;
}
