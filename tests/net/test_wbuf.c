/* test_wbuf.c - the stream write buffer: coalescing, iovec layout for
 * writev, partial sends, watermark hysteresis, all-or-nothing appends. */
#include <string.h>

#include "loom_test.h"
#include "net/wbuf.h"

/* Simulate the socket: take at most `max` bytes through the iovec view. */
static size_t drain_some(loom__wbuf *w, char *sink, size_t max) {
  struct iovec iov[64];
  size_t bytes;
  int n = loom__wbuf_iov(w, iov, 64, &bytes);
  size_t took = 0;
  for (int i = 0; i < n && took < max; i++) {
    size_t k = iov[i].iov_len < max - took ? iov[i].iov_len : max - took;
    memcpy(sink + took, iov[i].iov_base, k);
    took += k;
  }
  loom__wbuf_consume(w, took);
  return took;
}

LOOM_TEST(wbuf, small_writes_coalesce_into_one_iov) {
  loom__wbuf w;
  LT_RC(loom__wbuf_init(&w, 0, 0), 0);
  for (int i = 0; i < 1000; i++) LT_RC(loom__wbuf_append(&w, "0123456789", 10), 0);
  struct iovec iov[8];
  size_t bytes;
  int n = loom__wbuf_iov(&w, iov, 8, &bytes);
  assert_int_equal(bytes, 10000);
  LT_CHECK(n == 1, "1000 small writes took %d iovecs", n);
  assert_memory_equal(iov[0].iov_base, "0123456789", 10);
  loom__wbuf_fini(&w);
}

LOOM_TEST(wbuf, order_preserved_through_partial_sends) {
  loom__wbuf w;
  LT_RC(loom__wbuf_init(&w, 1 << 20, 0), 0);
  static char src[200000], sink[200000];
  for (size_t i = 0; i < sizeof src; i++) src[i] = (char)(i * 7 + i / 251);
  size_t put = 0, got = 0;
  int step = 0;
  while (got < sizeof src) {
    if (put < sizeof src) { /* writes of varying sizes, some huge */
      size_t n = (size_t[]){1, 100, 17000, 3, 40000, 999}[step % 6];
      if (n > sizeof src - put) n = sizeof src - put;
      LT_RC(loom__wbuf_append(&w, src + put, n), 0);
      put += n;
    }
    got += drain_some(&w, sink + got, (size_t)(step * 7919) % 30000 + 1);
    step++;
  }
  assert_int_equal(loom__wbuf_len(&w), 0);
  assert_memory_equal(src, sink, sizeof src);
  loom__wbuf_fini(&w);
}

LOOM_TEST(wbuf, writev_appends_all_pieces_in_order) {
  loom__wbuf w;
  LT_RC(loom__wbuf_init(&w, 0, 0), 0);
  static char big[40000];
  memset(big, 'B', sizeof big);
  struct iovec v[3] = {{"head:", 5}, {big, sizeof big}, {":tail", 5}};
  LT_RC(loom__wbuf_appendv(&w, v, 3), 0);
  assert_int_equal(loom__wbuf_len(&w), 40010);
  static char sink[40010];
  assert_int_equal(drain_some(&w, sink, sizeof sink), 40010);
  assert_memory_equal(sink, "head:", 5);
  assert_memory_equal(sink + 40005, ":tail", 5);
  LT_RC(loom__wbuf_appendv(&w, v, -1), LOOM_EINVAL);
  LT_RC(loom__wbuf_appendv(&w, NULL, 0), 0);
  loom__wbuf_fini(&w);
}

LOOM_TEST(wbuf, watermarks_hysteresis) {
  loom__wbuf w;
  LT_RC(loom__wbuf_init(&w, 100, 20), 0);
  static char x[300], sink[300];
  LT_RC(loom__wbuf_append(&w, x, 100), 0);
  assert_false(loom__wbuf_paused(&w)); /* at high: not above it */
  LT_RC(loom__wbuf_append(&w, x, 1), 0);
  assert_true(loom__wbuf_paused(&w));
  drain_some(&w, sink, 50); /* 51 left: between low and high */
  assert_true(loom__wbuf_paused(&w));
  drain_some(&w, sink, 31); /* 20 left: at low */
  assert_false(loom__wbuf_paused(&w));
  LT_RC(loom__wbuf_append(&w, x, 60), 0); /* 80: under high, stays resumed */
  assert_false(loom__wbuf_paused(&w));
  LT_RC(loom__wbuf_set_limits(&w, 50, 10), 0); /* new limits re-evaluate */
  assert_true(loom__wbuf_paused(&w));
  LT_RC(loom__wbuf_set_limits(&w, 10, 50), LOOM_EINVAL);
  loom__wbuf_clear(&w);
  assert_false(loom__wbuf_paused(&w));
  assert_int_equal(loom__wbuf_len(&w), 0);
  LT_RC(loom__wbuf_init(&w, 0, 0), 0);
  assert_int_equal(w.high, 65536);
  assert_int_equal(w.low, 16384);
  loom__wbuf_fini(&w);
}

LOOM_TEST(wbuf, iov_respects_max) {
  loom__wbuf w;
  LT_RC(loom__wbuf_init(&w, 0, 0), 0);
  static char big[LOOM__WBUF_CHUNK];
  for (int i = 0; i < 5; i++) LT_RC(loom__wbuf_append(&w, big, sizeof big), 0);
  struct iovec iov[3];
  size_t bytes;
  assert_int_equal(loom__wbuf_iov(&w, iov, 3, &bytes), 3);
  assert_int_equal(bytes, 3 * sizeof big);
  loom__wbuf_fini(&w);
}

static int append_under_faults(void *ctx) {
  (void)ctx;
  loom__wbuf w;
  loom__wbuf_init(&w, 0, 0);
  static char big[30000];
  int rc = 0;
  size_t want = 0;
  for (int i = 0; i < 4 && rc == 0; i++) {
    rc = loom__wbuf_append(&w, big, sizeof big);
    if (rc == 0) want += sizeof big;
  }
  LT_CHECK(loom__wbuf_len(&w) == want, "append not all-or-nothing: %zu vs %zu",
           loom__wbuf_len(&w), want);
  loom__wbuf_fini(&w);
  return rc;
}

LOOM_TEST(wbuf, allocation_faults) {
  assert_true(loom_test_fault_sweep(append_under_faults, NULL, LOOM_FAULT_ALLOC, 50) >= 1);
}
