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
 * --procs P is the prefork deployment: P processes, each with one loop and
 * its own SO_REUSEPORT listening socket on the port.  W5c uses it to hold
 * 100,000 connections where one process may only have 20,000 descriptors
 * (RLIMIT_NOFILE hard limit).  The parent listens on nothing: once every
 * child listens it prints "ready <pid>..." (the children's pids, so the
 * runner can read their memory) on stdout, then waits for SIGTERM/SIGINT
 * and passes it on.  Children die with the parent (PR_SET_PDEATHSIG).
 *
 *     bench_net_w5_loom --port P [--loops N | --procs P] [--buf B]
 *     (stops on SIGTERM/SIGINT)
 */
#include <loom.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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
  int ready_fd; /* >= 0: write one byte there once listening (--procs) */
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
  if (a->ready_fd >= 0) {
    char c = 'r';
    if (write(a->ready_fd, &c, 1) != 1) return -1;
    close(a->ready_fd);
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
    args[i] = (serve_args){.port = port, .reuse_port = true, .ready_fd = -1};
    pthread_t th;
    if (pthread_create(&th, NULL, loop_thread, &args[i]) != 0) return 1;
    pthread_detach(th);
  }
  int sig;
  sigwait(&set, &sig);
  return 0; /* exit() tears the loops down with the process */
}

/* One child of --procs: one loop, its own SO_REUSEPORT socket; it ends
 * when the parent does (PDEATHSIG) or on SIGTERM/SIGINT. */
static void child_serve(int port, int ready_fd, sigset_t *old, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1); /* the parent died before prctl */
  sigprocmask(SIG_SETMASK, old, NULL);
  serve_args a = {.port = port, .reuse_port = true, .signals = true, .ready_fd = ready_fd};
  _exit(loom_run(serve, &a, NULL, NULL) < 0 ? 1 : 0);
}

/* --procs P: fork P children, wait for each to listen, print their pids,
 * then wait for SIGTERM/SIGINT and stop them.  Returns the exit status. */
static int serve_procs(int port, int procs) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, &old); /* no signal lost before sigwait */
  int ready[2];
  if (pipe(ready) < 0) return 1;
  pid_t pids[MAX_LOOPS], self = getpid();
  for (int i = 0; i < procs; i++) {
    pids[i] = fork();
    if (pids[i] < 0) return 1;
    if (pids[i] == 0) {
      close(ready[0]);
      child_serve(port, ready[1], &old, self);
    }
  }
  close(ready[1]);
  char c;
  int got = 0;
  while (got < procs && read(ready[0], &c, 1) == 1) got++;
  close(ready[0]);
  if (got < procs) {
    fprintf(stderr, "w5_loom: %d of %d processes failed to listen\n", procs - got, procs);
    for (int i = 0; i < procs; i++) kill(pids[i], SIGTERM);
    return 1;
  }
  printf("ready");
  for (int i = 0; i < procs; i++) printf(" %ld", (long)pids[i]);
  printf("\n");
  fflush(stdout);
  int sig;
  sigwait(&set, &sig);
  for (int i = 0; i < procs; i++) kill(pids[i], SIGTERM);
  for (int i = 0; i < procs; i++) waitpid(pids[i], NULL, 0);
  return 0;
}

int main(int argc, char **argv) {
  int port = (int)bench_arg(argc, argv, "--port", 8888);
  int loops = (int)bench_arg(argc, argv, "--loops", 1);
  int procs = (int)bench_arg(argc, argv, "--procs", 0);
  long long b = bench_arg(argc, argv, "--buf", 65536);
  if (loops < 1 || loops > MAX_LOOPS || procs < 0 || procs > MAX_LOOPS || b < 64 ||
      b > (1 << 20) || (procs > 0 && loops > 1)) {
    fprintf(stderr, "usage: w5_loom --port P [--loops 1..%d | --procs 1..%d] [--buf 64..1048576]\n",
            MAX_LOOPS, MAX_LOOPS);
    return 2;
  }
  bufsize = (size_t)b;
  if (procs > 0) return serve_procs(port, procs);
  if (loops > 1) return serve_many(port, loops);
  serve_args a = {.port = port, .signals = true, .ready_fd = -1};
  int rc = loom_run(serve, &a, NULL, NULL);
  return rc < 0 ? 1 : 0;
}
