/* test_stream_fast.c - the stream's fast paths, white-box: a read that
 * lands straight in the caller's buffer (no read buffer is ever allocated),
 * order kept when bytes are already buffered, a short direct read, a timed
 * out read that loses nothing, a reset and an EOF reaching a waiting
 * reader; a write that completes directly (nothing
 * queued, no writer registered) versus one that queues after a partial
 * send, EAGAIN in the middle of a message, a peer reset during the direct
 * write; the read buffer's recv size staying small for small messages
 * and growing for a bulk sender; and a close with unread input that still
 * delivers the reply (FIN, not RST).
 *
 * Each test uses a socketpair: one end is the loom stream, the test
 * drives the other end by hand (from loop callbacks, so the bytes arrive
 * while the reader is parked).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/stream_impl.h"
#include "net_harness.h"

typedef struct pair {
  loom_stream *s;
  int peer; /* the other end, blocking */
} pair;

static void pair_open(pair *p, int sndbuf) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  if (sndbuf) { /* small kernel buffers so partial sends happen early */
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof sndbuf);
  }
  LT_RC(loom_stream_from_fd(sv[0], NULL, &p->s), 0);
  p->peer = sv[1];
}

static void pair_close(pair *p) {
  loom_stream_destroy(p->s);
  if (p->peer >= 0) close(p->peer);
}

typedef struct later_write {
  int fd;
  const char *data;
  size_t len;
} later_write;

static void do_write(void *arg) {
  later_write *w = arg;
  assert_int_equal(write(w->fd, w->data, w->len), (ssize_t)w->len);
}

/* Write to the peer end 10 ms from now, from the loop (the reader parks
 * first). */
static void write_later(loom_loop *loop, later_write *w) {
  LT_RC(loom_call_later(loop, 0.01, do_write, w, NULL), 0);
}

LOOM_TEST(stream_fast, read_lands_in_callers_buffer) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 0);
  later_write w = {p.peer, "hello", 5};
  char buf[64];
  for (int round = 0; round < 3; round++) {
    write_later(loop, &w);
    assert_int_equal(loom_stream_read(p.s, buf, sizeof buf, 5.0), 5);
    assert_memory_equal(buf, "hello", 5);
  }
  LT_CHECK(p.s->rb.data == NULL, "a direct read allocated a read buffer (cap %zu)",
           p.s->rb.cap);
  LT_CHECK(p.s->dbuf == NULL && p.s->reader == NULL, "the reader stayed published");
  pair_close(&p);
  nh_leave(loop);
}

LOOM_TEST(stream_fast, buffered_bytes_come_first) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 0);
  assert_int_equal(write(p.peer, "abc", 3), 3);
  char buf[64];
  size_t got;
  LT_RC(loom_stream_readexactly(p.s, buf, 2, &got, 5.0), 0); /* "c" stays buffered */
  assert_memory_equal(buf, "ab", 2);
  later_write w = {p.peer, "def", 3};
  write_later(loop, &w);
  assert_int_equal(loom_stream_read(p.s, buf, sizeof buf, 5.0), 1);
  assert_int_equal(buf[0], 'c');
  assert_int_equal(loom_stream_read(p.s, buf, sizeof buf, 5.0), 3);
  assert_memory_equal(buf, "def", 3);
  pair_close(&p);
  nh_leave(loop);
}

LOOM_TEST(stream_fast, short_direct_read_leaves_the_rest) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 0);
  char msg[100];
  for (int i = 0; i < 100; i++) msg[i] = (char)i;
  later_write w = {p.peer, msg, sizeof msg};
  write_later(loop, &w);
  char buf[100];
  assert_int_equal(loom_stream_read(p.s, buf, 10, 5.0), 10);
  size_t total = 10;
  while (total < sizeof msg) {
    ssize_t k = loom_stream_read(p.s, buf + total, sizeof buf - total, 5.0);
    LT_CHECK(k > 0, "read after a short direct read: %zd", k);
    total += (size_t)k;
  }
  assert_memory_equal(buf, msg, sizeof msg);
  pair_close(&p);
  nh_leave(loop);
}

LOOM_TEST(stream_fast, timed_out_read_loses_nothing) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 0);
  char buf[16];
  int64_t t0 = loom_now_ns();
  assert_int_equal(loom_stream_read(p.s, buf, sizeof buf, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now_ns() - t0 >= 49000000, "a 50 ms timeout took %lld ns",
           (long long)(loom_now_ns() - t0));
  /* Data and an expired deadline in the same iteration: whichever wins,
   * the bytes reach a read. */
  assert_int_equal(write(p.peer, "xyz", 3), 3);
  ssize_t k = loom_stream_read(p.s, buf, sizeof buf, 0);
  if (k == LOOM_ETIMEDOUT) k = loom_stream_read(p.s, buf, sizeof buf, 5.0);
  assert_int_equal(k, 3);
  assert_memory_equal(buf, "xyz", 3);
  pair_close(&p);
  nh_leave(loop);
}

LOOM_TEST(stream_fast, direct_write_queues_nothing) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 0);
  LT_RC(loom_stream_write(p.s, "ping", 4, 5.0), 0);
  LT_CHECK(loom_stream_write_buffer_size(p.s) == 0 && !p.s->writing && !p.s->wb.head,
           "a write the kernel took was queued (%zu bytes, writer %d)",
           loom_stream_write_buffer_size(p.s), p.s->writing);
  char buf[8];
  assert_int_equal(read(p.peer, buf, sizeof buf), 4);
  assert_memory_equal(buf, "ping", 4);
  pair_close(&p);
  nh_leave(loop);
}

/* The peer reads everything from a loop callback-free thread of control:
 * here, by hand between loop iterations. */
static size_t drain_peer(int fd, unsigned char *out, size_t cap, size_t have) {
  for (;;) {
    ssize_t k = recv(fd, out + have, cap - have, MSG_DONTWAIT);
    if (k <= 0) return have;
    have += (size_t)k;
  }
}

LOOM_TEST(stream_fast, partial_write_queues_rest_in_order) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 4096);
  enum { BIG = 256 * 1024 };
  unsigned char *msg = malloc(BIG + 64), *got = malloc(BIG + 64);
  for (size_t i = 0; i < BIG + 64; i++) msg[i] = (unsigned char)(i * 7 + 3);
  /* write_nowait never waits: the kernel takes part, the rest is queued. */
  LT_RC(loom_stream_write_nowait(p.s, msg, BIG), 0);
  size_t queued = loom_stream_write_buffer_size(p.s);
  LT_CHECK(queued > 0 && queued < BIG, "expected a partial send, %zu queued", queued);
  LT_CHECK(p.s->writing, "queued bytes but no writer registered");
  /* EAGAIN mid-message: a small write now goes behind the queue. */
  LT_RC(loom_stream_write_nowait(p.s, msg + BIG, 64), 0);
  assert_int_equal(loom_stream_write_buffer_size(p.s), queued + 64);
  size_t have = 0;
  for (int i = 0; i < 100000 && have < BIG + 64; i++) {
    have = drain_peer(p.peer, got, BIG + 64, have);
    loom__loop_run_once(loop, true);
  }
  assert_int_equal(have, BIG + 64);
  assert_memory_equal(got, msg, BIG + 64);
  LT_CHECK(loom_stream_write_buffer_size(p.s) == 0 && !p.s->writing,
           "flushed, yet %zu queued, writer %d", loom_stream_write_buffer_size(p.s),
           p.s->writing);
  free(msg);
  free(got);
  pair_close(&p);
  nh_leave(loop);
}

LOOM_TEST(stream_fast, peer_reset_during_direct_write) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 0);
  close(p.peer); /* the peer is gone before the write */
  p.peer = -1;
  int rc = loom_stream_write(p.s, "data", 4, 5.0);
  LT_CHECK(rc == LOOM_EPIPE || rc == LOOM_ECONNRESET, "write to a closed peer: %s",
           loom_err_name(rc));
  assert_int_equal(loom_stream_write_buffer_size(p.s), 0);
  LT_RC(loom_stream_write(p.s, "more", 4, 5.0), rc); /* sticky */
  LT_RC(loom_stream_drain(p.s, 5.0), rc);
  pair_close(&p);
  nh_leave(loop);
}

LOOM_TEST(stream_fast, read_buffer_grows_only_for_bulk) {
  loom_loop *loop = nh_enter();
  pair p;
  pair_open(&p, 0);
  char line[32];
  for (int i = 0; i < 50; i++) { /* small lines through the read buffer */
    assert_int_equal(write(p.peer, "a line\n", 7), 7);
    assert_int_equal(loom_stream_readline(p.s, line, sizeof line, 5.0), 7);
  }
  LT_CHECK(p.s->rb.cap <= 4096, "small messages grew the read buffer to %zu", p.s->rb.cap);
  enum { BULK = 1 << 20 };
  char *big = calloc(1, BULK), *in = malloc(BULK);
  size_t got = 0;
  /* A bulk sender: write from the peer in big pieces, read exactly. */
  size_t sent = 0;
  while (got < BULK) {
    if (sent < BULK) {
      ssize_t k = send(p.peer, big + sent, BULK - sent, MSG_DONTWAIT);
      if (k > 0) sent += (size_t)k;
    }
    size_t want = sent - got < 65536 ? sent - got : 65536;
    size_t n;
    if (want) LT_RC(loom_stream_readexactly(p.s, in + got, want, &n, 5.0), 0);
    got += want;
  }
  LT_CHECK(p.s->rchunk > 4096, "bulk reads kept the recv size at %zu", p.s->rchunk);
  free(big);
  free(in);
  pair_close(&p);
  nh_leave(loop);
}

/* A TCP pair on loopback: *peer is the accepted end (blocking). */
static loom_stream *tcp_pair(int *peer, const loom_stream_opts *o) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  loom_addr a;
  LT_RC(loom_addr_ip(&a, "127.0.0.1", 0), 0);
  assert_int_equal(bind(lfd, &a.u.sa, a.len), 0);
  assert_int_equal(listen(lfd, 1), 0);
  a.len = sizeof a.u;
  getsockname(lfd, &a.u.sa, &a.len);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(c, &a.u.sa, a.len), 0);
  *peer = accept(lfd, NULL, NULL);
  assert_true(*peer >= 0);
  close(lfd);
  loom_stream *s;
  LT_RC(loom_stream_from_fd(c, o, &s), 0);
  return s;
}

static void reset_peer(void *arg) {
  int fd = *(int *)arg;
  struct linger lg = {1, 0}; /* close with linger 0: RST */
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
}

static void close_peer(void *arg) { close(*(int *)arg); }

LOOM_TEST(stream_fast, reset_and_eof_reach_a_waiting_reader) {
  loom_loop *loop = nh_enter();
  char buf[64];
  int peer;
  loom_stream *s = tcp_pair(&peer, NULL);
  LT_RC(loom_call_later(loop, 0.01, reset_peer, &peer, NULL), 0);
  ssize_t k = loom_stream_read(s, buf, sizeof buf, 5.0);
  LT_CHECK(k == LOOM_ECONNRESET, "a read waiting across a reset got %zd", k);
  loom_stream_destroy(s);
  s = tcp_pair(&peer, NULL);
  LT_RC(loom_call_later(loop, 0.01, close_peer, &peer, NULL), 0);
  assert_int_equal(loom_stream_read(s, buf, sizeof buf, 5.0), 0); /* EOF */
  assert_true(loom_stream_at_eof(s));
  loom_stream_destroy(s);
  nh_leave(loop);
}

LOOM_TEST(stream_fast, close_with_unread_input_keeps_the_reply) {
  loom_loop *loop = nh_enter();
  int peer;
  /* A small limit pauses reading at 2 KiB: the rest stays in the kernel. */
  loom_stream_opts o = {.limit = 1024};
  loom_stream *s = tcp_pair(&peer, &o);
  static char big[20000];
  memset(big, 'a', sizeof big);
  assert_int_equal(send(peer, big, sizeof big, 0), (ssize_t)sizeof big);
  char head[10];
  size_t got;
  LT_RC(loom_stream_readexactly(s, head, sizeof head, &got, 5.0), 0);
  /* Let all of it arrive, then answer without reading the rest. */
  for (int i = 0; i < 20; i++) loom__loop_run_once(loop, true);
  LT_RC(loom_stream_write(s, "reply", 5, 5.0), 0);
  LT_RC(loom_stream_close(s), 0);
  LT_RC(loom_stream_wait_closed(s, 5.0), 0);
  loom_stream_destroy(s);
  char buf[16];
  struct timeval tv = {5, 0};
  setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ssize_t k = recv(peer, buf, sizeof buf, MSG_WAITALL);
  LT_CHECK(k == 5, "the peer got %zd bytes of the reply (errno %d): a reset lost it", k,
           k < 0 ? errno : 0);
  assert_memory_equal(buf, "reply", 5);
  assert_int_equal(recv(peer, buf, sizeof buf, 0), 0); /* FIN, not RST */
  close(peer);
  nh_leave(loop);
}
