/* test_sort_proto.c - example 21's framing and JSON: big-endian lengths,
 * exact 64-bit integers, mixed integer/real ordering, bad requests answered
 * with an error object. */
#include <stdlib.h>
#include <string.h>

#include "loom_test.h"
#include "sort_proto.h"

LOOM_TEST(sort_proto, frame_header_big_endian) {
  uint8_t h[8];
  sort_frame_header(h, 0x0102030405060708ull);
  const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  assert_memory_equal(h, want, 8);
  size_t len;
  sort_frame_header(h, 1000);
  LT_RC(sort_frame_length(h, SORT_DEFAULT_MAX, &len), 0);
  assert_int_equal(len, 1000);
  LT_RC(sort_frame_length(h, 999, &len), SORT_ETOOBIG);
  memset(h, 0xff, 8);
  LT_RC(sort_frame_length(h, SORT_DEFAULT_MAX, &len), SORT_ETOOBIG);
}

static void expect_reply(const char *req, const char *want, int want_rc) {
  char *reply = NULL;
  size_t rlen = 0;
  int rc = sort_handle(req, strlen(req), &reply, &rlen);
  LT_CHECK(rc == want_rc, "%s: rc %d (%s)", req, rc, sort_strerror(rc));
  LT_CHECK(reply && strcmp(reply, want) == 0 && rlen == strlen(want), "%s -> %s, want %s",
           req, reply ? reply : "(null)", want);
  free(reply);
}

LOOM_TEST(sort_proto, sorts_integers_reals_and_mixed) {
  expect_reply("[3, 1, 2]", "[1,2,3]", 0);
  expect_reply("[]", "[]", 0);
  expect_reply("[-5, 2.5, 0, -7.25, 10]", "[-7.25,-5,0,2.5,10]", 0);
  /* Exact beyond 2^53: a double-based JSON library would merge these. */
  expect_reply("[9007199254740993, 9007199254740992, -9223372036854775808]",
               "[-9223372036854775808,9007199254740992,9007199254740993]", 0);
  /* An integer and a real just above it, at 2^53 + 1 vs 2^53 as a double. */
  expect_reply("[9007199254740993, 9007199254740992.0]",
               "[9007199254740992.0,9007199254740993]", 0);
  expect_reply("[1.5e10, -2.25, 5, 1e300]", "[-2.25,5,15000000000.0,1.0000000000000001e300]", 0); /* %.17g: round-trips */
}

LOOM_TEST(sort_proto, bad_requests_get_an_error_object) {
  expect_reply("[1, 2", "{\"error\":\"request is not valid JSON\"}", SORT_EJSON);
  expect_reply("{\"a\": 1}", "{\"error\":\"request is not a JSON array\"}", SORT_ENOTARRAY);
  expect_reply("5", "{\"error\":\"request is not a JSON array\"}", SORT_ENOTARRAY);
  expect_reply("[1, \"two\", 3]", "{\"error\":\"array element is not a number\"}",
               SORT_ENOTNUMBER);
  expect_reply("[1, null]", "{\"error\":\"array element is not a number\"}", SORT_ENOTNUMBER);
  expect_reply("", "{\"error\":\"request is not valid JSON\"}", SORT_EJSON);
}

LOOM_TEST(sort_proto, large_random_array_sorted) {
  enum { N = 100000 };
  char *req = malloc(N * 24 + 16), *p = req;
  unsigned seed = 7;
  *p++ = '[';
  for (int i = 0; i < N; i++) {
    long v = (long)rand_r(&seed) - RAND_MAX / 2;
    p += sprintf(p, i % 3 ? "%ld," : "%ld.5,", v);
  }
  p[-1] = ']';
  *p = '\0';
  sort_num *nums;
  size_t n;
  LT_RC(sort_parse(req, strlen(req), &nums, &n), 0);
  assert_int_equal(n, N);
  sort_numbers(nums, n);
  for (size_t i = 1; i < n; i++) {
    long double a = nums[i - 1].is_int ? (long double)nums[i - 1].v.i : nums[i - 1].v.d;
    long double b = nums[i].is_int ? (long double)nums[i].v.i : nums[i].v.d;
    LT_CHECK(a <= b, "out of order at %zu", i);
  }
  char *json;
  size_t jlen;
  LT_RC(sort_format(nums, n, &json, &jlen), 0);
  assert_true(json[0] == '[' && json[jlen - 1] == ']');
  free(json);
  free(nums);
  free(req);
}
