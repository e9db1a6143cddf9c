/* http_server.h - a small routed HTTP/1.1 server on loom's streams, for the
 * examples (not part of libloom: the library has no HTTP; this lives with
 * the examples and is compiled into those that use it).
 *
 * Requests are parsed with Node's http-parser as Debian packages it
 * (libhttp-parser-dev).  One loom task per connection; keep-alive and
 * pipelined requests (answered in order); handlers run in the connection's
 * task, so they may await (sleep, futures, streams) without blocking the
 * loop.  Limits: a request line plus headers larger than max_header_bytes
 * gets 431 and the connection is closed; a body larger than max_body_bytes
 * gets 413; anything the parser rejects gets 400; an unrouted path 404 and a
 * route with the wrong method 405, all with a small JSON body.  HEAD is
 * answered by the GET route, without the body.
 *
 * Growing it: example 16 serves /city/<name>; the flag servers (example 11)
 * and the browser-rendered service (example 23) add routes and handlers,
 * nothing here changes.
 *
 * Threads: every function except http_server_create/destroy runs in a task
 * of the loop that started the server.  Ownership is stated per function.
 * Error returns are loom codes (loom/error.h) or -errno.
 */
#ifndef LOOM_EXAMPLES_HTTP_SERVER_H
#define LOOM_EXAMPLES_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <loom.h>

typedef struct http_server http_server;

typedef struct http_server_opts {
  const char *host;         /* default "127.0.0.1" (copied) */
  int port;                 /* 0: a free port (see http_server_port) */
  size_t max_header_bytes;  /* request line + headers; default 8192 */
  size_t max_body_bytes;    /* default 1 MiB */
  double idle_timeout;      /* seconds a kept-alive connection may idle; default 30 */
  bool log;                 /* one line per request on stderr */
} http_server_opts;

/* A parsed request, valid only during the handler call (it points into the
 * connection's buffers). */
typedef struct http_request {
  const char *method;       /* "GET", "POST"... */
  const char *target;       /* the raw request target, "/city/Lima?delay=0.2" */
  const char *path;         /* percent-decoded path, "/city/Lima" */
  const char *query;        /* raw query without '?', "" if none */
  const char *body;         /* NUL-terminated copy of the body ("" if none) */
  size_t body_len;
  bool keep_alive;          /* the connection stays open after the reply */
  int nheaders;
  const char *const *header_names;  /* nheaders entries, as received */
  const char *const *header_values;
} http_request;

typedef struct http_response http_response;

/* A handler fills `res` (http_response_send / _json) and returns 0.  A
 * negative return with no reply set sends 500.  It may await. */
typedef int (*http_handler_fn)(const http_request *req, http_response *res, void *arg);

/* Create a server (not listening yet).  opts may be NULL.  *out is freed
 * with http_server_destroy.  Returns 0, LOOM_EINVAL, LOOM_ENOMEM. */
int http_server_create(const http_server_opts *opts, http_server **out);

/* Route requests whose decoded path starts with `prefix` to fn(req, res,
 * arg); `method` NULL matches any method.  Routes are tried in the order
 * added; `prefix` is copied.  Returns 0, LOOM_EINVAL, LOOM_ENOMEM,
 * LOOM_EINVALIDSTATE (already started). */
int http_server_route(http_server *srv, const char *method, const char *prefix,
                      http_handler_fn fn, void *arg);

/* Listen (from a task of the loop that will serve).  Returns 0, or what
 * loom_start_server returns (e.g. -EADDRINUSE), LOOM_EINVALIDSTATE. */
int http_server_start(http_server *srv);

/* The port listened on (after start), or -1. */
int http_server_port(const http_server *srv);

/* Serve until http_server_close; returns 0 then (or LOOM_ECANCELLED if the
 * calling task was cancelled, which closes the server too). */
int http_server_serve_forever(http_server *srv);

/* Stop listening, cancel the connection tasks and wait (up to `timeout`)
 * for them.  Returns 0 or LOOM_ETIMEDOUT.  Idempotent. */
int http_server_close(http_server *srv, double timeout);

/* Requests answered so far (any status). */
uint64_t http_server_requests(const http_server *srv);

/* Free the server (closed first if needed; then call from its loop). */
void http_server_destroy(http_server *srv);

/* ---- responses ----------------------------------------------------------- */

/* Set the reply: status, content type (copied; NULL means
 * application/octet-stream) and a copy of body[0..len).  Returns 0,
 * LOOM_ENOMEM, LOOM_EINVAL. */
int http_response_send(http_response *res, int status, const char *content_type,
                       const void *body, size_t len);

/* Set a reply with a printf-formatted body of type application/json. */
int http_response_json(http_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add a header line to the reply ("Name: value"; both copied; no CR/LF
 * allowed).  Returns 0, LOOM_EINVAL, LOOM_ENOMEM, LOOM_ELIMIT (over 4 KiB). */
int http_response_header(http_response *res, const char *name, const char *value);

/* ---- request helpers ---------------------------------------------------- */

/* Value of header `name` (case-insensitive), or NULL. */
const char *http_request_header(const http_request *req, const char *name);

/* Percent-decode query parameter `name` of `query` into buf (NUL-terminated).
 * Returns its length, -1 if absent, LOOM_ELIMIT if buf is too small. */
int http_query_param(const char *query, const char *name, char *buf, size_t cap);

/* Reason phrase of an HTTP status ("Not Found"). */
const char *http_status_reason(int status);

#endif /* LOOM_EXAMPLES_HTTP_SERVER_H */
