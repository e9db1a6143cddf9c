/* http_server.c - the connection side of the example HTTP server: listening
 * through loom_start_server, one task per connection that reads, feeds the
 * parser (http_message.c), routes each complete request to its handler and
 * writes the reply, in order, keeping the connection alive when HTTP/1.1
 * says so.  A malformed or oversized request gets its 4xx reply and the
 * connection is closed; a peer that vanishes mid-request just ends its task.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "http_internal.h"

typedef struct route {
  char *method;     /* NULL: any */
  char *prefix;
  http_handler_fn fn;
  void *arg;
} route;

struct http_server {
  http_server_opts o;
  char *host;
  route *routes;
  int nroutes;
  loom_server *srv;
  int port;
  bool closed;
  uint64_t requests;
};

enum { READ_CHUNK = 16384 };

int http_server_create(const http_server_opts *opts, http_server **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  http_server *s = calloc(1, sizeof *s);
  if (!s) return LOOM_ENOMEM;
  if (opts) s->o = *opts;
  if (!s->o.max_header_bytes) s->o.max_header_bytes = 8192;
  if (!s->o.max_body_bytes) s->o.max_body_bytes = 1 << 20;
  if (s->o.idle_timeout <= 0) s->o.idle_timeout = 30.0;
  s->host = strdup(s->o.host ? s->o.host : "127.0.0.1");
  if (!s->host) {
    free(s);
    return LOOM_ENOMEM;
  }
  s->o.host = s->host;
  s->port = -1;
  *out = s;
  return 0;
}

int http_server_route(http_server *s, const char *method, const char *prefix,
                      http_handler_fn fn, void *arg) {
  if (!s || !prefix || !fn) return LOOM_EINVAL;
  if (s->srv) return LOOM_EINVALIDSTATE;
  route *r = realloc(s->routes, (size_t)(s->nroutes + 1) * sizeof *r);
  if (!r) return LOOM_ENOMEM;
  s->routes = r;
  r = &s->routes[s->nroutes];
  r->method = method ? strdup(method) : NULL;
  r->prefix = strdup(prefix);
  if (!r->prefix || (method && !r->method)) {
    free(r->method);
    free(r->prefix);
    return LOOM_ENOMEM;
  }
  r->fn = fn;
  r->arg = arg;
  s->nroutes++;
  return 0;
}

/* ---- one request ----------------------------------------------------------- */

/* HEAD is served by the GET route (the reply then goes without its body). */
static bool method_matches(const route *r, const char *method) {
  if (!r->method || strcmp(r->method, method) == 0) return true;
  return strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
}

static const route *find_route(const http_server *s, const http_request *req, bool *wrong_method) {
  *wrong_method = false;
  for (int i = 0; i < s->nroutes; i++) {
    const route *r = &s->routes[i];
    if (strncmp(req->path, r->prefix, strlen(r->prefix)) != 0) continue;
    if (method_matches(r, req->method)) return r;
    *wrong_method = true;
  }
  return NULL;
}

static void dispatch(http_server *s, const http_request *req, http_response *res) {
  bool wrong_method;
  const route *r = find_route(s, req, &wrong_method);
  if (!r && wrong_method) {
    http_response_json(res, 405, "{\"error\": \"method not allowed\"}");
    return;
  }
  if (!r) {
    http_response_json(res, 404, "{\"error\": \"not found\"}");
    return;
  }
  int rc = r->fn(req, res, r->arg);
  if (rc == LOOM_ECANCELLED) return; /* the connection is going away */
  if (rc < 0 && !res->status)
    http_response_json(res, 500, "{\"error\": \"%s\"}", loom_strerror(rc));
  else if (!res->status)
    http_response_json(res, 500, "{\"error\": \"the handler set no reply\"}");
}

static int send_reply(loom_stream *st, const http_response *res, bool keep_alive,
                      bool head_only, double tmo) {
  char head[8192];
  int n = http_response_head(res, keep_alive, head, sizeof head);
  if (n < 0) return n;
  struct iovec iov[2] = {{head, (size_t)n}, {res->body, res->body_len}};
  return loom_stream_writev(st, iov, res->body_len && !head_only ? 2 : 1, tmo);
}

static int send_error(loom_stream *st, http_server *s, int status) {
  http_response res = {0};
  const char *what = status == 431 ? "request header too large"
                     : status == 413 ? "request body too large"
                                     : "malformed request";
  int rc = http_response_json(&res, status, "{\"error\": \"%s\"}", what);
  if (rc == 0) rc = send_reply(st, &res, false, false, 10.0);
  http_response_reset(&res);
  s->requests++;
  return rc;
}

static void log_request(const http_server *s, const http_request *req, int status) {
  if (s->o.log) fprintf(stderr, "http: %s %s -> %d\n", req->method, req->target, status);
}

/* Answer one complete request; returns 0 to keep the connection, 1 to
 * close it, or a negative code (write failure, cancel). */
static int answer(http_server *s, loom_stream *st, http_reqbuf *rb) {
  size_t cap = rb->head_len + 1;
  char *path = malloc(cap);
  const char *names[HTTP_MAX_HEADERS], *values[HTTP_MAX_HEADERS];
  http_request req;
  if (!path) return LOOM_ENOMEM;
  int rc = http_reqbuf_request(rb, &req, path, cap, names, values);
  if (rc < 0) {
    free(path);
    send_error(st, s, 400);
    return 1;
  }
  http_response res = {0};
  dispatch(s, &req, &res);
  if (res.status) {
    log_request(s, &req, res.status);
    rc = send_reply(st, &res, req.keep_alive, strcmp(req.method, "HEAD") == 0, 30.0);
    s->requests++;
  } else {
    rc = LOOM_ECANCELLED;
  }
  bool keep = req.keep_alive;
  http_response_reset(&res);
  free(path);
  return rc < 0 ? rc : keep ? 0 : 1;
}

/* ---- the connection task ----------------------------------------------------- */

typedef struct conn {
  http_reqbuf rb;
  char buf[READ_CHUNK];
  size_t off, len;   /* unparsed bytes: buf[off .. off+len) */
} conn;

/* Parse what is buffered; answer each complete request.  Returns 0 when
 * more bytes are needed, 1 to close, or a negative code. */
static int drain_buffer(http_server *s, loom_stream *st, conn *c) {
  while (c->len) {
    size_t n = http_reqbuf_feed(&c->rb, c->buf + c->off, c->len);
    c->off += n;
    c->len -= n;
    if (n == 0 && !c->rb.complete && !c->rb.error_status) c->rb.error_status = 400;
    if (c->rb.error_status) {
      send_error(st, s, c->rb.error_status);
      return 1;
    }
    if (!c->rb.complete) continue;
    int rc = answer(s, st, &c->rb);
    if (rc != 0) return rc;
    http_reqbuf_reset(&c->rb);
  }
  return 0;
}

static int conn_main(loom_stream *st, void *arg) {
  http_server *s = arg;
  conn *c = malloc(sizeof *c);
  if (!c) return LOOM_ENOMEM;
  int rc = http_reqbuf_init(&c->rb, s->o.max_header_bytes, s->o.max_body_bytes);
  c->off = c->len = 0;
  while (rc == 0) {
    ssize_t n = loom_stream_read(st, c->buf, sizeof c->buf, s->o.idle_timeout);
    if (n <= 0) {
      /* EOF, reset, idle timeout or cancel: nothing to answer. */
      rc = n == 0 || n == LOOM_ETIMEDOUT ? 1 : (int)n;
      break;
    }
    c->off = 0;
    c->len = (size_t)n;
    rc = drain_buffer(s, st, c);
  }
  http_reqbuf_fini(&c->rb);
  free(c);
  loom_stream_close(st);
  return rc == LOOM_ECANCELLED ? rc : 0;
}

/* ---- life cycle ---------------------------------------------------------------- */

int http_server_start(http_server *s) {
  if (!s) return LOOM_EINVAL;
  if (s->srv || s->closed) return LOOM_EINVALIDSTATE;
  int rc = loom_start_server(conn_main, s, s->host, s->o.port, NULL, &s->srv);
  if (rc < 0) {
    s->srv = NULL;
    return rc;
  }
  loom_addr a;
  if (loom_server_addr(s->srv, 0, &a) == 0) s->port = loom_addr_port(&a);
  return 0;
}

int http_server_port(const http_server *s) { return s ? s->port : -1; }

int http_server_serve_forever(http_server *s) {
  if (!s || !s->srv) return LOOM_EINVALIDSTATE;
  return loom_server_serve_forever(s->srv);
}

int http_server_close(http_server *s, double timeout) {
  if (!s || !s->srv || s->closed) return 0;
  s->closed = true;
  loom_server_close(s->srv);
  loom_server_close_clients(s->srv);
  int rc = loom_server_wait_closed(s->srv, timeout);
  return rc == LOOM_ENOTASK ? 0 : rc;
}

uint64_t http_server_requests(const http_server *s) { return s ? s->requests : 0; }

void http_server_destroy(http_server *s) {
  if (!s) return;
  loom_server_destroy(s->srv);
  for (int i = 0; i < s->nroutes; i++) {
    free(s->routes[i].method);
    free(s->routes[i].prefix);
  }
  free(s->routes);
  free(s->host);
  free(s);
}
