/* test_rbuf.c - the stream read buffer: asyncio StreamReader semantics
 * (CPython's test_streams: read, readexactly, readline, readuntil, limits,
 * IncompleteReadError keeping the partial data), without a loop. */
#include <stdlib.h>
#include <string.h>

#include "loom_test.h"
#include "net/rbuf.h"

static void feed(loom__rbuf *b, const char *s) { LT_RC(loom__rbuf_append(b, s, strlen(s)), 0); }

LOOM_TEST(rbuf, read_takes_what_is_there) {
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  char buf[16];
  LT_RC((int)loom__rbuf_read(&b, buf, sizeof buf), LOOM_EAGAIN);
  feed(&b, "hello");
  LT_RC((int)loom__rbuf_read(&b, buf, 3), 3);
  assert_memory_equal(buf, "hel", 3);
  LT_RC((int)loom__rbuf_read(&b, buf, sizeof buf), 2);
  assert_memory_equal(buf, "lo", 2);
  LT_RC((int)loom__rbuf_read(&b, buf, sizeof buf), LOOM_EAGAIN);
  loom__rbuf_set_eof(&b);
  LT_RC((int)loom__rbuf_read(&b, buf, sizeof buf), 0);
  assert_true(loom__rbuf_at_eof(&b));
  LT_RC(loom__rbuf_append(&b, "x", 1), LOOM_ECLOSED);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, readexactly_waits_then_takes) {
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  char buf[8];
  size_t got = 99;
  feed(&b, "abc");
  LT_RC(loom__rbuf_readexactly(&b, buf, 5, &got), LOOM_EAGAIN);
  assert_int_equal(got, 0);
  assert_int_equal(loom__rbuf_len(&b), 3); /* nothing taken: cancel-safe */
  feed(&b, "defg");
  LT_RC(loom__rbuf_readexactly(&b, buf, 5, &got), 0);
  assert_int_equal(got, 5);
  assert_memory_equal(buf, "abcde", 5);
  LT_RC(loom__rbuf_readexactly(&b, buf, 0, &got), 0);
  assert_int_equal(loom__rbuf_len(&b), 2);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, readexactly_incomplete_keeps_partial) {
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  char buf[8];
  size_t got;
  feed(&b, "xyz");
  loom__rbuf_set_eof(&b);
  LT_RC(loom__rbuf_readexactly(&b, buf, 8, &got), LOOM_EINCOMPLETE);
  assert_int_equal(got, 3);
  assert_memory_equal(buf, "xyz", 3);
  LT_RC(loom__rbuf_readexactly(&b, buf, 1, &got), LOOM_EINCOMPLETE);
  assert_int_equal(got, 0);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, readline_lines_and_final_partial) {
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  char buf[64];
  feed(&b, "line1\nline");
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), 6);
  assert_memory_equal(buf, "line1\n", 6);
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), LOOM_EAGAIN);
  feed(&b, "2\n\nlast");
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), 6);
  assert_memory_equal(buf, "line2\n", 6);
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), 1);
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), LOOM_EAGAIN);
  loom__rbuf_set_eof(&b);
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), 4);
  assert_memory_equal(buf, "last", 4);
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), 0);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, readuntil_multibyte_separator_split_across_feeds) {
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  char buf[64];
  size_t got;
  feed(&b, "GET / HTTP/1.1\r\nHost: x\r\n\r");
  LT_RC(loom__rbuf_readuntil(&b, "\r\n\r\n", 4, buf, sizeof buf, &got), LOOM_EAGAIN);
  feed(&b, "\nbody");
  LT_RC(loom__rbuf_readuntil(&b, "\r\n\r\n", 4, buf, sizeof buf, &got), 0);
  assert_int_equal(got, 27);
  assert_memory_equal(buf + got - 4, "\r\n\r\n", 4);
  assert_int_equal(loom__rbuf_len(&b), 4);
  LT_RC(loom__rbuf_readuntil(&b, "", 0, buf, sizeof buf, &got), LOOM_EINVAL);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, readuntil_limit_keeps_data) {
  loom__rbuf b;
  loom__rbuf_init(&b, 8);
  char buf[64];
  size_t got;
  feed(&b, "0123456789\n");
  /* Separator found but past the limit: LimitOverrunError, data stays. */
  LT_RC(loom__rbuf_readuntil(&b, "\n", 1, buf, sizeof buf, &got), LOOM_ELIMIT);
  assert_int_equal(loom__rbuf_len(&b), 11);
  LT_RC((int)loom__rbuf_read(&b, buf, sizeof buf), 11);
  /* No separator and the buffer reached the limit: ELIMIT, data stays. */
  feed(&b, "abcdefgh");
  LT_RC(loom__rbuf_readuntil(&b, "\n", 1, buf, sizeof buf, &got), LOOM_ELIMIT);
  assert_int_equal(loom__rbuf_len(&b), 8);
  /* The caller's buffer is a limit too. */
  loom__rbuf_fini(&b);
  loom__rbuf_init(&b, 0);
  feed(&b, "abcdef\n");
  LT_RC(loom__rbuf_readuntil(&b, "\n", 1, buf, 4, &got), LOOM_ELIMIT);
  LT_RC(loom__rbuf_readuntil(&b, "\n", 1, buf, 7, &got), 0);
  assert_int_equal(got, 7);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, readuntil_eof_gives_partial) {
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  char buf[16];
  size_t got;
  feed(&b, "no-sep");
  loom__rbuf_set_eof(&b);
  LT_RC(loom__rbuf_readuntil(&b, "!!", 2, buf, sizeof buf, &got), LOOM_EINCOMPLETE);
  assert_int_equal(got, 6);
  assert_memory_equal(buf, "no-sep", 6);
  assert_true(loom__rbuf_at_eof(&b));
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, readline_overrun_discards_line) {
  loom__rbuf b;
  loom__rbuf_init(&b, 4);
  char buf[16];
  feed(&b, "toolong\nok\n");
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), LOOM_ELIMIT);
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), 3);
  assert_memory_equal(buf, "ok\n", 3);
  /* No newline buffered at all: the whole buffer goes. */
  feed(&b, "abcdefgh");
  LT_RC((int)loom__rbuf_readline(&b, buf, sizeof buf), LOOM_ELIMIT);
  assert_int_equal(loom__rbuf_len(&b), 0);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, read_all_and_limit) {
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  void *data;
  size_t len;
  feed(&b, "part1 ");
  LT_RC(loom__rbuf_read_all(&b, 100, &data, &len), LOOM_EAGAIN);
  feed(&b, "part2");
  LT_RC(loom__rbuf_read_all(&b, 5, &data, &len), LOOM_ELIMIT);
  loom__rbuf_set_eof(&b);
  LT_RC(loom__rbuf_read_all(&b, 100, &data, &len), 0);
  assert_int_equal(len, 11);
  assert_string_equal(data, "part1 part2");
  free(data);
  loom__rbuf_fini(&b);
}

LOOM_TEST(rbuf, space_commit_grows_and_compacts_and_pauses) {
  loom__rbuf b;
  loom__rbuf_init(&b, 1000);
  /* Write a counting pattern in odd-sized pieces, reading some as we go;
   * whatever compaction or growth happens, the bytes come out in order. */
  unsigned char want = 0, next = 0, buf[700];
  size_t total_in = 0;
  for (int round = 0; round < 200; round++) {
    void *p;
    size_t avail;
    LT_RC(loom__rbuf_space(&b, 300, &p, &avail), 0);
    assert_true(avail >= 300);
    size_t n = 1 + (size_t)(round * 37) % 300;
    for (size_t i = 0; i < n; i++) ((unsigned char *)p)[i] = next++;
    loom__rbuf_commit(&b, n);
    total_in += n;
    if (loom__rbuf_full(&b) || round % 3 == 0) {
      ssize_t k = loom__rbuf_read(&b, buf, (size_t)(round % 7 == 0 ? 700 : 150));
      assert_true(k > 0);
      for (ssize_t i = 0; i < k; i++) LT_CHECK(buf[i] == want++, "byte %zd out of order", i);
    }
    assert_true(loom__rbuf_len(&b) < 2 * 1000 + 300);
  }
  while (loom__rbuf_len(&b)) {
    ssize_t k = loom__rbuf_read(&b, buf, sizeof buf);
    for (ssize_t i = 0; i < k; i++) LT_CHECK(buf[i] == want++, "tail byte out of order");
  }
  assert_true(total_in > 10000);
  loom__rbuf_fini(&b);
}

/* Fault sweep: a failed growth leaves the buffer usable and intact. */
static int grow_under_faults(void *ctx) {
  (void)ctx;
  loom__rbuf b;
  loom__rbuf_init(&b, 0);
  int rc = 0;
  for (int i = 0; i < 6 && rc == 0; i++) {
    char chunk[5000];
    memset(chunk, 'a' + i, sizeof chunk);
    rc = loom__rbuf_append(&b, chunk, sizeof chunk);
  }
  size_t len = loom__rbuf_len(&b);
  if (rc == LOOM_ENOMEM) LT_CHECK(len % 5000 == 0, "partial append after ENOMEM: %zu", len);
  loom__rbuf_fini(&b);
  return rc;
}

LOOM_TEST(rbuf, allocation_faults) {
  int n = loom_test_fault_sweep(grow_under_faults, NULL, LOOM_FAULT_ALLOC, 50);
  assert_true(n >= 1);
}
