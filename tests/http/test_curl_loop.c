/* test_curl_loop.c - libcurl's multi interface on the loop (examples/common/
 * curl_loop) against the examples' HTTP server on the same loop: concurrent
 * fetches each awaited by its own task, the HTTP status passed through,
 * connection refused and transfer timeout as failed futures with curl's
 * message, cancelling a transfer aborts it (the server sees the connection
 * go), and destroying the driver with transfers in flight cancels them. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "curl_loop.h"
#include "http_server.h"
#include "loom_test.h"

static int hello(const http_request *req, http_response *res, void *arg) {
  char d[16];
  if (http_query_param(req->query, "delay", d, sizeof d) > 0) {
    int rc = loom_sleep(atof(d));
    if (rc < 0) return rc;
  }
  return http_response_json(res, strcmp(req->path, "/hello") == 0 ? 200 : 404,
                            "{\"path\":\"%s\"}", req->path);
}

typedef struct env {
  http_server *srv;
  curl_loop *cl;
  char base[64];
} env;

typedef int (*body_fn)(env *e);

static int serve(loom_future *self, void *arg) { return http_server_serve_forever(arg); }

static int env_main(loom_future *self, void *arg) {
  body_fn body = (body_fn)(uintptr_t)arg;
  env e = {0};
  LT_RC(http_server_create(NULL, &e.srv), 0);
  LT_RC(http_server_route(e.srv, "GET", "/", hello, NULL), 0);
  LT_RC(http_server_start(e.srv), 0);
  snprintf(e.base, sizeof e.base, "http://127.0.0.1:%d", http_server_port(e.srv));
  loom_future *t;
  LT_RC(loom_task_spawn(loom_task_loop(self), serve, e.srv, "serve", &t), 0);
  LT_RC(curl_loop_create(NULL, &e.cl), 0);
  int rc = body(&e);
  curl_loop_destroy(e.cl);
  LT_RC(http_server_close(e.srv, 5.0), 0);
  LT_RC(loom_future_wait(t, 5.0), 0);
  loom_future_release(t);
  http_server_destroy(e.srv);
  return rc;
}

static void run(body_fn fn) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  LT_RC(loom_run(env_main, (void *)(uintptr_t)fn, NULL, NULL), 0);
  curl_global_cleanup();
}

/* ---- cases ---------------------------------------------------------------------- */

typedef struct getter {
  env *e;
  const char *path;
  long status;
  char body[128];
} getter;

static int get_task(loom_future *self, void *arg) {
  getter *g = arg;
  char url[256];
  snprintf(url, sizeof url, "%s%s", g->e->base, g->path);
  curl_fetch *r;
  int rc = curl_loop_get(g->e->cl, url, 10.0, &r);
  if (rc < 0) return rc;
  g->status = r->status;
  snprintf(g->body, sizeof g->body, "%s", r->body);
  curl_fetch_free(r);
  return 0;
}

static int concurrent(env *e) {
  enum { N = 8 };
  getter g[N];
  loom_future *ts[N];
  for (int i = 0; i < N; i++) {
    g[i] = (getter){.e = e, .path = i == 3 ? "/nope?delay=0.05" : "/hello?delay=0.05"};
    LT_RC(loom_task_spawn(loom_loop_current(), get_task, &g[i], NULL, &ts[i]), 0);
  }
  size_t ndone = 0;
  LT_RC(loom_wait(ts, N, 10.0, LOOM_ALL_COMPLETED, NULL, &ndone, NULL, NULL), 0);
  assert_int_equal(ndone, N);
  for (int i = 0; i < N; i++) {
    LT_RC(loom_future_error(ts[i], 0, NULL), 0);
    loom_future_release(ts[i]);
    assert_int_equal(g[i].status, i == 3 ? 404 : 200);
    assert_string_equal(g[i].body, i == 3 ? "{\"path\":\"/nope\"}" : "{\"path\":\"/hello\"}");
  }
  assert_int_equal(curl_loop_active(e->cl), 0);
  assert_int_equal(http_server_requests(e->srv), N);
  return 0;
}

LOOM_TEST(curl_loop, concurrent_fetches_in_tasks) { run(concurrent); }

static int failures(env *e) {
  /* Nothing listens on port 1 (tcpmux, unused): refused. */
  loom_future *f;
  LT_RC(curl_loop_fetch(e->cl, "http://127.0.0.1:1/", 5.0, &f), 0);
  const char *msg = NULL;
  LT_RC(loom_future_error(f, 10.0, &msg), LOOM_EFAILED);
  LT_CHECK(msg && strstr(msg, "127.0.0.1:1"), "message: %s", msg ? msg : "(none)");
  loom_future_release(f);
  /* The server answers after 2 s; the transfer's limit is 0.1 s. */
  char url[256];
  snprintf(url, sizeof url, "%s/hello?delay=2", e->base);
  double t0 = loom_now();
  LT_RC(curl_loop_fetch(e->cl, url, 0.1, &f), 0);
  LT_RC(loom_future_error(f, 10.0, &msg), LOOM_EFAILED);
  LT_CHECK(loom_now() - t0 >= 0.09, "failed after %.3f s", loom_now() - t0);
  LT_CHECK(msg && strstr(msg, "imeout"), "message: %s", msg ? msg : "(none)");
  loom_future_release(f);
  LT_RC(curl_loop_fetch(NULL, url, 1, &f), LOOM_EINVAL);
  LT_RC(curl_loop_fetch(e->cl, url, 1, NULL), LOOM_EINVAL);
  assert_int_equal(curl_loop_active(e->cl), 0);
  return 0;
}

LOOM_TEST(curl_loop, refused_and_timeout_fail_the_future) { run(failures); }

static int cancels(env *e) {
  char url[256];
  snprintf(url, sizeof url, "%s/hello?delay=5", e->base);
  loom_future *f;
  LT_RC(curl_loop_fetch(e->cl, url, 10.0, &f), 0);
  LT_RC(loom_sleep(0.1), 0); /* connected, the handler is sleeping */
  assert_int_equal(curl_loop_active(e->cl), 1);
  assert_true(loom_future_cancel(f));
  assert_true(loom_future_cancelled(f));
  assert_int_equal(curl_loop_active(e->cl), 0);
  loom_future_release(f);
  /* A task cancelled while it awaits curl_loop_get aborts its transfer. */
  getter g = {.e = e, .path = "/hello?delay=5"};
  loom_future *t;
  LT_RC(loom_task_spawn(loom_loop_current(), get_task, &g, "getter", &t), 0);
  LT_RC(loom_sleep(0.1), 0);
  assert_int_equal(curl_loop_active(e->cl), 1);
  assert_true(loom_task_cancel(t, "enough"));
  LT_RC(loom_future_wait(t, 5.0), 0);
  assert_true(loom_future_cancelled(t));
  loom_future_release(t);
  assert_int_equal(curl_loop_active(e->cl), 0);
  /* Destroying the driver with a transfer in flight cancels it. */
  LT_RC(curl_loop_fetch(e->cl, url, 10.0, &f), 0);
  LT_RC(loom_sleep(0.05), 0);
  curl_loop_destroy(e->cl);
  LT_RC(curl_loop_create(NULL, &e->cl), 0);
  assert_true(loom_future_cancelled(f));
  loom_future_release(f);
  return 0;
}

LOOM_TEST(curl_loop, cancel_aborts_the_transfer) { run(cancels); }
