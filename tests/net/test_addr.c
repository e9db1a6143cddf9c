/* test_addr.c - loom_addr parsing, formatting and comparison for IPv4, IPv6
 * and Unix-domain (path and abstract) addresses. */
#include <arpa/inet.h>
#include <string.h>

#include "loom_test.h"

/* parse(text) then format gives `want` back. */
static void round_trip(const char *text, const char *want, int family) {
  loom_addr a;
  LT_RC(loom_addr_parse(&a, text), 0);
  assert_int_equal(loom_addr_family(&a), family);
  char buf[LOOM_ADDR_STRLEN];
  int n = loom_addr_format(&a, buf, sizeof buf);
  LT_CHECK(n == (int)strlen(want) && strcmp(buf, want) == 0, "%s formatted as %s (%d)",
           text, buf, n);
  loom_addr b;
  LT_RC(loom_addr_parse(&b, buf), 0);
  assert_true(loom_addr_equal(&a, &b));
}

LOOM_TEST(addr, round_trips) {
  round_trip("127.0.0.1:8080", "127.0.0.1:8080", AF_INET);
  round_trip("0.0.0.0:0", "0.0.0.0:0", AF_INET);
  round_trip("[::1]:443", "[::1]:443", AF_INET6);
  round_trip("[2001:DB8:0:0::1]:65535", "[2001:db8::1]:65535", AF_INET6);
  round_trip("[::ffff:1.2.3.4]:1", "[::ffff:1.2.3.4]:1", AF_INET6);
  round_trip("[fe80::1%7]:22", "[fe80::1%7]:22", AF_INET6);
  round_trip("unix:/tmp/loom.sock", "unix:/tmp/loom.sock", AF_UNIX);
  round_trip("/run/x", "unix:/run/x", AF_UNIX);
  round_trip("unix:@loom-abstract", "unix:@loom-abstract", AF_UNIX);
}

LOOM_TEST(addr, ip_and_port_accessors) {
  loom_addr a;
  LT_RC(loom_addr_ip(&a, "10.1.2.3", 53), 0);
  assert_int_equal(loom_addr_port(&a), 53);
  assert_int_equal(a.len, sizeof(struct sockaddr_in));
  assert_int_equal(ntohl(a.u.in4.sin_addr.s_addr), 0x0a010203);
  LT_RC(loom_addr_set_port(&a, 65535), 0);
  assert_int_equal(loom_addr_port(&a), 65535);
  LT_RC(loom_addr_set_port(&a, 65536), LOOM_EINVAL);
  LT_RC(loom_addr_ip(&a, "::", 0), 0);
  assert_int_equal(loom_addr_family(&a), AF_INET6);
  assert_int_equal(a.len, sizeof(struct sockaddr_in6));
  LT_RC(loom_addr_unix(&a, "/x"), 0);
  LT_RC(loom_addr_port(&a), LOOM_EINVAL);
  LT_RC(loom_addr_set_port(&a, 1), LOOM_EINVAL);
}

LOOM_TEST(addr, loopback_interface_scope_by_name) {
  loom_addr a;
  LT_RC(loom_addr_parse(&a, "[fe80::2%lo]:9"), 0);
  assert_true(a.u.in6.sin6_scope_id != 0);
  char buf[LOOM_ADDR_STRLEN];
  assert_true(loom_addr_format(&a, buf, sizeof buf) > 0);
  assert_string_equal(buf, "[fe80::2%lo]:9");
  LT_RC(loom_addr_parse(&a, "[fe80::2%no-such-if0]:9"), LOOM_EINVAL);
}

LOOM_TEST(addr, malformed_rejected) {
  const char *bad[] = {"",           "127.0.0.1",      "127.0.0.1:",   "127.0.0.1:65536",
                       "1.2.3:80",   "256.1.1.1:80",   "::1:80",       "[::1]",
                       "[::1]80",    "[1.2.3.4]:80",   "[::1]:-1",     "host:80",
                       "1.2.3.4:8a", "1.2.3.4:123456", "[zz::1]:1",    "unix:",
                       "[::1:80"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    loom_addr a;
    int rc = loom_addr_parse(&a, bad[i]);
    LT_CHECK(rc == LOOM_EINVAL, "\"%s\" gave %d", bad[i], rc);
  }
  loom_addr a;
  LT_RC(loom_addr_parse(NULL, "1.2.3.4:1"), LOOM_EINVAL);
  LT_RC(loom_addr_parse(&a, NULL), LOOM_EINVAL);
  LT_RC(loom_addr_ip(&a, "1.2.3.4", -1), LOOM_EINVAL);
  LT_RC(loom_addr_ip(&a, "localhost", 1), LOOM_EINVAL);
}

LOOM_TEST(addr, unix_path_length_limit) {
  char path[200];
  memset(path, 'p', sizeof path);
  path[0] = '/';
  loom_addr a;
  size_t max = sizeof a.u.un.sun_path;
  path[max - 1] = '\0'; /* max - 1 chars + NUL fits exactly */
  LT_RC(loom_addr_unix(&a, path), 0);
  path[max - 1] = 'p';
  path[max] = '\0';
  LT_RC(loom_addr_unix(&a, path), -ENAMETOOLONG);
  path[0] = '@'; /* abstract: no terminator needed, so one more fits */
  LT_RC(loom_addr_unix(&a, path), 0);
  char buf[LOOM_ADDR_STRLEN];
  assert_int_equal(loom_addr_format(&a, buf, sizeof buf), (int)(5 + max));
}

LOOM_TEST(addr, format_overflow_and_unnamed) {
  loom_addr a;
  LT_RC(loom_addr_parse(&a, "[2001:db8::1]:8080"), 0);
  char small[8];
  LT_RC(loom_addr_format(&a, small, sizeof small), LOOM_EOVERFLOW);
  assert_int_equal(strlen(small), sizeof small - 1);
  LT_RC(loom_addr_format(&a, small, 0), LOOM_EOVERFLOW);
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  LT_RC(loom_addr_from_sockaddr(&a, (struct sockaddr *)&un, sizeof(sa_family_t)), 0);
  char buf[LOOM_ADDR_STRLEN];
  assert_int_equal(loom_addr_format(&a, buf, sizeof buf), 5);
  assert_string_equal(buf, "unix:");
  memset(&a, 0, sizeof a);
  LT_RC(loom_addr_format(&a, buf, sizeof buf), LOOM_EINVAL);
}

LOOM_TEST(addr, from_sockaddr_validates) {
  struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(7)};
  loom_addr a, b;
  LT_RC(loom_addr_from_sockaddr(&a, (struct sockaddr *)&in4, sizeof in4), 0);
  LT_RC(loom_addr_ip(&b, "0.0.0.0", 7), 0);
  assert_true(loom_addr_equal(&a, &b));
  LT_RC(loom_addr_from_sockaddr(&a, (struct sockaddr *)&in4, 4), LOOM_EINVAL);
  in4.sin_family = AF_APPLETALK;
  LT_RC(loom_addr_from_sockaddr(&a, (struct sockaddr *)&in4, sizeof in4), LOOM_EINVAL);
}

LOOM_TEST(addr, equality) {
  loom_addr a, b;
  LT_RC(loom_addr_parse(&a, "1.2.3.4:5"), 0);
  LT_RC(loom_addr_parse(&b, "1.2.3.4:6"), 0);
  assert_false(loom_addr_equal(&a, &b));
  LT_RC(loom_addr_parse(&b, "[::ffff:1.2.3.4]:5"), 0);
  assert_false(loom_addr_equal(&a, &b)); /* different families */
  LT_RC(loom_addr_parse(&a, "unix:@x"), 0);
  LT_RC(loom_addr_parse(&b, "unix:/x"), 0);
  assert_false(loom_addr_equal(&a, &b));
  assert_false(loom_addr_equal(&a, NULL));
}
