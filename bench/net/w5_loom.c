/* W5, loom: a TCP echo server on loom's streams API - one task per
 * connection, read what arrived, write it back (the write returns at once
 * unless the peer stops reading).  Compared against the hand-written epoll
 * server, libuv, Go and asyncio/uvloop by bench/net/run_echo.py.
 *
 *     bench_net_w5_loom --port P        (stops on SIGTERM/SIGINT)
 */
#include <loom.h>
#include <signal.h>
#include <stdio.h>

#include "../common.h"

static int echo(loom_stream *s, void *arg) {
  (void)arg;
  char buf[65536];
  for (;;) {
    ssize_t n = loom_stream_read(s, buf, sizeof buf, LOOM_FOREVER);
    if (n <= 0) return 0; /* EOF or reset: the client went away */
    if (loom_stream_write(s, buf, (size_t)n, LOOM_FOREVER) < 0) return 0;
  }
}

static void on_signal(int signum, void *arg) { loom_task_cancel(arg, NULL); }

static int serve(loom_future *self, void *arg) {
  int port = (int)(long)arg;
  loom_server_opts o = {.backlog = 1024};
  loom_server *srv;
  int rc = loom_start_server(echo, NULL, "127.0.0.1", port, &o, &srv);
  if (rc < 0) {
    fprintf(stderr, "w5_loom: listen on %d: %s\n", port, loom_strerror(rc));
    return rc;
  }
  loom_loop_add_signal_handler(loom_task_loop(self), SIGTERM, on_signal, self);
  loom_loop_add_signal_handler(loom_task_loop(self), SIGINT, on_signal, self);
  loom_server_serve_forever(srv);
  loom_server_destroy(srv);
  return 0;
}

int main(int argc, char **argv) {
  long port = (long)bench_arg(argc, argv, "--port", 8888);
  int rc = loom_run(serve, (void *)port, NULL, NULL);
  return rc < 0 ? 1 : 0;
}
