/* W5, loom's low-level socket awaitables: the same echo server as
 * w5_loom.c written with loom_sock_accept / loom_sock_recv / loom_sock_send
 * (asyncio's loop.sock_* calls) instead of streams - a task per
 * connection, no read or write buffer of loom's.  Each call tries the
 * system call first and waits for readiness only on EAGAIN; that wait
 * registers and removes a one-shot watch (two epoll_ctl calls), which is
 * what streams avoid by keeping the socket registered.
 *
 *     bench_net_w5_loom_sock --port P      (stops on SIGTERM/SIGINT)
 */
#include <loom.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common.h"

static int echo(loom_future *self, void *arg) {
  (void)self;
  int fd = (int)(long)arg;
  char buf[65536];
  for (;;) {
    ssize_t n = loom_sock_recv(fd, buf, sizeof buf, LOOM_FOREVER);
    if (n <= 0 || loom_sock_sendall(fd, buf, (size_t)n, NULL, LOOM_FOREVER) < 0) break;
  }
  close(fd);
  return 0;
}

static void on_signal(int signum, void *arg) {
  (void)signum;
  loom_task_cancel(arg, NULL);
}

static int listen_on(int port) {
  int fd = loom_socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return fd;
  loom_addr a;
  int one = 1, rc = loom_addr_ip(&a, "127.0.0.1", port);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (rc == 0 && (bind(fd, &a.u.sa, a.len) < 0 || listen(fd, 4096) < 0)) rc = -errno;
  if (rc < 0) close(fd);
  return rc < 0 ? rc : fd;
}

static int serve(loom_future *self, void *arg) {
  int lfd = listen_on((int)(long)arg);
  if (lfd < 0) {
    fprintf(stderr, "w5_loom_sock: listen: %s\n", loom_strerror(lfd));
    return lfd;
  }
  loom_loop *loop = loom_task_loop(self);
  loom_loop_add_signal_handler(loop, SIGTERM, on_signal, self);
  loom_loop_add_signal_handler(loop, SIGINT, on_signal, self);
  for (;;) {
    int fd = loom_sock_accept(lfd, NULL, LOOM_FOREVER);
    if (fd == LOOM_ECANCELLED) break;
    if (fd < 0) continue; /* EMFILE and friends: keep serving */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (loom_task_spawn(loop, echo, (void *)(long)fd, "echo", NULL) < 0) close(fd);
  }
  close(lfd);
  return 0;
}

int main(int argc, char **argv) {
  long port = (long)bench_arg(argc, argv, "--port", 8888);
  int rc = loom_run(serve, (void *)port, NULL, NULL);
  return rc < 0 && rc != LOOM_ECANCELLED ? 1 : 0;
}
