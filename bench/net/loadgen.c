/* W5 load generator: the one client every echo server is measured with.
 *
 * --conns connections (default 100) to 127.0.0.1:--port, each in a closed
 * loop: send a --size byte request (default 64), wait for the whole echo,
 * send the next.  One thread, epoll, level-triggered.  Runs --duration
 * seconds (after a short warm-up that is not counted) or until
 * --max-requests echoes, whichever comes first: bounded in time and count.
 *
 * Prints RESULT rate (requests/s) and, given --server-pid, RESULT
 * server_us_per_req: the server's CPU time (user + system, from
 * /proc/<pid>/stat) over the measured window divided by the requests.
 * When this client saturates its core, rate stops separating the servers;
 * CPU per request still does.
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

#define MAX_CONNS 10000
#define MAX_SIZE 65536

typedef struct conn {
  int fd;
  int got;  /* bytes of the current echo received so far */
} conn;

static char req[MAX_SIZE];

/* utime + stime of a process in seconds, or -1. */
static double proc_cpu_s(long pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t len = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[len] = 0;
  char *p = strrchr(buf, ')'); /* the name may hold spaces */
  if (!p) return -1;
  unsigned long ut = 0, st = 0;
  /* After ")": state(3) ... utime is field 14, stime 15. */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
    return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* This process's user + system CPU time in seconds. */
static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int connect_one(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

/* Reads what is there of c's echo; returns 1 when complete, 0 if more is
 * due, -1 on error or EOF. */
static int on_readable(conn *c, int size) {
  char buf[MAX_SIZE];
  for (;;) {
    ssize_t r = read(c->fd, buf, (size_t)(size - c->got));
    if (r > 0) {
      c->got += (int)r;
      if (c->got == size) return 1;
      continue;
    }
    if (r < 0 && errno == EAGAIN) return 0;
    if (r < 0 && errno == EINTR) continue;
    return -1;
  }
}

static int send_req(conn *c, int size) {
  c->got = 0;
  /* A 64-byte write on an idle loopback socket is never short. */
  return write(c->fd, req, (size_t)size) == size ? 0 : -1;
}

int main(int argc, char **argv) {
  int port = (int)bench_arg(argc, argv, "--port", 0);
  int nconns = (int)bench_arg(argc, argv, "--conns", 100);
  int size = (int)bench_arg(argc, argv, "--size", 64);
  double duration = (double)bench_arg(argc, argv, "--duration", 10);
  long long max_req = bench_arg(argc, argv, "--max-requests", 1000000000LL);
  long pid = (long)bench_arg(argc, argv, "--server-pid", 0);
  double warmup = duration >= 5 ? 1.0 : 0.2;
  if (port <= 0 || nconns < 1 || nconns > MAX_CONNS || size < 1 || size > MAX_SIZE) {
    fprintf(stderr, "usage: loadgen --port P [--conns C] [--size B] [--duration S]"
                    " [--max-requests M] [--server-pid PID]\n");
    return 2;
  }
  memset(req, 'x', (size_t)size);
  int ep = epoll_create1(0);
  static conn conns[MAX_CONNS];
  for (int i = 0; i < nconns; i++) {
    conns[i].fd = connect_one(port);
    if (conns[i].fd < 0) {
      perror("loadgen: connect");
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    if (send_req(&conns[i], size) < 0) return 1;
  }
  double start = bench_now(), t0 = 0, end = start + warmup + duration, cpu0 = 0, self0 = 0;
  long long done = 0, counted = 0;
  struct epoll_event evs[256];
  for (;;) {
    double now = bench_now();
    if (!t0 && now >= start + warmup) {
      t0 = now; /* warm-up over: start counting */
      counted = 0;
      cpu0 = pid ? proc_cpu_s(pid) : 0;
      self0 = self_cpu_s();
    }
    if (now >= end || counted >= max_req) break;
    int k = epoll_wait(ep, evs, 256, 100);
    if (k < 0 && errno != EINTR) return 1;
    for (int i = 0; i < k; i++) {
      conn *c = evs[i].data.ptr;
      int r = on_readable(c, size);
      if (r < 0) {
        fprintf(stderr, "loadgen: connection lost\n");
        return 1;
      }
      if (r == 1) {
        done++;
        counted++;
        if (send_req(c, size) < 0) return 1;
      }
    }
  }
  double elapsed = bench_now() - t0;
  double cpu1 = pid ? proc_cpu_s(pid) : 0, self1 = self_cpu_s();
  if (counted == 0 || !t0) {
    fprintf(stderr, "loadgen: no request completed\n");
    return 1;
  }
  bench_result("rate", (double)counted / elapsed);
  if (pid && cpu0 >= 0 && cpu1 >= 0) bench_result("server_us_per_req", (cpu1 - cpu0) * 1e6 / (double)counted);
  /* This client's own CPU per request: near 1e6 / rate means it saturated its core. */
  bench_result("client_us_per_req", (self1 - self0) * 1e6 / (double)counted);
  /* Every echo including the warm-up: for counters (perf) that span the run. */
  bench_result("requests_total", (double)done);
  for (int i = 0; i < nconns; i++) close(conns[i].fd);
  close(ep);
  return 0;
}
