/* http_internal.h - what http_server.c and http_message.c share: the reply
 * being built and the per-connection request parser state. */
#ifndef LOOM_EXAMPLES_HTTP_INTERNAL_H
#define LOOM_EXAMPLES_HTTP_INTERNAL_H

#include <http_parser.h>

#include "http_server.h"

#define HTTP_MAX_HEADERS 64

struct http_response {
  int status;            /* 0: not set yet */
  char *content_type;    /* owned */
  char *body;            /* owned */
  size_t body_len;
  char extra[4096];      /* extra header lines, CRLF-terminated */
  size_t extra_len;
};

/* Parser state of one connection: the request line and headers are stored
 * back to back in `head` (each piece NUL-terminated), bounded by
 * max_header_bytes; the body in `body`, bounded by max_body_bytes. */
typedef struct http_reqbuf {
  http_parser parser;
  size_t max_head, max_body;
  char *head;
  size_t head_len;
  char *body;
  size_t body_len, body_cap;
  enum { HB_NONE, HB_URL, HB_FIELD, HB_VALUE } last; /* previous callback */
  size_t url_off;
  int nh;
  size_t name_off[HTTP_MAX_HEADERS], value_off[HTTP_MAX_HEADERS];
  bool complete;         /* a whole request is parsed (parser paused) */
  bool started;          /* bytes of a request were seen */
  int error_status;      /* 400 / 413 / 431 chosen by a callback */
} http_reqbuf;

/* http_message.c */
int http_reqbuf_init(http_reqbuf *rb, size_t max_head, size_t max_body);
void http_reqbuf_fini(http_reqbuf *rb);
/* Ready for the next request on the same connection. */
void http_reqbuf_reset(http_reqbuf *rb);
/* Feed bytes; returns how many were consumed.  Afterwards rb->complete means
 * a request is ready (the rest of the bytes belong to the next one), and a
 * non-zero rb->error_status means the request is bad: reply and close. */
size_t http_reqbuf_feed(http_reqbuf *rb, const char *data, size_t len);
/* Fill req from a complete request; `path` is scratch of the URL's size. */
int http_reqbuf_request(http_reqbuf *rb, http_request *req, char *path, size_t cap,
                        const char **names, const char **values);

void http_response_reset(http_response *res);
/* Format the status line and headers into buf; returns their length or
 * LOOM_ELIMIT. */
int http_response_head(const http_response *res, bool keep_alive, char *buf, size_t cap);

#endif
