/* test_dgram.c - datagram endpoints: awaitable recvfrom/sendto, the
 * callback (protocol) form answering from inside the loop, closing from
 * inside the callback, connected endpoints and bad arguments. */
#include <string.h>
#include <unistd.h>

#include "net_harness.h"

static loom_dgram *open_local(loom_dgram_fn fn, void *arg, loom_addr *where) {
  loom_addr any;
  LT_RC(loom_addr_ip(&any, "127.0.0.1", 0), 0);
  loom_dgram_opts o = {.local = &any, .on_datagram = fn, .arg = arg};
  loom_dgram *d;
  LT_RC(loom_dgram_open(&o, &d), 0);
  LT_RC(loom_dgram_sockname(d, where), 0);
  return d;
}

LOOM_TEST(dgram, awaitable_round_trip) {
  loom_loop *loop = nh_enter();
  loom_addr wa, wb;
  loom_dgram *a = open_local(NULL, NULL, &wa), *b = open_local(NULL, NULL, &wb);
  assert_int_equal(loom_dgram_sendto(b, "hello", 5, &wa, 5.0), 5);
  char buf[16];
  loom_addr from;
  assert_int_equal(loom_dgram_recvfrom(a, buf, sizeof buf, &from, 5.0), 5);
  assert_true(loom_addr_equal(&from, &wb));
  double t0 = loom_now();
  LT_RC((int)loom_dgram_recvfrom(a, buf, sizeof buf, &from, 0.05), LOOM_ETIMEDOUT);
  assert_true(loom_now() - t0 >= 0.049);
  loom_dgram_close(a);
  loom_dgram_close(b);
  nh_leave(loop);
}

typedef struct echo_state {
  int seen;
  bool close_on_bye;
} echo_state;

/* Protocol form: echo upper-cased, from inside the loop callback. */
static void on_dgram(loom_dgram *d, const void *data, size_t len, const loom_addr *from,
                     void *arg) {
  echo_state *st = arg;
  st->seen++;
  if (st->close_on_bye && len == 3 && memcmp(data, "bye", 3) == 0) {
    loom_dgram_close(d); /* freed after this callback returns */
    return;
  }
  char out[64];
  size_t n = len < sizeof out ? len : sizeof out;
  for (size_t i = 0; i < n; i++) out[i] = (char)(((const char *)data)[i] & ~0x20);
  loom_dgram_sendto(d, out, n, from, 0);
}

LOOM_TEST(dgram, callback_form_answers_and_can_close_itself) {
  loom_loop *loop = nh_enter();
  echo_state st = {.close_on_bye = true};
  loom_addr ws, wc;
  loom_dgram *srv = open_local(on_dgram, &st, &ws);
  loom_dgram *cli = open_local(NULL, NULL, &wc);
  char buf[16];
  LT_RC((int)loom_dgram_recvfrom(srv, buf, sizeof buf, NULL, 0), LOOM_EINVALIDSTATE);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(loom_dgram_sendto(cli, "abc", 3, &ws, 5.0), 3);
    assert_int_equal(loom_dgram_recvfrom(cli, buf, sizeof buf, NULL, 5.0), 3);
    assert_memory_equal(buf, "ABC", 3);
  }
  assert_int_equal(st.seen, 3);
  assert_int_equal(loom_dgram_sendto(cli, "bye", 3, &ws, 5.0), 3);
  while (st.seen < 4) loom__loop_run_once(loop, false); /* srv closes itself */
  loom_dgram_close(cli);
  nh_leave(loop); /* the live-object check proves srv was freed */
}

LOOM_TEST(dgram, connected_and_bad_arguments) {
  loom_loop *loop = nh_enter();
  loom_addr ws;
  loom_dgram *srv = open_local(NULL, NULL, &ws);
  loom_dgram_opts o = {.remote = &ws};
  loom_dgram *cli;
  LT_RC(loom_dgram_open(&o, &cli), 0);
  assert_int_equal(loom_dgram_sendto(cli, "c", 1, NULL, 5.0), 1);
  char buf[4];
  assert_int_equal(loom_dgram_recvfrom(srv, buf, sizeof buf, NULL, 5.0), 1);
  loom_dgram_close(cli);
  loom_dgram_opts none = {0};
  LT_RC(loom_dgram_open(&none, &cli), LOOM_EINVAL);
  LT_RC(loom_dgram_open(&o, &cli), 0);
  loom_dgram_close(cli);
  o = (loom_dgram_opts){.local = &ws}; /* already bound by srv */
  LT_RC(loom_dgram_open(&o, &cli), LOOM_EADDRINUSE);
  loom_dgram_close(srv);
  nh_leave(loop);
  LT_RC(loom_dgram_open(&o, &cli), LOOM_ENOTASK);
}
