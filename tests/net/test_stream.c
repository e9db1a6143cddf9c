/* test_stream.c - loom_stream on the loop against a peer in a plain thread
 * (blocking sockets): echo round trips, readline/readexactly/readuntil over
 * a real socket, timeouts that lose nothing, EOF and half-close,
 * backpressure against a peer that never reads, reset by peer mid-write,
 * close flushing, Unix sockets, name resolution and refused connections. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/addrlist.h"
#include "net/netio.h"
#include "net_harness.h"

typedef enum { ECHO, SINK, SEND_CLOSE, RESET, COUNT } peer_mode;

typedef struct peer {
  peer_mode mode;
  int lfd;
  loom_addr addr;
  pthread_t th;
  const char *payload; /* SEND_CLOSE: what to send */
  _Atomic bool release; /* SINK / RESET: stop holding the connection */
  size_t counted;      /* COUNT: bytes received until EOF */
} peer;

static void *peer_main(void *arg) {
  peer *p = arg;
  int c = accept(p->lfd, NULL, NULL);
  if (c < 0) return NULL;
  char buf[65536];
  ssize_t n;
  switch (p->mode) {
  case ECHO:
    while ((n = recv(c, buf, sizeof buf, 0)) > 0) send(c, buf, (size_t)n, MSG_NOSIGNAL);
    break;
  case SEND_CLOSE:
    send(c, p->payload, strlen(p->payload), MSG_NOSIGNAL);
    break;
  case COUNT:
    while ((n = recv(c, buf, sizeof buf, 0)) > 0) p->counted += (size_t)n;
    break;
  case SINK:
  case RESET:
    while (!atomic_load(&p->release)) usleep(1000);
    if (p->mode == RESET) { /* close with unread data and linger 0: RST */
      struct linger lg = {1, 0};
      setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    break;
  }
  close(c);
  return NULL;
}

static void peer_start(peer *p, peer_mode mode, int family) {
  memset(p, 0, sizeof *p);
  p->mode = mode;
  p->lfd = socket(family, SOCK_STREAM, 0);
  if (family == AF_UNIX) {
    char path[64];
    snprintf(path, sizeof path, "@loom-test-stream-%d", getpid());
    LT_RC(loom_addr_unix(&p->addr, path), 0);
  } else {
    LT_RC(loom_addr_ip(&p->addr, "127.0.0.1", 0), 0);
  }
  assert_int_equal(bind(p->lfd, &p->addr.u.sa, p->addr.len), 0);
  assert_int_equal(listen(p->lfd, 4), 0);
  p->addr.len = sizeof p->addr.u;
  getsockname(p->lfd, &p->addr.u.sa, &p->addr.len);
  assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

static void peer_stop(peer *p) {
  atomic_store(&p->release, true);
  pthread_join(p->th, NULL);
  close(p->lfd);
}

static loom_stream *connect_to(peer *p, const loom_stream_opts *o) {
  loom_stream *s = NULL;
  LT_RC(loom_open_connection("127.0.0.1", loom_addr_port(&p->addr), o, 5.0, &s), 0);
  return s;
}

LOOM_TEST(stream, echo_lines_and_exact_reads) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, ECHO, AF_INET);
  loom_stream *s = connect_to(&p, NULL);
  LT_RC(loom_stream_write(s, "hello\nworld\n", 12, 5.0), 0);
  char buf[64];
  assert_int_equal(loom_stream_readline(s, buf, sizeof buf, 5.0), 6);
  assert_memory_equal(buf, "hello\n", 6);
  size_t got;
  LT_RC(loom_stream_readexactly(s, buf, 6, &got, 5.0), 0);
  assert_memory_equal(buf, "world\n", 6);
  LT_RC(loom_stream_write(s, "a::b::", 6, 5.0), 0);
  LT_RC(loom_stream_readuntil(s, "::", 2, buf, sizeof buf, &got, 5.0), 0);
  assert_int_equal(got, 3);
  LT_RC(loom_stream_readuntil(s, "::", 2, buf, sizeof buf, &got, 5.0), 0);
  assert_memory_equal(buf, "b::", 3);
  loom_addr peer_addr, me;
  LT_RC(loom_stream_peername(s, &peer_addr), 0);
  assert_true(loom_addr_equal(&peer_addr, &p.addr));
  LT_RC(loom_stream_sockname(s, &me), 0);
  assert_int_equal(loom_addr_family(&me), AF_INET);
  /* Half-close: the echo peer sees EOF, closes, and we see EOF after it. */
  LT_RC(loom_stream_write(s, "last", 4, 5.0), 0);
  LT_RC(loom_stream_write_eof(s), 0);
  LT_RC(loom_stream_write(s, "x", 1, 5.0), LOOM_ECLOSED);
  void *all;
  size_t len;
  LT_RC(loom_stream_read_all(s, 100, &all, &len, 5.0), 0);
  assert_int_equal(len, 4);
  assert_string_equal(all, "last");
  free(all);
  assert_true(loom_stream_at_eof(s));
  assert_int_equal(loom_stream_read(s, buf, sizeof buf, 5.0), 0);
  LT_RC(loom_stream_close(s), 0);
  LT_RC(loom_stream_wait_closed(s, 5.0), 0);
  loom_stream_destroy(s);
  peer_stop(&p);
  nh_leave(loop);
}

LOOM_TEST(stream, timeouts_take_nothing) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, ECHO, AF_INET);
  loom_stream *s = connect_to(&p, NULL);
  LT_RC(loom_stream_write(s, "abc", 3, 5.0), 0);
  char buf[16];
  size_t got = 99;
  double t0 = loom_now();
  LT_RC(loom_stream_readexactly(s, buf, 5, &got, 0.2), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.199, "timed out after %.3f s", loom_now() - t0);
  assert_int_equal(got, 0);
  LT_RC(loom_stream_readline(s, buf, sizeof buf, 0.05), LOOM_ETIMEDOUT);
  LT_RC(loom_stream_write(s, "de", 2, 5.0), 0);
  LT_RC(loom_stream_readexactly(s, buf, 5, &got, 5.0), 0);
  assert_memory_equal(buf, "abcde", 5); /* the 3 early bytes were kept */
  loom_stream_destroy(s);
  peer_stop(&p);
  nh_leave(loop);
}

LOOM_TEST(stream, incomplete_read_hands_over_partial) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, SEND_CLOSE, AF_INET);
  p.payload = "partial";
  loom_stream *s = connect_to(&p, NULL);
  char buf[64];
  size_t got;
  LT_RC(loom_stream_readexactly(s, buf, 20, &got, 5.0), LOOM_EINCOMPLETE);
  assert_int_equal(got, 7);
  assert_memory_equal(buf, "partial", 7);
  assert_true(loom_stream_at_eof(s));
  loom_stream_destroy(s);
  peer_stop(&p);
  nh_leave(loop);
}

LOOM_TEST(stream, backpressure_bounds_memory_and_timed_out_write_writes_nothing) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, SINK, AF_INET);
  loom_stream_opts o = {.high_water = 64 * 1024};
  loom_stream *s = connect_to(&p, &o);
  static char chunk[16384];
  int rc = 0;
  size_t total = 0;
  for (int i = 0; i < 100000 && rc == 0; i++) {
    rc = loom_stream_write(s, chunk, sizeof chunk, 0.2);
    if (rc == 0) total += sizeof chunk;
  }
  LT_RC(rc, LOOM_ETIMEDOUT);
  size_t buffered = loom_stream_write_buffer_size(s);
  LT_CHECK(buffered <= 64 * 1024 + sizeof chunk, "buffered %zu", buffered);
  assert_true(total > buffered); /* the kernel took some too */
  LT_RC(loom_stream_write(s, chunk, sizeof chunk, 0.01), LOOM_ETIMEDOUT);
  assert_int_equal(loom_stream_write_buffer_size(s), buffered); /* nothing taken */
  LT_RC(loom_stream_drain(s, 0.05), LOOM_ETIMEDOUT);
  loom_stream_destroy(s);
  peer_stop(&p);
  nh_leave(loop);
}

LOOM_TEST(stream, reset_by_peer_mid_write_is_sticky) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, RESET, AF_INET);
  loom_stream *s = connect_to(&p, NULL);
  static char chunk[65536];
  LT_RC(loom_stream_write(s, chunk, sizeof chunk, 5.0), 0);
  atomic_store(&p.release, true); /* the peer resets with our data unread */
  pthread_join(p.th, NULL);
  int rc = 0;
  for (int i = 0; i < 1000 && rc == 0; i++) rc = loom_stream_write(s, chunk, sizeof chunk, 5.0);
  LT_CHECK(rc == LOOM_ECONNRESET || rc == LOOM_EPIPE, "write after reset: %s",
           loom_err_name(rc));
  LT_RC(loom_stream_write(s, "x", 1, 5.0), rc);
  LT_RC(loom_stream_drain(s, 5.0), rc);
  char buf[8];
  ssize_t n = loom_stream_read(s, buf, sizeof buf, 5.0);
  LT_CHECK(n == LOOM_ECONNRESET || n == 0, "read after reset: %zd", n);
  loom_stream_destroy(s);
  close(p.lfd);
  nh_leave(loop);
}

LOOM_TEST(stream, close_flushes_everything) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, COUNT, AF_INET);
  loom_stream *s = connect_to(&p, NULL);
  size_t n = 4 << 20;
  char *big = calloc(1, n);
  LT_RC(loom_stream_write_nowait(s, big, n), 0); /* no backpressure: all buffered */
  LT_RC(loom_stream_close(s), 0);
  LT_RC(loom_stream_wait_closed(s, 10.0), 0);
  loom_stream_destroy(s);
  peer_stop(&p);
  assert_int_equal(p.counted, n);
  free(big);
  nh_leave(loop);
}

LOOM_TEST(stream, unix_socket_echo) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, ECHO, AF_UNIX);
  char path[LOOM_ADDR_STRLEN];
  loom_addr_format(&p.addr, path, sizeof path);
  loom_stream *s;
  LT_RC(loom_open_unix_connection(path + 5, NULL, 5.0, &s), 0); /* skip "unix:" */
  LT_RC(loom_stream_write(s, "over unix\n", 10, 5.0), 0);
  char buf[32];
  assert_int_equal(loom_stream_readline(s, buf, sizeof buf, 5.0), 10);
  loom_stream_destroy(s);
  peer_stop(&p);
  LT_RC(loom_open_unix_connection("@loom-nobody-listens-here", NULL, 5.0, &s),
        LOOM_ECONNREFUSED);
  nh_leave(loop);
}

LOOM_TEST(stream, names_resolved_and_refused) {
  loom_loop *loop = nh_enter();
  peer p;
  peer_start(&p, ECHO, AF_INET);
  int port = loom_addr_port(&p.addr);
  loom_resolver *r;
  LT_RC(loom_resolver_create(&r, 1), 0);
  /* "localhost" may give ::1 first: nothing listens there, Happy Eyeballs
   * falls through to 127.0.0.1. */
  loom_stream_opts o = {.resolver = r};
  loom_stream *s;
  LT_RC(loom_open_connection("localhost", port, &o, 5.0, &s), 0);
  LT_RC(loom_stream_write(s, "x\n", 2, 5.0), 0);
  char buf[8];
  assert_int_equal(loom_stream_readline(s, buf, sizeof buf, 5.0), 2);
  loom_stream_destroy(s);
  peer_stop(&p);
  loom_resolver_destroy(r);
  /* Without a resolver (a lookup thread of its own), to a closed port. */
  LT_RC(loom_open_connection("localhost", port, NULL, 5.0, &s), LOOM_ECONNREFUSED);
  assert_null(s);
  /* .invalid never resolves (RFC 2606); with no DNS server reachable the
   * answer may be "temporary failure" instead of "no such name". */
  int rc = loom_open_connection("no-such-host.invalid", port, NULL, 20.0, &s);
  LT_CHECK(rc == LOOM_ENOENT || rc == LOOM_EAGAIN, "got %s", loom_err_name(rc));
  nh_leave(loop);
}

LOOM_TEST(stream, outside_a_task) {
  loom_stream *s;
  LT_RC(loom_open_connection("127.0.0.1", 1, NULL, 1.0, &s), LOOM_ENOTASK);
  LT_RC(loom_open_connection(NULL, 1, NULL, 1.0, &s), LOOM_EINVAL);
}

/* Happy Eyeballs: the first address never answers (a listener whose accept
 * queue is full drops SYNs), so after the attempt delay a second attempt
 * starts on the next address and wins; the hanging one is closed. */
LOOM_TEST(stream, happy_eyeballs_second_attempt_wins) {
  loom_loop *loop = nh_enter();
  loom_addr full, good;
  int lf = socket(AF_INET, SOCK_STREAM, 0), lg = socket(AF_INET, SOCK_STREAM, 0);
  LT_RC(loom_addr_ip(&full, "127.0.0.1", 0), 0);
  good = full;
  assert_int_equal(bind(lf, &full.u.sa, full.len), 0);
  assert_int_equal(bind(lg, &good.u.sa, good.len), 0);
  assert_int_equal(listen(lf, 0), 0);
  assert_int_equal(listen(lg, 4), 0);
  getsockname(lf, &full.u.sa, &full.len);
  getsockname(lg, &good.u.sa, &good.len);
  int fillers[4], nf = 0; /* fill the accept queue of lf (backlog 0 holds 1) */
  for (; nf < 4; nf++) {
    fillers[nf] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fillers[nf], &full.u.sa, full.len);
  }
  usleep(50000);
  loom_addrlist *l = loom__addrlist_alloc(2);
  l->e[0].addr = full;
  l->e[1].addr = good;
  loom_stream_opts o = {.happy_eyeballs_delay = 0.1};
  int fd = -1;
  double t0 = loom_now();
  LT_RC(loom__net_connect_list(l, &o, loom_deadline(5.0), &fd), 0);
  double took = loom_now() - t0;
  loom_addr got;
  got.len = sizeof got.u;
  getpeername(fd, &got.u.sa, &got.len);
  assert_true(loom_addr_equal(&got, &good));
  LT_CHECK(took >= 0.099, "second attempt after %.3f s, before the delay", took);
  /* With attempts one at a time (delay < 0), a bounded wait times out. */
  o.happy_eyeballs_delay = -1;
  close(fd);
  LT_RC(loom__net_connect_list(l, &o, loom_deadline(0.2), &fd), LOOM_ETIMEDOUT);
  loom_addrlist_free(l);
  for (int i = 0; i < nf; i++) close(fillers[i]);
  close(lf);
  close(lg);
  nh_leave(loop);
}
