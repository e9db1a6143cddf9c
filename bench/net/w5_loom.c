/* W5, loom: a TCP echo server on loom's streams API - one task per
 * connection, read what arrived, write it back (the write returns at once
 * unless the peer stops reading).  Compared against the hand-written epoll
 * server, libuv, Go and asyncio/uvloop by bench/net/run_echo.py.
 *
 * --loops N runs N loops, one per thread, each with its own listening
 * socket on the same port (SO_REUSEPORT: the kernel spreads connections
 * over them) - loom's answer to a Go server using every core.  --buf B sets
 * the per-read buffer (default 64 KiB; the 100,000-connection benchmark
 * uses 4 KiB, since each task's stack holds it).
 *
 *     bench_net_w5_loom --port P [--loops N] [--buf B]  (stops on SIGTERM/SIGINT)
 */
#include <loom.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "../common.h"

#define MAX_LOOPS 64

static size_t bufsize = 65536;

static int echo(loom_stream *s, void *arg) {
  (void)arg;
  char buf[bufsize]; /* VLA: the task's stack pages are the read buffer */
  for (;;) {
    ssize_t n = loom_stream_read(s, buf, sizeof buf, LOOM_FOREVER);
    if (n <= 0) return 0; /* EOF or reset: the client went away */
    if (loom_stream_write(s, buf, (size_t)n, LOOM_FOREVER) < 0) return 0;
  }
}

static void on_signal(int signum, void *arg) {
  (void)signum;
  loom_task_cancel(arg, NULL);
}

typedef struct serve_args {
  int port;
  bool reuse_port;
  bool signals; /* this loop stops on SIGTERM/SIGINT (one loop only) */
} serve_args;

static int serve(loom_future *self, void *arg) {
  serve_args *a = arg;
  loom_server_opts o = {.backlog = 4096, .reuse_port = a->reuse_port};
  loom_server *srv;
  int rc = loom_start_server(echo, NULL, "127.0.0.1", a->port, &o, &srv);
  if (rc < 0) {
    fprintf(stderr, "w5_loom: listen on %d: %s\n", a->port, loom_strerror(rc));
    return rc;
  }
  if (a->signals) {
    loom_loop_add_signal_handler(loom_task_loop(self), SIGTERM, on_signal, self);
    loom_loop_add_signal_handler(loom_task_loop(self), SIGINT, on_signal, self);
  }
  loom_server_serve_forever(srv);
  loom_server_destroy(srv);
  return 0;
}

static void *loop_thread(void *arg) {
  int rc = loom_run(serve, arg, NULL, NULL);
  if (rc < 0) exit(1); /* a loop that cannot listen fails the whole server */
  return NULL;
}

/* N loops: the threads serve; this thread waits for SIGTERM/SIGINT (blocked
 * in every thread, so only sigwait sees it) and ends the process. */
static int serve_many(int port, int loops) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  static serve_args args[MAX_LOOPS];
  for (int i = 0; i < loops; i++) {
    args[i] = (serve_args){.port = port, .reuse_port = true};
    pthread_t th;
    if (pthread_create(&th, NULL, loop_thread, &args[i]) != 0) return 1;
    pthread_detach(th);
  }
  int sig;
  sigwait(&set, &sig);
  return 0; /* exit() tears the loops down with the process */
}

int main(int argc, char **argv) {
  int port = (int)bench_arg(argc, argv, "--port", 8888);
  int loops = (int)bench_arg(argc, argv, "--loops", 1);
  long long b = bench_arg(argc, argv, "--buf", 65536);
  if (loops < 1 || loops > MAX_LOOPS || b < 64 || b > (1 << 20)) {
    fprintf(stderr, "usage: w5_loom --port P [--loops 1..%d] [--buf 64..1048576]\n", MAX_LOOPS);
    return 2;
  }
  bufsize = (size_t)b;
  if (loops > 1) return serve_many(port, loops);
  serve_args a = {.port = port, .signals = true};
  int rc = loom_run(serve, &a, NULL, NULL);
  return rc < 0 ? 1 : 0;
}
