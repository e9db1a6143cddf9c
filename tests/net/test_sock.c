/* test_sock.c - the socket awaitables on the loop: TCP echo round trip,
 * connection refused, timeouts, a peer that never reads, UDP with
 * truncation, and calls outside a task. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_harness.h"

/* A listening TCP socket on 127.0.0.1, port chosen by the kernel. */
static int listener(loom_addr *where) {
  int fd = loom_socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  loom_addr a;
  LT_RC(loom_addr_ip(&a, "127.0.0.1", 0), 0);
  assert_int_equal(bind(fd, &a.u.sa, a.len), 0);
  assert_int_equal(listen(fd, 16), 0);
  where->len = sizeof where->u;
  assert_int_equal(getsockname(fd, &where->u.sa, &where->len), 0);
  return fd;
}

/* Connect a client and accept it: *c and *s get the two ends. */
static void connected_pair(int lfd, const loom_addr *where, int *c, int *s) {
  *c = loom_socket(AF_INET, SOCK_STREAM, 0);
  assert_true(*c >= 0);
  LT_RC(loom_sock_connect(*c, where, 5.0), 0);
  loom_addr peer;
  *s = loom_sock_accept(lfd, &peer, 5.0);
  assert_true(*s >= 0);
  assert_int_equal(loom_addr_family(&peer), AF_INET);
}

LOOM_TEST(sock, tcp_echo_round_trip) {
  loom_loop *loop = nh_enter();
  loom_addr where;
  int lfd = listener(&where), c, s;
  connected_pair(lfd, &where, &c, &s);
  char buf[64];
  size_t sent;
  LT_RC(loom_sock_sendall(c, "ping", 4, &sent, 5.0), 0);
  assert_int_equal(sent, 4);
  ssize_t n = loom_sock_recv(s, buf, sizeof buf, 5.0);
  assert_int_equal(n, 4);
  assert_int_equal(loom_sock_send(s, buf, (size_t)n, 5.0), 4);
  assert_int_equal(loom_sock_recv(c, buf, sizeof buf, 5.0), 4);
  assert_memory_equal(buf, "ping", 4);
  close(c); /* EOF on the other end */
  assert_int_equal(loom_sock_recv(s, buf, sizeof buf, 5.0), 0);
  close(s);
  close(lfd);
  nh_leave(loop);
}

LOOM_TEST(sock, connection_refused) {
  loom_loop *loop = nh_enter();
  loom_addr where;
  int lfd = listener(&where);
  close(lfd); /* nothing listens on that port any more */
  int c = loom_socket(AF_INET, SOCK_STREAM, 0);
  LT_RC(loom_sock_connect(c, &where, 5.0), LOOM_ECONNREFUSED);
  close(c);
  nh_leave(loop);
}

LOOM_TEST(sock, recv_and_accept_time_out) {
  loom_loop *loop = nh_enter();
  loom_addr where;
  int lfd = listener(&where), c, s;
  double t0 = loom_now();
  LT_RC(loom_sock_accept(lfd, NULL, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "accept timed out after %.3f s", loom_now() - t0);
  connected_pair(lfd, &where, &c, &s);
  char buf[8];
  t0 = loom_now();
  LT_RC((int)loom_sock_recv(s, buf, sizeof buf, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "recv timed out after %.3f s", loom_now() - t0);
  LT_RC((int)loom_sock_recv(s, buf, sizeof buf, 0), LOOM_ETIMEDOUT);
  /* Nothing was lost: data sent now is received whole. */
  assert_int_equal(send(c, "abc", 3, 0), 3);
  assert_int_equal(loom_sock_recv(s, buf, sizeof buf, 5.0), 3);
  close(c);
  close(s);
  close(lfd);
  nh_leave(loop);
}

LOOM_TEST(sock, sendall_to_a_peer_that_never_reads_times_out_with_progress) {
  loom_loop *loop = nh_enter();
  loom_addr where;
  int lfd = listener(&where), c, s;
  connected_pair(lfd, &where, &c, &s);
  int small = 4096;
  setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  size_t n = 16 << 20, sent = 0;
  char *big = calloc(1, n);
  LT_RC(loom_sock_sendall(c, big, n, &sent, 0.1), LOOM_ETIMEDOUT);
  LT_CHECK(sent > 0 && sent < n, "sent %zu of %zu", sent, n);
  /* Reset by peer mid-write: the reader closes with data unread (RST). */
  close(s);
  int rc = loom_sock_sendall(c, big, n, &sent, 5.0);
  LT_CHECK(rc == LOOM_ECONNRESET || rc == LOOM_EPIPE, "write after reset: %s",
           loom_err_name(rc));
  free(big);
  close(c);
  close(lfd);
  nh_leave(loop);
}

LOOM_TEST(sock, udp_sendto_recvfrom_truncation) {
  loom_loop *loop = nh_enter();
  int a = loom_socket(AF_INET, SOCK_DGRAM, 0), b = loom_socket(AF_INET, SOCK_DGRAM, 0);
  loom_addr la, lb;
  LT_RC(loom_addr_ip(&la, "127.0.0.1", 0), 0);
  assert_int_equal(bind(a, &la.u.sa, la.len), 0);
  la.len = sizeof la.u;
  getsockname(a, &la.u.sa, &la.len);
  char buf[4];
  loom_addr from;
  double t0 = loom_now();
  LT_RC((int)loom_sock_recvfrom(a, buf, sizeof buf, &from, 0.03), LOOM_ETIMEDOUT);
  assert_true(loom_now() - t0 >= 0.029);
  assert_int_equal(loom_sock_sendto(b, "datagram", 8, &la, 5.0), 8);
  assert_int_equal(loom_sock_recvfrom(a, buf, sizeof buf, &from, 5.0), 8); /* > cap */
  assert_memory_equal(buf, "data", 4);
  lb.len = sizeof lb.u;
  getsockname(b, &lb.u.sa, &lb.len);
  assert_int_equal(loom_addr_port(&from), loom_addr_port(&lb)); /* b was auto-bound */
  close(a);
  close(b);
  nh_leave(loop);
}

LOOM_TEST(sock, outside_a_task) {
  int fds[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  char buf[4];
  LT_RC((int)loom_sock_recv(fds[0], buf, sizeof buf, 1.0), LOOM_ENOTASK);
  /* A call that needs no wait works anywhere. */
  assert_int_equal(loom_sock_send(fds[1], "x", 1, 1.0), 1);
  assert_int_equal(loom_sock_recv(fds[0], buf, sizeof buf, 1.0), 1);
  close(fds[0]);
  close(fds[1]);
}

LOOM_TEST(sock, unix_stream_pair) {
  loom_loop *loop = nh_enter();
  char path[64];
  snprintf(path, sizeof path, "@loom-test-sock-%d", getpid());
  loom_addr ua;
  LT_RC(loom_addr_unix(&ua, path), 0);
  int lfd = loom_socket(AF_UNIX, SOCK_STREAM, 0);
  assert_int_equal(bind(lfd, &ua.u.sa, ua.len), 0);
  assert_int_equal(listen(lfd, 4), 0);
  int c = loom_socket(AF_UNIX, SOCK_STREAM, 0);
  LT_RC(loom_sock_connect(c, &ua, 5.0), 0);
  int s = loom_sock_accept(lfd, NULL, 5.0);
  assert_true(s >= 0);
  assert_int_equal(loom_sock_send(c, "unix", 4, 5.0), 4);
  char buf[8];
  assert_int_equal(loom_sock_recv(s, buf, sizeof buf, 5.0), 4);
  close(s);
  close(c);
  close(lfd);
  nh_leave(loop);
}
