/* test_http_server.c - the examples' HTTP server (examples/common/
 * http_server): pipelined requests answered in order, a request split
 * across many reads, oversized headers (431) and bodies (413), malformed
 * requests (400), a peer that resets mid-request, keep-alive and
 * Connection: close, HTTP/1.0, routing (404, 405), the idle timeout, and the
 * request helpers.  Clients are loom streams in the test's main task, so
 * they send exactly the bytes (and splits) each case needs. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http_server.h"
#include "loom_test.h"

/* ---- a server with a few routes ---------------------------------------------- */

static int echo_handler(const http_request *req, http_response *res, void *arg) {
  return http_response_send(res, 200, "text/plain", req->body, req->body_len);
}

static int hello_handler(const http_request *req, http_response *res, void *arg) {
  const char *h = http_request_header(req, "x-test");
  return http_response_json(res, 200, "{\"path\":\"%s\",\"x\":\"%s\"}", req->path, h ? h : "");
}

typedef int (*client_fn)(int port, http_server *srv);

typedef struct run_ctx {
  http_server_opts opts;
  client_fn client;
} run_ctx;

static int serve(loom_future *self, void *arg) { return http_server_serve_forever(arg); }

static int run_main(loom_future *self, void *arg) {
  run_ctx *c = arg;
  http_server *srv;
  LT_RC(http_server_create(&c->opts, &srv), 0);
  LT_RC(http_server_route(srv, "POST", "/echo", echo_handler, NULL), 0);
  LT_RC(http_server_route(srv, "GET", "/hello", hello_handler, NULL), 0);
  LT_RC(http_server_start(srv), 0);
  LT_RC(http_server_route(srv, NULL, "/late", hello_handler, NULL), LOOM_EINVALIDSTATE);
  loom_future *t;
  LT_RC(loom_task_spawn(loom_task_loop(self), serve, srv, "serve", &t), 0);
  int rc = c->client(http_server_port(srv), srv);
  LT_RC(http_server_close(srv, 5.0), 0);
  LT_RC(loom_future_wait(t, 5.0), 0);
  loom_future_release(t);
  http_server_destroy(srv);
  return rc;
}

static void run(const http_server_opts *opts, client_fn fn) {
  run_ctx c = {.client = fn};
  if (opts) c.opts = *opts;
  LT_RC(loom_run(run_main, &c, NULL, NULL), 0);
}

/* ---- a raw client -------------------------------------------------------------- */

static loom_stream *dial(int port) {
  loom_stream *s = NULL;
  LT_RC(loom_open_connection("127.0.0.1", port, NULL, 5.0, &s), 0);
  return s;
}

static void send_str(loom_stream *s, const char *text) {
  LT_RC(loom_stream_write(s, text, strlen(text), 5.0), 0);
}

typedef struct reply {
  int status;
  bool close;
  char body[256];
} reply;

/* Read one reply (head, then Content-Length bytes). */
static void read_reply(loom_stream *s, reply *r) {
  char head[4096];
  size_t got = 0;
  LT_RC(loom_stream_readuntil(s, "\r\n\r\n", 4, head, sizeof head - 1, &got, 5.0), 0);
  head[got] = '\0';
  assert_int_equal(sscanf(head, "HTTP/1.1 %d", &r->status), 1);
  const char *cl = strcasestr(head, "Content-Length: ");
  assert_non_null(cl);
  size_t len = strtoul(cl + 16, NULL, 10);
  assert_true(len < sizeof r->body);
  LT_RC(loom_stream_readexactly(s, r->body, len, NULL, 5.0), 0);
  r->body[len] = '\0';
  r->close = strcasestr(head, "Connection: close") != NULL;
}

/* The server closed its side: EOF within the bound. */
static void expect_eof(loom_stream *s) {
  char b[64];
  LT_RC(loom_stream_read(s, b, sizeof b, 5.0), 0);
}

/* ---- cases ------------------------------------------------------------------------ */

static int pipelined(int port, http_server *srv) {
  loom_stream *s = dial(port);
  send_str(s, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\none"
              "GET /hello HTTP/1.1\r\nHost: t\r\nX-Test: two\r\n\r\n"
              "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
              "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfour");
  reply r;
  read_reply(s, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "one");
  read_reply(s, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"path\":\"/hello\",\"x\":\"two\"}");
  read_reply(s, &r);
  assert_int_equal(r.status, 404);
  read_reply(s, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "four");
  assert_true(r.close);
  expect_eof(s);
  loom_stream_destroy(s);
  assert_int_equal(http_server_requests(srv), 4);
  return 0;
}

LOOM_TEST(http_server, pipelined_requests_answered_in_order) { run(NULL, pipelined); }

/* Every byte in its own write, with pauses: the parser resumes each time. */
static int split(int port, http_server *srv) {
  const char *req = "POST /ec%68o HTTP/1.1\r\nHost: t\r\nX-Test: a\r\n"
                    "Content-Length: 11\r\n\r\nhello world";
  loom_stream *s = dial(port);
  for (size_t i = 0; req[i]; i++) {
    LT_RC(loom_stream_write(s, req + i, 1, 5.0), 0);
    if (i % 9 == 0) LT_RC(loom_sleep(0.002), 0);
  }
  reply r;
  read_reply(s, &r);
  assert_int_equal(r.status, 200); /* /ec%68o decodes to /echo */
  assert_string_equal(r.body, "hello world");
  assert_false(r.close);
  loom_stream_destroy(s);
  return 0;
}

LOOM_TEST(http_server, request_split_across_reads) { run(NULL, split); }

static int oversized(int port, http_server *srv) {
  loom_stream *s = dial(port);
  send_str(s, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
  char big[600];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  send_str(s, big);
  send_str(s, "\r\n\r\n");
  reply r;
  read_reply(s, &r);
  assert_int_equal(r.status, 431);
  assert_true(r.close);
  expect_eof(s);
  loom_stream_destroy(s);
  /* A body over max_body_bytes: 413 from its Content-Length alone. */
  s = dial(port);
  send_str(s, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
  read_reply(s, &r);
  assert_int_equal(r.status, 413);
  expect_eof(s);
  loom_stream_destroy(s);
  /* Chunked, so only the bytes tell: 413 too. */
  s = dial(port);
  send_str(s, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
              "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n");
  read_reply(s, &r);
  assert_int_equal(r.status, 413);
  loom_stream_destroy(s);
  return 0;
}

LOOM_TEST(http_server, oversized_header_431_and_body_413) {
  http_server_opts o = {.max_header_bytes = 512, .max_body_bytes = 32};
  run(&o, oversized);
}

static int malformed(int port, http_server *srv) {
  static const char *bad[] = {
      "GARBAGE\r\n\r\n",
      "GET /hello HTTP/9x\r\n\r\n",
      "GET /hello HTTP/1.1\r\nNo colon here\r\n\r\n",
      "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    loom_stream *s = dial(port);
    send_str(s, bad[i]);
    reply r;
    read_reply(s, &r);
    LT_CHECK(r.status == 400, "case %zu: status %d", i, r.status);
    assert_true(r.close);
    expect_eof(s);
    loom_stream_destroy(s);
  }
  /* A good request first, then garbage on the same connection: the good one
   * is answered, then 400 and close. */
  loom_stream *s = dial(port);
  send_str(s, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n\x01\x02 nonsense\r\n\r\n");
  reply r;
  read_reply(s, &r);
  assert_int_equal(r.status, 200);
  read_reply(s, &r);
  assert_int_equal(r.status, 400);
  expect_eof(s);
  loom_stream_destroy(s);
  return 0;
}

LOOM_TEST(http_server, malformed_requests_get_400_and_close) { run(NULL, malformed); }

/* SO_LINGER 0 makes close() send RST. */
static void reset_close(loom_stream *s) {
  struct linger lg = {1, 0};
  assert_int_equal(setsockopt(loom_stream_fd(s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  loom_stream_abort(s);
  loom_stream_destroy(s);
}

static int peer_reset(int port, http_server *srv) {
  for (int i = 0; i < 3; i++) {
    loom_stream *s = dial(port);
    send_str(s, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhal");
    LT_RC(loom_sleep(0.01), 0); /* the server is inside the request now */
    reset_close(s);
  }
  LT_RC(loom_sleep(0.02), 0);
  assert_int_equal(http_server_requests(srv), 0); /* nothing was answered */
  loom_stream *s = dial(port); /* and the server goes on serving */
  send_str(s, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  reply r;
  read_reply(s, &r);
  assert_int_equal(r.status, 200);
  loom_stream_destroy(s);
  return 0;
}

LOOM_TEST(http_server, peer_reset_mid_request) { run(NULL, peer_reset); }

static int keep_alive(int port, http_server *srv) {
  loom_stream *s = dial(port);
  reply r;
  for (int i = 0; i < 3; i++) {
    send_str(s, "GET /hello/again HTTP/1.1\r\nHost: t\r\n\r\n");
    read_reply(s, &r);
    assert_int_equal(r.status, 200);
    assert_false(r.close);
  }
  /* HEAD: the GET route's head, no body (the next reply parses cleanly). */
  send_str(s, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  char head[1024];
  size_t got = 0;
  LT_RC(loom_stream_readuntil(s, "\r\n\r\n", 4, head, sizeof head - 1, &got, 5.0), 0);
  head[got] = '\0';
  LT_CHECK(strncmp(head, "HTTP/1.1 200 ", 13) == 0 && strstr(head, "Content-Length: 2"),
           "HEAD reply: %s", head);
  send_str(s, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n");
  read_reply(s, &r);
  assert_int_equal(r.status, 405); /* the route exists for GET only */
  send_str(s, "GET /nothing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  read_reply(s, &r);
  assert_int_equal(r.status, 404);
  assert_true(r.close);
  expect_eof(s);
  loom_stream_destroy(s);
  /* HTTP/1.0 closes by default. */
  s = dial(port);
  send_str(s, "GET /hello HTTP/1.0\r\n\r\n");
  read_reply(s, &r);
  assert_int_equal(r.status, 200);
  assert_true(r.close);
  expect_eof(s);
  loom_stream_destroy(s);
  return 0;
}

LOOM_TEST(http_server, keep_alive_close_and_http10) { run(NULL, keep_alive); }

static int idle(int port, http_server *srv) {
  loom_stream *s = dial(port);
  double t0 = loom_now();
  expect_eof(s); /* the server gives up on a silent connection */
  LT_CHECK(loom_now() - t0 >= 0.09, "closed after %.3f s", loom_now() - t0);
  loom_stream_destroy(s);
  return 0;
}

LOOM_TEST(http_server, idle_connection_closed) {
  http_server_opts o = {.idle_timeout = 0.1};
  run(&o, idle);
}

LOOM_TEST(http_server, query_and_response_helpers) {
  char buf[16];
  assert_int_equal(http_query_param("a=1&delay=0.25&b", "delay", buf, sizeof buf), 4);
  assert_string_equal(buf, "0.25");
  assert_int_equal(http_query_param("a=1&delay=0.25&b", "b", buf, sizeof buf), 0);
  assert_string_equal(buf, "");
  assert_int_equal(http_query_param("name=S%C3%A3o+Paulo", "name", buf, sizeof buf), 10);
  assert_string_equal(buf, "S\xc3\xa3o Paulo");
  assert_int_equal(http_query_param("del=1", "delay", buf, sizeof buf), -1);
  assert_int_equal(http_query_param("delayed=1", "delay", buf, sizeof buf), -1);
  assert_int_equal(http_query_param("x=0123456789abcdefgh", "x", buf, sizeof buf), LOOM_ELIMIT);
  assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
  http_server *srv;
  LT_RC(http_server_create(NULL, &srv), 0);
  LT_RC(http_server_route(srv, NULL, NULL, echo_handler, NULL), LOOM_EINVAL);
  assert_int_equal(http_server_port(srv), -1);
  LT_RC(http_server_serve_forever(srv), LOOM_EINVALIDSTATE);
  http_server_destroy(srv);
}

/* ---- fault sweep: every loom allocation and syscall of a whole exchange ---------- */

static int fault_client(int port) {
  loom_stream *s;
  int rc = loom_open_connection("127.0.0.1", port, NULL, 5.0, &s);
  if (rc < 0) return rc;
  const char *req = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok";
  rc = loom_stream_write(s, req, strlen(req), 5.0);
  char head[1024];
  size_t got = 0;
  if (rc == 0) rc = loom_stream_readuntil(s, "\r\n\r\n", 4, head, sizeof head, &got, 5.0);
  if (rc == 0 && strncmp(head, "HTTP/1.1 200 ", 13) != 0) rc = LOOM_EFAILED;
  loom_stream_destroy(s);
  return rc;
}

static int fault_main(loom_future *self, void *arg) {
  http_server *srv;
  int rc = http_server_create(NULL, &srv);
  if (rc < 0) return rc;
  rc = http_server_route(srv, "POST", "/echo", echo_handler, NULL);
  if (rc == 0) rc = http_server_start(srv);
  loom_future *t = NULL;
  if (rc == 0) rc = loom_task_spawn(loom_task_loop(self), serve, srv, "serve", &t);
  if (rc == 0) rc = fault_client(http_server_port(srv));
  http_server_close(srv, 5.0);
  if (t) loom_future_wait(t, 5.0);
  loom_future_release(t);
  http_server_destroy(srv);
  return rc;
}

static int fault_exchange(void *arg) { return loom_run(fault_main, NULL, NULL, NULL); }

LOOM_TEST(http_server, fault_sweep_exchange) {
  int fired = loom_test_fault_sweep(fault_exchange, NULL, ~0u, 400);
  print_message("faults fired in %d runs\n", fired);
  LT_CHECK(fired > 10, "faults fired in %d runs", fired);
  LT_RC(fault_exchange(NULL), 0); /* and the clean run still works */
}
