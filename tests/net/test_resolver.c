/* test_resolver.c - name resolution on the resolver's private pool, and
 * Happy Eyeballs ordering (RFC 8305 section 4). */
#include <arpa/inet.h>
#include <string.h>

#include "loom_test.h"
#include "net/addrlist.h"

static loom_addrlist *resolve_ok(loom_resolver *r, const char *host, const char *svc,
                                 const loom_resolve_opts *o, loom_future **keep) {
  loom_future *f;
  LT_RC(loom_resolve(r, host, svc, o, &f), 0);
  void *v = NULL;
  int rc = loom_future_result(f, 10.0, &v);
  const char *msg = NULL;
  loom_future_exception(f, NULL, &msg);
  LT_CHECK(rc == 0, "resolve %s %s: %s (%s)", host, svc, loom_err_name(rc), msg ? msg : "");
  *keep = f;
  return v;
}

LOOM_TEST(resolver, numeric_host_answered_inline) {
  loom_resolver *r;
  LT_RC(loom_resolver_create(&r, 2), 0);
  loom_resolve_opts o = {.socktype = SOCK_STREAM};
  loom_future *f;
  LT_RC(loom_resolve(r, "127.0.0.1", "8080", &o, &f), 0);
  assert_true(loom_future_done(f)); /* no thread hop for numeric input */
  void *v;
  LT_RC(loom_future_result(f, 0, &v), 0);
  loom_addrlist *l = v;
  assert_int_equal(loom_addrlist_count(l), 1);
  char buf[LOOM_ADDR_STRLEN];
  loom_addr_format(loom_addrlist_get(l, 0), buf, sizeof buf);
  assert_string_equal(buf, "127.0.0.1:8080");
  assert_int_equal(loom_addrlist_socktype(l, 0), SOCK_STREAM);
  assert_null(loom_addrlist_get(l, 1));
  loom_future_release(f);
  LT_RC(loom_resolve(r, "::1", NULL, &o, &f), 0);
  assert_true(loom_future_done(f));
  LT_RC(loom_future_result(f, 0, &v), 0);
  assert_int_equal(loom_addr_family(loom_addrlist_get(v, 0)), AF_INET6);
  loom_future_release(f);
  loom_resolver_destroy(r);
}

LOOM_TEST(resolver, localhost_through_the_pool) {
  loom_resolver *r;
  LT_RC(loom_resolver_create(&r, 0), 0);
  loom_resolve_opts o = {.family = AF_INET, .socktype = SOCK_STREAM,
                         .flags = LOOM_RESOLVE_CANONNAME};
  loom_future *f;
  loom_addrlist *l = resolve_ok(r, "localhost", "http", &o, &f);
  assert_true(loom_addrlist_count(l) >= 1);
  const loom_addr *a = loom_addrlist_get(l, 0);
  assert_int_equal(loom_addr_family(a), AF_INET);
  assert_int_equal(loom_addr_port(a), 80); /* service name looked up too */
  assert_int_equal(ntohl(a->u.in4.sin_addr.s_addr) >> 24, 127);
  assert_non_null(loom_addrlist_canonname(l));
  /* take_result moves the list to us. */
  void *mine;
  loom_destructor d;
  LT_RC(loom_future_take_result(f, &mine, &d), 0);
  loom_future_release(f);
  loom_addrlist_free(mine);
  loom_resolver_destroy(r);
}

LOOM_TEST(resolver, unknown_name_is_enoent_with_message) {
  loom_resolver *r;
  LT_RC(loom_resolver_create(&r, 1), 0);
  loom_future *f;
  /* .invalid is reserved (RFC 2606): never resolves; no network here needed
   * because AI_NUMERICHOST makes it fail without a query. */
  loom_resolve_opts o = {.flags = LOOM_RESOLVE_NUMERIC};
  LT_RC(loom_resolve(r, "no-such-host.invalid", "80", &o, &f), 0);
  const char *msg = NULL;
  LT_RC(loom_future_error(f, 10.0, &msg), LOOM_ENOENT);
  assert_non_null(msg);
  LT_CHECK(strstr(msg, "no-such-host.invalid") != NULL, "message: %s", msg);
  loom_future_release(f);
  /* An unknown service name fails too. */
  LT_RC(loom_resolve(r, "localhost", "no-such-service-xyz", NULL, &f), 0);
  LT_RC(loom_future_error(f, 10.0, &msg), LOOM_ENOENT);
  loom_future_release(f);
  loom_resolver_destroy(r);
}

LOOM_TEST(resolver, bad_arguments) {
  loom_resolver *r;
  LT_RC(loom_resolver_create(NULL, 1), LOOM_EINVAL);
  LT_RC(loom_resolver_create(&r, -1), LOOM_EINVAL);
  LT_RC(loom_resolver_create(&r, 1000), LOOM_EINVAL);
  LT_RC(loom_resolver_create(&r, 1), 0);
  loom_future *f;
  LT_RC(loom_resolve(r, NULL, NULL, NULL, &f), LOOM_EINVAL);
  assert_null(f);
  LT_RC(loom_resolve(r, "x", NULL, NULL, NULL), LOOM_EINVAL);
  loom_resolve_opts o = {.flags = 0x100};
  LT_RC(loom_resolve(r, "x", NULL, &o, &f), LOOM_EINVAL);
  o = (loom_resolve_opts){.family = 12345};
  LT_RC(loom_resolve(r, "127.0.0.1", NULL, &o, &f), 0);
  LT_RC(loom_future_error(f, 10.0, NULL), LOOM_EINVAL);
  loom_future_release(f);
  loom_resolver_destroy(r);
  loom_resolver_destroy(NULL);
}

LOOM_TEST(resolver, many_lookups_bounded_pool_and_destroy_cancels_queued) {
  loom_resolver *r;
  LT_RC(loom_resolver_create(&r, 2), 0);
  enum { N = 64 };
  loom_future *fs[N];
  loom_resolve_opts o = {.family = AF_INET, .socktype = SOCK_STREAM};
  for (int i = 0; i < N; i++) LT_RC(loom_resolve(r, "localhost", "80", &o, &fs[i]), 0);
  LT_CHECK(loom_live_count(LOOM_LIVE_THREADS) <= 2, "%ld threads for a 2-thread resolver",
           loom_live_count(LOOM_LIVE_THREADS));
  /* Destroy while many are queued: each ends done (resolved or cancelled). */
  loom_resolver_destroy(r);
  int ok = 0, cancelled = 0;
  for (int i = 0; i < N; i++) {
    assert_true(loom_future_done(fs[i]));
    if (loom_future_cancelled(fs[i])) cancelled++;
    else if (loom_future_result(fs[i], 0, NULL) == 0) ok++;
    loom_future_release(fs[i]);
  }
  assert_int_equal(ok + cancelled, N);
}

LOOM_TEST(resolver, cancel_queued_lookup) {
  loom_resolver *r;
  LT_RC(loom_resolver_create(&r, 1), 0);
  enum { N = 16 };
  loom_future *fs[N];
  for (int i = 0; i < N; i++) LT_RC(loom_resolve(r, "localhost", "80", NULL, &fs[i]), 0);
  bool c = loom_future_cancel(fs[N - 1]); /* the last one is surely still queued... */
  if (c) assert_true(loom_future_cancelled(fs[N - 1]));
  else assert_true(loom_future_done(fs[N - 1]) || loom_future_running(fs[N - 1]));
  for (int i = 0; i < N; i++) {
    LT_RC(loom_future_wait(fs[i], 10.0), 0);
    loom_future_release(fs[i]);
  }
  loom_resolver_destroy(r);
}

static int resolve_under_faults(void *ctx) {
  (void)ctx;
  loom_resolver *r;
  int rc = loom_resolver_create(&r, 1);
  if (rc < 0) return rc;
  loom_future *f;
  rc = loom_resolve(r, "localhost", "80", NULL, &f);
  if (rc == 0) {
    rc = loom_future_result(f, 10.0, NULL);
    loom_future_release(f);
  }
  loom_resolver_destroy(r);
  return rc;
}

LOOM_TEST(resolver, fault_sweep) {
  assert_true(loom_test_fault_sweep(resolve_under_faults, NULL, LOOM_FAULT_ALL, 40) >= 3);
}

/* ---- Happy Eyeballs ordering ---- */

static loom_addrlist *list_of(const char *const *texts, size_t n) {
  loom_addrlist *l = loom__addrlist_alloc(n);
  assert_non_null(l);
  for (size_t i = 0; i < n; i++) LT_RC(loom_addr_parse(&l->e[i].addr, texts[i]), 0);
  return l;
}

static void expect_order(loom_addrlist *l, const char *const *want, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char buf[LOOM_ADDR_STRLEN];
    loom_addr_format(loom_addrlist_get(l, i), buf, sizeof buf);
    LT_CHECK(strcmp(buf, want[i]) == 0, "position %zu: %s, expected %s", i, buf, want[i]);
  }
}

LOOM_TEST(happy_eyeballs, interleaves_families) {
  const char *in[] = {"[::1]:1", "[::2]:1", "[::3]:1", "1.0.0.1:1", "1.0.0.2:1"};
  loom_addrlist *l = list_of(in, 5);
  LT_RC(loom_addrlist_interleave(l, 1), 0);
  const char *want[] = {"[::1]:1", "1.0.0.1:1", "[::2]:1", "1.0.0.2:1", "[::3]:1"};
  expect_order(l, want, 5);
  loom_addrlist_free(l);
}

LOOM_TEST(happy_eyeballs, first_family_count) {
  const char *in[] = {"1.0.0.1:1", "1.0.0.2:1", "1.0.0.3:1", "[::1]:1", "[::2]:1"};
  loom_addrlist *l = list_of(in, 5);
  LT_RC(loom_addrlist_interleave(l, 2), 0);
  const char *want[] = {"1.0.0.1:1", "1.0.0.2:1", "[::1]:1", "1.0.0.3:1", "[::2]:1"};
  expect_order(l, want, 5);
  loom_addrlist_free(l);
}

LOOM_TEST(happy_eyeballs, single_family_and_edges) {
  const char *in[] = {"1.0.0.1:1", "1.0.0.2:1", "1.0.0.3:1"};
  loom_addrlist *l = list_of(in, 3);
  LT_RC(loom_addrlist_interleave(l, 5), 0); /* count beyond the family */
  expect_order(l, in, 3);
  LT_RC(loom_addrlist_interleave(l, 0), LOOM_EINVAL);
  LT_RC(loom_addrlist_interleave(NULL, 1), LOOM_EINVAL);
  loom_addrlist_free(l);
  /* Mixed start: v4 first means v4 leads. */
  const char *in2[] = {"1.0.0.1:1", "[::1]:1", "[::2]:1", "[::3]:1", "1.0.0.2:1"};
  l = list_of(in2, 5);
  LT_RC(loom_addrlist_interleave(l, 1), 0);
  const char *want2[] = {"1.0.0.1:1", "[::1]:1", "1.0.0.2:1", "[::2]:1", "[::3]:1"};
  expect_order(l, want2, 5);
  loom_addrlist_free(l);
}
