/* test_cancel.c - the cancellation-safety table of docs/net.md, checked in
 * real tasks: a cancelled read takes nothing, a cancelled write writes
 * nothing, a cancelled accept leaves the connection in the backlog, several
 * drainers all wake, a second concurrent reader is refused. */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loom_test.h"

/* The test body runs as the main task of a fresh loop (asyncio.run). */
static int run_main(loom_fn fn, void *arg) { return loom_run(fn, arg, NULL, NULL); }

/* A stream over one end of a socketpair; *peer gets the other (blocking). */
static loom_stream *pair_stream(int *peer, const loom_stream_opts *o) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  loom_stream *s;
  LT_RC(loom_stream_from_fd(sv[0], o, &s), 0);
  *peer = sv[1];
  return s;
}

static loom_future *spawn(loom_future *self, loom_fn fn, void *arg) {
  loom_future *t;
  LT_RC(loom_task_spawn(loom_task_loop(self), fn, arg, NULL, &t), 0);
  return t;
}

/* Cancel t (after letting it start and block), wait for it, return its code. */
static int cancel_and_wait(loom_future *t) {
  loom_sleep(0.02);
  loom_task_cancel(t, "test");
  LT_RC(loom_future_wait(t, 5.0), 0);
  int code = 0;
  loom_future_exception(t, &code, NULL);
  loom_future_release(t);
  return code;
}

static int readexactly_10(loom_future *self, void *arg) {
  char buf[10];
  size_t got = 99;
  int rc = loom_stream_readexactly(arg, buf, sizeof buf, &got, LOOM_FOREVER);
  LT_CHECK(got == 0, "a cancelled readexactly reported %zu bytes", got);
  return rc;
}

static int readline_any(loom_future *self, void *arg) {
  char buf[64];
  return (int)loom_stream_readline(arg, buf, sizeof buf, LOOM_FOREVER);
}

static int reads_keep_data(loom_future *self, void *arg) {
  int peer;
  loom_stream *s = pair_stream(&peer, NULL);
  assert_int_equal(write(peer, "abc", 3), 3);
  LT_RC(cancel_and_wait(spawn(self, readexactly_10, s)), LOOM_ECANCELLED);
  assert_int_equal(write(peer, "de\nfg", 5), 5);
  LT_RC(cancel_and_wait(spawn(self, readexactly_10, s)), LOOM_ECANCELLED);
  /* The partial line "fg" is in the buffer when readline is cancelled. */
  char buf[16];
  assert_int_equal(loom_stream_readline(s, buf, sizeof buf, 5.0), 6);
  assert_memory_equal(buf, "abcde\n", 6);
  LT_RC(cancel_and_wait(spawn(self, readline_any, s)), LOOM_ECANCELLED);
  assert_int_equal(write(peer, "h\n", 2), 2);
  assert_int_equal(loom_stream_readline(s, buf, sizeof buf, 5.0), 4);
  assert_memory_equal(buf, "fgh\n", 4);
  loom_stream_destroy(s);
  close(peer);
  return 0;
}

LOOM_TEST(cancel, reads_take_nothing) { LT_RC(run_main(reads_keep_data, NULL), 0); }

static int write_big(loom_future *self, void *arg) {
  static char chunk[32768];
  return loom_stream_write(arg, chunk, sizeof chunk, LOOM_FOREVER);
}

static int drain_it(loom_future *self, void *arg) { return loom_stream_drain(arg, 10.0); }

static int writes_all_or_nothing(loom_future *self, void *arg) {
  int peer;
  loom_stream_opts o = {.high_water = 16384, .low_water = 4096};
  loom_stream *s = pair_stream(&peer, &o);
  static char chunk[32768];
  while (loom_stream_write_buffer_size(s) <= 16384) /* fill kernel + buffer */
    LT_RC(loom_stream_write_nowait(s, chunk, sizeof chunk), 0);
  size_t before = loom_stream_write_buffer_size(s);
  LT_RC(cancel_and_wait(spawn(self, write_big, s)), LOOM_ECANCELLED);
  assert_int_equal(loom_stream_write_buffer_size(s), before); /* wrote nothing */
  /* Two drainers wait; reading everything on the peer wakes both. */
  loom_future *d1 = spawn(self, drain_it, s), *d2 = spawn(self, drain_it, s);
  loom_sleep(0.02);
  assert_false(loom_future_done(d1) || loom_future_done(d2));
  char sink[65536];
  while (!loom_future_done(d1) || !loom_future_done(d2)) {
    ssize_t k = recv(peer, sink, sizeof sink, MSG_DONTWAIT);
    if (k <= 0) loom_sleep(0.001);
  }
  LT_RC(loom_future_result(d1, 0, NULL), 0);
  LT_RC(loom_future_result(d2, 0, NULL), 0);
  loom_future_release(d1);
  loom_future_release(d2);
  loom_stream_destroy(s);
  close(peer);
  return 0;
}

LOOM_TEST(cancel, writes_all_or_nothing_and_drainers_all_wake) {
  LT_RC(run_main(writes_all_or_nothing, NULL), 0);
}

static int second_reader(loom_future *self, void *arg) {
  int peer;
  loom_stream *s = pair_stream(&peer, NULL);
  loom_future *r1 = spawn(self, readline_any, s);
  loom_sleep(0.01);
  char buf[8];
  LT_RC((int)loom_stream_read(s, buf, sizeof buf, 1.0), LOOM_EBUSY);
  LT_RC(cancel_and_wait(r1), LOOM_ECANCELLED);
  assert_int_equal(write(peer, "x", 1), 1);
  assert_int_equal(loom_stream_read(s, buf, sizeof buf, 5.0), 1); /* free again */
  loom_stream_destroy(s);
  close(peer);
  return 0;
}

LOOM_TEST(cancel, one_reader_at_a_time) { LT_RC(run_main(second_reader, NULL), 0); }

static int accept_one(loom_future *self, void *arg) {
  return loom_sock_accept(*(int *)arg, NULL, LOOM_FOREVER);
}

static int accept_keeps_backlog(loom_future *self, void *arg) {
  int lfd = loom_socket(AF_INET, SOCK_STREAM, 0);
  loom_addr a;
  LT_RC(loom_addr_ip(&a, "127.0.0.1", 0), 0);
  assert_int_equal(bind(lfd, &a.u.sa, a.len), 0);
  assert_int_equal(listen(lfd, 4), 0);
  a.len = sizeof a.u;
  getsockname(lfd, &a.u.sa, &a.len);
  LT_RC(cancel_and_wait(spawn(self, accept_one, &lfd)), LOOM_ECANCELLED);
  int c = loom_socket(AF_INET, SOCK_STREAM, 0);
  LT_RC(loom_sock_connect(c, &a, 5.0), 0);
  int s = loom_sock_accept(lfd, NULL, 5.0); /* the connection waited for us */
  assert_true(s >= 0);
  close(s);
  close(c);
  close(lfd);
  return 0;
}

LOOM_TEST(cancel, accept_leaves_the_backlog) { LT_RC(run_main(accept_keeps_backlog, NULL), 0); }

static int scoped_read(loom_future *self, void *arg) {
  int peer;
  loom_stream *s = pair_stream(&peer, NULL);
  assert_int_equal(write(peer, "par", 3), 3);
  loom_timeout *scope;
  double t0 = loom_now(); /* before the scope starts: its 50 ms count from there */
  LT_RC(loom_timeout_begin(0.05, &scope), 0);
  char buf[16];
  ssize_t n = loom_stream_readline(s, buf, sizeof buf, LOOM_FOREVER); /* the scope bounds it */
  LT_RC(loom_timeout_end(scope, (int)n), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "scope expired after %.3f s", loom_now() - t0);
  assert_int_equal(write(peer, "tial\n", 5), 5);
  assert_int_equal(loom_stream_readline(s, buf, sizeof buf, 5.0), 8); /* nothing lost */
  assert_memory_equal(buf, "partial\n", 8);
  loom_stream_destroy(s);
  close(peer);
  return 0;
}

LOOM_TEST(cancel, timeout_scope_bounds_a_read) { LT_RC(run_main(scoped_read, NULL), 0); }
