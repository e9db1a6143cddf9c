/* W5 reference: a hand-written C echo server on epoll, the "hardware"
 * line: what a server costs with no framework at all.  One thread,
 * level-triggered, non-blocking sockets, a small pending buffer per
 * connection for the rare short write.  --port P.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common.h"

typedef struct conn {
  int fd;
  size_t pending_len, pending_off; /* bytes not yet written back */
  char pending[65536];
} conn;

static int ep;

static void drop(conn *c) {
  close(c->fd);
  free(c);
}

static int flush_pending(conn *c) {
  while (c->pending_off < c->pending_len) {
    ssize_t w = write(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
    if (w < 0) return errno == EAGAIN ? 0 : -1;
    c->pending_off += (size_t)w;
  }
  c->pending_len = c->pending_off = 0;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Echo what arrived; on a short write keep the rest and wait for EPOLLOUT. */
static int on_readable(conn *c) {
  char buf[65536];
  ssize_t r = read(c->fd, buf, sizeof buf);
  if (r == 0 || (r < 0 && errno != EAGAIN)) return -1;
  if (r < 0) return 0;
  ssize_t w = write(c->fd, buf, (size_t)r);
  if (w < 0 && errno != EAGAIN) return -1;
  if (w < 0) w = 0;
  if (w < r) {
    memcpy(c->pending, buf + w, (size_t)(r - w));
    c->pending_len = (size_t)(r - w);
    c->pending_off = 0;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  }
  return 0;
}

static void on_accept(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) drop(c);
  }
}

int main(int argc, char **argv) {
  int port = (int)bench_arg(argc, argv, "--port", 8888);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 1024) < 0) {
    perror("echo_epoll: bind/listen");
    return 1;
  }
  ep = epoll_create1(0);
  static conn listener; /* data.ptr == &listener marks the listening socket */
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  struct epoll_event evs[256];
  for (;;) {
    int k = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < k; i++) {
      conn *c = evs[i].data.ptr;
      if (c == &listener) {
        on_accept(lfd);
        continue;
      }
      int r = (evs[i].events & EPOLLOUT) ? flush_pending(c) : on_readable(c);
      if (r < 0) drop(c);
    }
  }
}
