/* test_dns_msg.c - example 20's DNS codec: real query bytes, answers,
 * compression pointers, malformed packets, and a fuzz run of random,
 * truncated and bit-flipped packets that must never crash (ASan/UBSan
 * watch every read) and never yield an answer to garbage. */
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"
#include "loom_test.h"

/* The bytes `dig @127.0.0.1 example.com A +noedns` sends (id 0x1234). */
static const uint8_t dig_query[] = {
    0x12, 0x34, 0x01, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x07, 'e',  'x',  'a',  'm',  'p',  'l',  'e',  0x03, 'c',  'o',  'm',
    0x00, 0x00, 0x01, 0x00, 0x01};

LOOM_TEST(dns, parse_real_query) {
  dns_query q;
  LT_RC(dns_parse_query(dig_query, sizeof dig_query, &q), 0);
  assert_int_equal(q.id, 0x1234);
  assert_string_equal(q.name, "example.com");
  assert_int_equal(q.qtype, DNS_TYPE_A);
  assert_int_equal(q.qclass, DNS_CLASS_IN);
}

LOOM_TEST(dns, answer_has_the_record) {
  dns_query q;
  LT_RC(dns_parse_query(dig_query, sizeof dig_query, &q), 0);
  uint8_t out[512];
  const uint8_t ip[4] = {10, 0, 0, 7};
  int n = dns_build_answer(&q, ip, 300, out, sizeof out);
  assert_int_equal(n, (int)sizeof dig_query + 16);
  assert_int_equal(out[0] << 8 | out[1], 0x1234);
  assert_true(out[2] & 0x80);               /* QR: a response */
  assert_true(out[2] & 0x01);               /* RD echoed */
  assert_int_equal(out[3] & 0x0f, 0);       /* NOERROR */
  assert_int_equal(out[7], 1);              /* ANCOUNT */
  assert_memory_equal(out + 12, dig_query + 12, sizeof dig_query - 12); /* question */
  const uint8_t *rr = out + sizeof dig_query;
  assert_int_equal(rr[0], 0xc0);            /* name: pointer to offset 12 */
  assert_int_equal(rr[1], 12);
  assert_int_equal(rr[3], DNS_TYPE_A);
  assert_int_equal(rr[6] << 24 | rr[7] << 16 | rr[8] << 8 | rr[9], 300);
  assert_int_equal(rr[11], 4);
  assert_memory_equal(rr + 12, ip, 4);
  /* The answer is itself not a query: the server would never answer it. */
  dns_query q2;
  LT_RC(dns_parse_query(out, (size_t)n, &q2), DNS_ENOTQUERY);
  LT_RC(dns_build_error(out, (size_t)n, DNS_RCODE_FORMERR, out, sizeof out), DNS_ENOTQUERY);
  LT_RC(dns_build_answer(&q, ip, 300, out, 20), DNS_ESPACE);
}

LOOM_TEST(dns, other_types_and_classes) {
  uint8_t pkt[512], out[512];
  int n = dns_build_query(7, "Host.Example.", DNS_TYPE_AAAA, pkt, sizeof pkt);
  assert_true(n > 0);
  dns_query q;
  LT_RC(dns_parse_query(pkt, (size_t)n, &q), 0);
  assert_string_equal(q.name, "host.example"); /* lower-cased, final dot gone */
  const uint8_t ip[4] = {127, 0, 0, 1};
  int m = dns_build_answer(&q, ip, 60, out, sizeof out);
  assert_int_equal(m, n); /* AAAA: NOERROR, no record */
  assert_int_equal(out[7], 0);
  q.qclass = 3; /* CHAOS */
  q.qtype = DNS_TYPE_A;
  m = dns_build_answer(&q, ip, 60, out, sizeof out);
  assert_int_equal(out[3] & 0x0f, DNS_RCODE_NOTIMP);
  assert_int_equal(out[7], 0);
  assert_true(m > 0);
}

LOOM_TEST(dns, compression_pointers) {
  /* Question name is a pointer back into... the header is all it has before
   * it, so craft: a label name at 12, and a second question-like pointer
   * can only be tested through read_name with a backward pointer. */
  uint8_t pkt[64];
  memcpy(pkt, dig_query, sizeof dig_query);
  /* Forward pointer (to itself): rejected, no loop. */
  pkt[12] = 0xc0;
  pkt[13] = 12;
  dns_query q;
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), DNS_EFORMAT);
  /* Pointer beyond the packet. */
  pkt[13] = 60;
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), DNS_EFORMAT);
  /* Backward pointer into the header bytes: allowed structurally; header
   * bytes 0x00 at offset 10 form the root name. */
  pkt[13] = 10;
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), 0);
  assert_string_equal(q.name, "");
  /* Reserved label types. */
  pkt[12] = 0x40;
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), DNS_EFORMAT);
}

LOOM_TEST(dns, malformed_headers) {
  dns_query q;
  uint8_t pkt[64];
  LT_RC(dns_parse_query(dig_query, 5, &q), DNS_ETRUNC);
  LT_RC(dns_parse_query(NULL, 0, &q), DNS_ETRUNC);
  memcpy(pkt, dig_query, sizeof dig_query);
  pkt[5] = 2; /* QDCOUNT 2 */
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), DNS_EQDCOUNT);
  pkt[5] = 1;
  pkt[2] |= 0x28; /* opcode 5 (UPDATE) */
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), DNS_ENOTQUERY);
  uint8_t out[64];
  int n = dns_build_error(pkt, sizeof dig_query, DNS_RCODE_NOTIMP, out, sizeof out);
  assert_int_equal(n, 12);
  assert_int_equal(out[0] << 8 | out[1], 0x1234);
  assert_int_equal(out[3] & 0x0f, DNS_RCODE_NOTIMP);
  LT_RC(dns_build_error(pkt, 11, DNS_RCODE_FORMERR, out, sizeof out), DNS_ETRUNC);
  /* A label with a dot or a control byte in it. */
  memcpy(pkt, dig_query, sizeof dig_query);
  pkt[15] = '.';
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), DNS_EFORMAT);
  pkt[15] = 0x01;
  LT_RC(dns_parse_query(pkt, sizeof dig_query, &q), DNS_EFORMAT);
  assert_string_equal(dns_strerror(DNS_EFORMAT), "malformed name");
}

LOOM_TEST(dns, every_truncation_rejected) {
  dns_query q;
  for (size_t n = 0; n < sizeof dig_query; n++) {
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any overread */
    memcpy(copy, dig_query, n);
    int rc = dns_parse_query(copy, n, &q);
    LT_CHECK(rc == DNS_ETRUNC, "truncated at %zu: %d (%s)", n, rc, dns_strerror(rc));
    free(copy);
  }
}

LOOM_TEST(dns, long_names) {
  char name[400];
  memset(name, 'a', sizeof name);
  name[63] = '\0';
  uint8_t pkt[600];
  assert_true(dns_build_query(1, name, 1, pkt, sizeof pkt) > 0);
  name[63] = 'a';
  name[64] = '\0'; /* 64-char label */
  LT_RC(dns_build_query(1, name, 1, pkt, sizeof pkt), DNS_EFORMAT);
  /* A wire name of 5 x 63-byte labels: longer than 255 characters. */
  size_t o = 12;
  memcpy(pkt, dig_query, 12);
  for (int i = 0; i < 5; i++) {
    pkt[o++] = 63;
    memset(pkt + o, 'b', 63);
    o += 63;
  }
  pkt[o++] = 0;
  memset(pkt + o, 0, 4);
  pkt[o + 1] = 1;
  pkt[o + 3] = 1;
  dns_query q;
  LT_RC(dns_parse_query(pkt, o + 4, &q), DNS_EFORMAT);
}

/* Fuzz: random bytes, random mutations of a valid query, every length.
 * Each packet sits in an exactly sized heap buffer so ASan catches any read
 * past its end; whatever parses must re-encode into a bounded answer. */
static void fuzz_one(const uint8_t *src, size_t n, int *parsed) {
  uint8_t *p = malloc(n ? n : 1);
  memcpy(p, src, n);
  dns_query q;
  int rc = dns_parse_query(p, n, &q);
  LT_CHECK(rc <= 0 && rc >= DNS_EQDCOUNT, "rc %d", rc);
  if (rc == 0) {
    (*parsed)++;
    LT_CHECK(strlen(q.name) <= DNS_NAME_MAX, "name too long");
    uint8_t out[600];
    const uint8_t ip[4] = {1, 2, 3, 4};
    int m = dns_build_answer(&q, ip, 1, out, sizeof out);
    LT_CHECK(m == DNS_EFORMAT || (m >= 12 && m <= 600), "answer %d", m);
  } else {
    uint8_t out[16];
    int m = dns_build_error(p, n, DNS_RCODE_FORMERR, out, sizeof out);
    LT_CHECK(m == 12 || m == DNS_ETRUNC || m == DNS_ENOTQUERY, "error answer %d", m);
  }
  free(p);
}

LOOM_TEST(dns, fuzz_random_and_mutated_packets) {
  unsigned seed = 12345;
  int parsed = 0;
  uint8_t buf[600];
  for (int i = 0; i < 20000; i++) {
    size_t n = (size_t)rand_r(&seed) % 300;
    for (size_t k = 0; k < n; k++) buf[k] = (uint8_t)rand_r(&seed);
    fuzz_one(buf, n, &parsed);
  }
  int mutated_ok = 0;
  for (int i = 0; i < 20000; i++) {
    memcpy(buf, dig_query, sizeof dig_query);
    int flips = 1 + rand_r(&seed) % 4;
    for (int k = 0; k < flips; k++)
      buf[(size_t)rand_r(&seed) % sizeof dig_query] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
    size_t n = sizeof dig_query - (size_t)(rand_r(&seed) % 3 == 0 ? rand_r(&seed) % 10 : 0);
    fuzz_one(buf, n, &mutated_ok);
  }
  /* Sanity: the mutation fuzzer still produces parseable packets sometimes,
   * so the answer path was fuzzed too. */
  LT_CHECK(mutated_ok > 100, "only %d mutated packets parsed", mutated_ok);
}
