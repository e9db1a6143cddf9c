/* The 100,000-connection client: opens --conns loopback connections to an
 * echo server, keeps them all open, and measures what holding them costs.
 *
 * One source address gives at most ~28,000 ephemeral ports towards one
 * server address and port (net.ipv4.ip_local_port_range), so connection i
 * binds to 127.0.0.(2 + --addr-base + i % --addrs) first (IP_BIND_ADDRESS_NO_PORT: the
 * port is chosen at connect time, per 4-tuple).  The client raises its own
 * RLIMIT_NOFILE (to --conns + 1000, past the hard limit when privileged,
 * else to the hard limit) and fails with a clear message if that is too
 * small (docs/net.md, "100,000 connections").
 *
 * Phase 1, establish: connect, send a --size byte hello, wait for its echo;
 * a connection counts once its echo is back (so the server has accepted it
 * and serves it).  At most --inflight connections are in this phase at
 * once, below the server's accept backlog, so no SYN is dropped.
 * Phase 2, echo round: one request on every connection at once, wait for
 * all the echoes.  Between the phases and after, the server's RSS is read
 * from /proc/<--server-pid>/status.
 *
 * With --sync (several client processes, run by run_c100k.py when one
 * process may not hold every descriptor) the client prints "established"
 * after phase 1 and starts phase 2 only when a line arrives on stdin, so
 * that every client's echo round runs at once; after its RESULT lines it
 * prints "done" and keeps the connections open until the next line (or
 * EOF), so the runner can read the server's memory; --addr-base A makes it use
 * source addresses 127.0.0.(2 + A)... so that clients never share one.
 *
 * RESULT lines: conns, establish_s, echo_round_s, server_rss_kb (after the
 * round), bytes_per_conn ((rss after - rss before) / conns).  Bounded:
 * --timeout seconds in all (default 300), else exit 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { ST_CONNECTING, ST_ECHO, ST_IDLE };

typedef struct conn {
  int fd;
  int state;
  int got; /* bytes of the current echo received */
} conn;

static int size = 64;
static char req[4096];
static int ep;
static double deadline;

/* Server VmRSS in KiB, or -1. */
static long server_rss_kb(long pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
  fclose(f);
  return kb;
}

/* RLIMIT_NOFILE >= want, or a message saying what to raise. */
static int raise_nofile(rlim_t want) {
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur >= want) return 0;
  struct rlimit up = {want, want > rl.rlim_max ? want : rl.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &up) == 0) return 0;
  rl.rlim_cur = rl.rlim_max; /* unprivileged: as far as the hard limit */
  setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur >= want) return 0;
  fprintf(stderr, "c100k_client: need %lu descriptors, the hard limit is %lu: raise it "
          "(ulimit -Hn, limits.conf; fs.nr_open) - see docs/net.md, \"100,000 connections\"\n",
          (unsigned long)want, (unsigned long)rl.rlim_max);
  return -1;
}

static int addr_base; /* --addr-base: first source address is 127.0.0.(2 + it) */

static int start_connect(conn *c, int i, int port, int addrs) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  struct sockaddr_in src = {.sin_family = AF_INET};
  src.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (uint32_t)(addr_base + i % addrs)); /* 127.0.0.2.. */
  if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) return -1;
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)
    return -1;
  c->state = ST_CONNECTING;
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Send the request and wait for its echo (EPOLLIN). */
static int send_req(conn *c) {
  c->got = 0;
  c->state = ST_ECHO;
  if (write(c->fd, req, (size_t)size) != size) return -1;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* An event on c: returns 1 when its echo is complete, 0 if not yet, -1 on
 * error. */
static int on_event(conn *c) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      errno = err;
      return -1;
    }
    return send_req(c) < 0 ? -1 : 0;
  }
  char buf[4096];
  for (;;) {
    ssize_t r = read(c->fd, buf, (size_t)(size - c->got));
    if (r > 0 && (c->got += (int)r) == size) {
      c->state = ST_IDLE;
      return 1;
    }
    if (r > 0) continue;
    if (r < 0 && errno == EAGAIN) return 0;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) errno = ECONNRESET;
    return -1;
  }
}

/* Run events until `target` echoes completed, starting new connections
 * while fewer than `inflight` are pending.  Returns 0 or -1. */
static int pump(conn *cs, int n, int *next, int inflight, int port, int addrs, int target) {
  int done = 0, pending = 0;
  struct epoll_event evs[512];
  while (done < target) {
    while (*next < n && pending < inflight) {
      if (start_connect(&cs[*next], *next, port, addrs) < 0) {
        fprintf(stderr, "c100k_client: connection %d: %s\n", *next, strerror(errno));
        return -1;
      }
      (*next)++;
      pending++;
    }
    if (bench_now() > deadline) {
      fprintf(stderr, "c100k_client: timed out with %d of %d done\n", done, target);
      return -1;
    }
    int k = epoll_wait(ep, evs, 512, 100);
    if (k < 0 && errno != EINTR) return -1;
    for (int i = 0; i < k; i++) {
      int r = on_event(evs[i].data.ptr);
      if (r < 0) {
        fprintf(stderr, "c100k_client: connection lost: %s\n", strerror(errno));
        return -1;
      }
      if (r == 1) {
        done++;
        pending--;
      }
    }
  }
  return 0;
}

/* --sync: print `what` (a phase is over), wait for the runner's go (a line
 * on stdin; EOF means the runner gave up or is done).  Returns 0 or -1. */
static int wait_go(const char *what) {
  printf("%s\n", what);
  fflush(stdout);
  char line[16];
  return fgets(line, sizeof line, stdin) ? 0 : -1;
}

int main(int argc, char **argv) {
  int port = (int)bench_arg(argc, argv, "--port", 0);
  int n = (int)bench_arg(argc, argv, "--conns", 100000);
  int addrs = (int)bench_arg(argc, argv, "--addrs", 0);
  int inflight = (int)bench_arg(argc, argv, "--inflight", 1000);
  long pid = (long)bench_arg(argc, argv, "--server-pid", 0);
  size = (int)bench_arg(argc, argv, "--size", 64);
  addr_base = (int)bench_arg(argc, argv, "--addr-base", 0);
  int sync = (int)bench_arg(argc, argv, "--sync", 0);
  deadline = bench_now() + (double)bench_arg(argc, argv, "--timeout", 300);
  /* The kernel searches for a free port per connect, slower as a source
   * address fills up: keep ~2,500 connections per address. */
  if (addrs <= 0) addrs = n / 2500 + 1;
  if (port <= 0 || n < 1 || addr_base < 0 || addr_base + addrs > 250 || inflight < 1 ||
      size < 1 || size > 4096) {
    fprintf(stderr, "usage: c100k_client --port P [--conns N] [--addrs K] [--addr-base A] (A+K<=250)"
                    " [--inflight I] [--sync 1]"
                    " [--size B<=4096] [--server-pid PID] [--timeout S]\n");
    return 2;
  }
  if (raise_nofile((rlim_t)n + 1000) < 0) return 2;
  memset(req, 'x', (size_t)size);
  conn *cs = calloc((size_t)n, sizeof *cs);
  ep = epoll_create1(0);
  if (!cs || ep < 0) return 1;
  long rss0 = pid ? server_rss_kb(pid) : -1;
  int next = 0;
  double t0 = bench_now();
  if (pump(cs, n, &next, inflight, port, addrs, n) < 0) return 1;
  double t1 = bench_now(), t_est = t1 - t0;
  if (sync && wait_go("established") < 0) {
    fprintf(stderr, "c100k_client: no go from the runner\n");
    return 1;
  }
  t1 = bench_now(); /* the round starts when every client is ready */
  for (int i = 0; i < n; i++)
    if (send_req(&cs[i]) < 0) {
      fprintf(stderr, "c100k_client: send on connection %d: %s\n", i, strerror(errno));
      return 1;
    }
  if (pump(cs, n, &next, inflight, port, addrs, n) < 0) return 1;
  double t2 = bench_now();
  long rss1 = pid ? server_rss_kb(pid) : -1;
  bench_result("conns", n);
  bench_result("establish_s", t_est);
  bench_result("echo_round_s", t2 - t1);
  if (rss0 >= 0 && rss1 >= 0) {
    bench_result("server_rss_kb", (double)rss1);
    bench_result("bytes_per_conn", (double)(rss1 - rss0) * 1024.0 / n);
  }
  if (sync) wait_go("done"); /* hold them while the runner measures; EOF ends it */
  for (int i = 0; i < n; i++) close(cs[i].fd);
  free(cs);
  close(ep);
  return 0;
}
