/* test_loop_io.c - readers and writers on foreign fds (pipes, socketpairs),
 * edge cases libcurl-style drivers hit (re-adding or removing inside a
 * callback, removing an fd already closed, fd number reuse), and signal
 * handlers (a signal raised to self runs the callback on the loop). */
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loom_test.h"

typedef struct io {
  loom_loop *loop;
  int fd[2];
  int reads, writes;
  char buf[64];
  int got;
} io;

static loom_loop *mk(void) {
  loom_loop *loop = NULL;
  LT_RC(loom_loop_create(&loop, NULL), 0);
  return loop;
}

static void stop_cb(void *arg) { loom_loop_stop(arg); }

static void on_read_once(void *arg) {
  io *c = arg;
  ssize_t n = read(c->fd[0], c->buf + c->got, sizeof c->buf - 1 - (size_t)c->got);
  if (n > 0) c->got += (int)n;
  c->reads++;
  loom_loop_remove_reader(c->loop, c->fd[0]); /* remove inside the callback */
  loom_loop_stop(c->loop);
}

static void write_hello(void *arg) {
  io *c = arg;
  assert_int_equal(write(c->fd[1], "hello", 5), 5);
}

LOOM_TEST(loop_io, add_reader_pipe) {
  loom_loop *loop = mk();
  io c = {.loop = loop};
  assert_int_equal(pipe(c.fd), 0);
  LT_RC(loom_loop_add_reader(loop, c.fd[0], on_read_once, &c), 0);
  LT_RC(loom_call_later(loop, 0.01, write_hello, &c, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(c.reads, 1);
  assert_int_equal(c.got, 5);
  assert_memory_equal(c.buf, "hello", 5);
  assert_int_equal(loom_loop_remove_reader(loop, c.fd[0]), 0); /* already removed */
  close(c.fd[0]);
  close(c.fd[1]);
  loom_loop_destroy(loop);
}

static void on_write(void *arg) {
  io *c = arg;
  c->writes++;
  assert_int_equal(write(c->fd[1], "x", 1), 1);
  if (c->writes == 3) {
    assert_int_equal(loom_loop_remove_writer(c->loop, c->fd[1]), 1);
    loom_call_soon(c->loop, stop_cb, c->loop, NULL);
  }
}

LOOM_TEST(loop_io, add_writer_level_triggered) {
  loom_loop *loop = mk();
  io c = {.loop = loop};
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd), 0);
  LT_RC(loom_loop_add_writer(loop, c.fd[1], on_write, &c), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(c.writes, 3);
  char b[8];
  assert_int_equal(read(c.fd[0], b, sizeof b), 3);
  close(c.fd[0]);
  close(c.fd[1]);
  loom_loop_destroy(loop);
}

/* Reader and writer on the same fd; the reader replaces itself from inside
 * its own callback (re-add), the writer removes the reader. */
static void reader2(void *arg);
static void reader1(void *arg) {
  io *c = arg;
  char b[8];
  c->got += (int)read(c->fd[0], b, sizeof b);
  c->reads += 1;
  LT_RC(loom_loop_add_reader(c->loop, c->fd[0], reader2, c), 0);
  assert_int_equal(write(c->fd[1], "y", 1), 1);
}
static void reader2(void *arg) {
  io *c = arg;
  char b[8];
  c->got += (int)read(c->fd[0], b, sizeof b);
  c->reads += 100;
  assert_int_equal(loom_loop_remove_reader(c->loop, c->fd[0]), 1);
  loom_loop_stop(c->loop);
}

LOOM_TEST(loop_io, readd_inside_callback) {
  loom_loop *loop = mk();
  io c = {.loop = loop};
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c.fd), 0);
  LT_RC(loom_loop_add_reader(loop, c.fd[0], reader1, &c), 0);
  assert_int_equal(write(c.fd[1], "x", 1), 1);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(c.reads, 101);
  assert_int_equal(c.got, 2);
  close(c.fd[0]);
  close(c.fd[1]);
  loom_loop_destroy(loop);
}

static void never(void *arg) { ((io *)arg)->reads += 1000; }

LOOM_TEST(loop_io, remove_closed_fd_and_reuse_number) {
  loom_loop *loop = mk();
  io c = {.loop = loop};
  assert_int_equal(pipe(c.fd), 0);
  LT_RC(loom_loop_add_reader(loop, c.fd[0], never, &c), 0);
  LT_RC(loom_loop_add_writer(loop, c.fd[1], never, &c), 0);
  int rfd = c.fd[0];
  close(c.fd[0]);
  close(c.fd[1]);
  /* The registration is dropped even though the fd is gone. */
  assert_int_equal(loom_loop_remove_reader(loop, rfd), 1);
  assert_int_equal(loom_loop_remove_writer(loop, c.fd[1]), 1);
  /* The number comes back for a new pipe: watching it works. */
  io d = {.loop = loop};
  assert_int_equal(pipe(d.fd), 0);
  LT_RC(loom_loop_add_reader(loop, d.fd[0], on_read_once, &d), 0);
  assert_int_equal(write(d.fd[1], "ok", 2), 2);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(d.reads, 1);
  assert_int_equal(c.reads, 0);
  close(d.fd[0]);
  close(d.fd[1]);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop_io, bad_fds) {
  loom_loop *loop = mk();
  io c = {.loop = loop};
  LT_RC(loom_loop_add_reader(loop, -1, never, &c), LOOM_EINVAL);
  LT_RC(loom_loop_add_reader(loop, 0, NULL, &c), LOOM_EINVAL);
  int fd[2];
  assert_int_equal(pipe(fd), 0);
  close(fd[0]);
  close(fd[1]);
  LT_RC(loom_loop_add_reader(loop, fd[0], never, &c), -EBADF);
  assert_int_equal(loom_loop_remove_reader(loop, fd[0]), 0);
  assert_int_equal(loom_loop_remove_writer(loop, 100000), 0);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop_io, close_drops_watches) {
  loom_loop *loop = mk();
  io c = {.loop = loop};
  assert_int_equal(pipe(c.fd), 0);
  LT_RC(loom_loop_add_reader(loop, c.fd[0], never, &c), 0);
  LT_RC(loom_loop_close(loop), 0);
  LT_RC(loom_loop_add_reader(loop, c.fd[0], never, &c), LOOM_ECLOSED);
  /* The fds still belong to the caller and still work. */
  assert_int_equal(write(c.fd[1], "z", 1), 1);
  char b;
  assert_int_equal(read(c.fd[0], &b, 1), 1);
  close(c.fd[0]);
  close(c.fd[1]);
  loom_loop_destroy(loop);
}

/* ---- signals ------------------------------------------------------------------ */

typedef struct sig {
  loom_loop *loop;
  int hits, last;
} sig;

static void on_sig(int signum, void *arg) {
  sig *s = arg;
  s->hits++;
  s->last = signum;
  loom_loop_stop(s->loop);
}

static void raise_usr1(void *arg) { raise(SIGUSR1); }

LOOM_TEST(loop_io, signal_to_self) {
  loom_loop *loop = mk();
  sig s = {.loop = loop};
  LT_RC(loom_loop_add_signal_handler(loop, SIGUSR1, on_sig, &s), 0);
  LT_RC(loom_call_soon(loop, raise_usr1, NULL, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(s.hits, 1);
  assert_int_equal(s.last, SIGUSR1);
  /* A second loop cannot take the same signal. */
  loom_loop *other = mk();
  LT_RC(loom_loop_add_signal_handler(other, SIGUSR1, on_sig, &s), LOOM_EBUSY);
  LT_RC(loom_loop_add_signal_handler(other, SIGKILL, on_sig, &s), LOOM_EINVAL);
  LT_RC(loom_loop_add_signal_handler(other, 0, on_sig, &s), LOOM_EINVAL);
  assert_int_equal(loom_loop_remove_signal_handler(loop, SIGUSR1), 1);
  assert_int_equal(loom_loop_remove_signal_handler(loop, SIGUSR1), 0);
  /* Now free: the other loop takes it; close releases it again. */
  LT_RC(loom_loop_add_signal_handler(other, SIGUSR1, on_sig, &s), 0);
  loom_loop_destroy(other);
  LT_RC(loom_loop_add_signal_handler(loop, SIGUSR1, on_sig, &s), 0);
  loom_loop_destroy(loop);
}

/* ---- fault sweep -------------------------------------------------------------- */

static int fault_add_reader(void *ctx) {
  int *fd = ctx;
  loom_loop *loop = NULL;
  int rc = loom_loop_create(&loop, NULL);
  if (rc) return rc;
  io c = {.loop = loop};
  rc = loom_loop_add_reader(loop, fd[0], never, &c);
  if (!rc) rc = loom_loop_add_writer(loop, fd[1], never, &c);
  if (!rc) rc = loom_loop_add_reader(loop, fd[1], never, &c);
  if (!rc) rc = loom_loop_add_signal_handler(loop, SIGUSR2, on_sig, NULL);
  loom_loop_destroy(loop);
  return rc;
}

LOOM_TEST(loop_io, fault_sweep_add_reader) {
  int fd[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
  int faults = loom_test_fault_sweep(fault_add_reader, fd, LOOM_FAULT_ALL, 40);
  LT_CHECK(faults >= 6, "only %d runs hit a fault", faults);
  close(fd[0]);
  close(fd[1]);
}
