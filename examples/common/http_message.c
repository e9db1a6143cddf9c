/* http_message.c - the HTTP/1.1 message side of the example server: feeding
 * bytes to http-parser with bounded buffers (request line + headers, body),
 * turning a parsed request into an http_request, formatting replies, and
 * small helpers (header lookup, query parameters, reason phrases).
 *
 * The parser is paused at the end of each message, so pipelined requests
 * are taken one at a time and answered in order; bytes after the pause are
 * fed again once the reply is written.
 */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"

static http_reqbuf *rb_of(http_parser *p) { return p->data; }

/* Append to the head area; a new piece starts after a NUL. */
static int head_put(http_reqbuf *rb, const char *at, size_t len, bool new_piece) {
  size_t need = len + (new_piece ? 1 : 0) + 1;
  if (rb->head_len + need > rb->max_head) {
    rb->error_status = 431;
    return -1;
  }
  if (new_piece && rb->head_len) rb->head[rb->head_len++] = '\0';
  memcpy(rb->head + rb->head_len, at, len);
  rb->head_len += len;
  rb->head[rb->head_len] = '\0';
  return 0;
}

static int on_message_begin(http_parser *p) {
  rb_of(p)->started = true;
  return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
  http_reqbuf *rb = rb_of(p);
  bool fresh = rb->last != HB_URL;
  if (fresh) rb->url_off = rb->head_len + (rb->head_len ? 1 : 0);
  rb->last = HB_URL;
  return head_put(rb, at, len, fresh);
}

static int on_field(http_parser *p, const char *at, size_t len) {
  http_reqbuf *rb = rb_of(p);
  bool fresh = rb->last != HB_FIELD;
  if (fresh) {
    if (rb->nh == HTTP_MAX_HEADERS) {
      rb->error_status = 431;
      return -1;
    }
    rb->name_off[rb->nh++] = rb->head_len + (rb->head_len ? 1 : 0);
  }
  rb->last = HB_FIELD;
  return head_put(rb, at, len, fresh);
}

static int on_value(http_parser *p, const char *at, size_t len) {
  http_reqbuf *rb = rb_of(p);
  bool fresh = rb->last != HB_VALUE;
  if (fresh) rb->value_off[rb->nh - 1] = rb->head_len + (rb->head_len ? 1 : 0);
  rb->last = HB_VALUE;
  return head_put(rb, at, len, fresh);
}

static int on_headers_complete(http_parser *p) {
  http_reqbuf *rb = rb_of(p);
  if (rb->nh && rb->last == HB_FIELD) rb->value_off[rb->nh - 1] = rb->head_len; /* "" */
  if (p->content_length != ULLONG_MAX && p->content_length > rb->max_body) {
    rb->error_status = 413;
    return -1;
  }
  return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
  http_reqbuf *rb = rb_of(p);
  if (rb->body_len + len > rb->max_body) {
    rb->error_status = 413;
    return -1;
  }
  if (rb->body_len + len + 1 > rb->body_cap) {
    size_t cap = rb->body_cap ? rb->body_cap : 1024;
    while (cap < rb->body_len + len + 1) cap *= 2;
    char *nb = realloc(rb->body, cap);
    if (!nb) {
      rb->error_status = 500;
      return -1;
    }
    rb->body = nb;
    rb->body_cap = cap;
  }
  memcpy(rb->body + rb->body_len, at, len);
  rb->body_len += len;
  rb->body[rb->body_len] = '\0';
  return 0;
}

static int on_message_complete(http_parser *p) {
  rb_of(p)->complete = true;
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_field,
    .on_header_value = on_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

int http_reqbuf_init(http_reqbuf *rb, size_t max_head, size_t max_body) {
  memset(rb, 0, sizeof *rb);
  rb->max_head = max_head;
  rb->max_body = max_body;
  rb->head = malloc(max_head);
  if (!rb->head) return LOOM_ENOMEM;
  http_parser_init(&rb->parser, HTTP_REQUEST);
  rb->parser.data = rb;
  return 0;
}

void http_reqbuf_fini(http_reqbuf *rb) {
  free(rb->head);
  free(rb->body);
}

void http_reqbuf_reset(http_reqbuf *rb) {
  rb->head_len = 0;
  rb->body_len = 0;
  rb->last = HB_NONE;
  rb->nh = 0;
  rb->complete = rb->started = false;
  rb->error_status = 0;
  http_parser_pause(&rb->parser, 0);
}

size_t http_reqbuf_feed(http_reqbuf *rb, const char *data, size_t len) {
  size_t n = http_parser_execute(&rb->parser, &settings, data, len);
  enum http_errno e = HTTP_PARSER_ERRNO(&rb->parser);
  if (e == HPE_PAUSED && rb->complete) return n;
  if (e != HPE_OK && !rb->error_status) rb->error_status = 400;
  if (rb->parser.upgrade && !rb->error_status) rb->error_status = 400; /* not supported */
  return n;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode src[0..len) into dst (NUL-terminated); '+' stays '+' in a
 * path and becomes a space in a query.  Returns the length or LOOM_ELIMIT. */
static int pct_decode(const char *src, size_t len, char *dst, size_t cap, bool plus_space) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (o + 1 >= cap) return LOOM_ELIMIT;
    int c = (unsigned char)src[i];
    if (c == '%' && i + 2 < len && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
      c = hexval(src[i + 1]) * 16 + hexval(src[i + 2]);
      i += 2;
    } else if (c == '+' && plus_space) {
      c = ' ';
    }
    dst[o++] = (char)c;
  }
  dst[o] = '\0';
  return (int)o;
}

int http_reqbuf_request(http_reqbuf *rb, http_request *req, char *path, size_t cap,
                        const char **names, const char **values) {
  memset(req, 0, sizeof *req);
  const char *url = rb->head + rb->url_off;
  struct http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)))
    return LOOM_EINVAL;
  int rc = pct_decode(url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len, path, cap,
                      false);
  if (rc < 0) return rc;
  req->method = http_method_str((enum http_method)rb->parser.method);
  req->target = url;
  req->path = path;
  /* The query is a suffix of the URL: point into it (no fragment in requests). */
  req->query = (u.field_set & (1 << UF_QUERY)) ? url + u.field_data[UF_QUERY].off : "";
  req->body = rb->body ? rb->body : "";
  req->body_len = rb->body_len;
  req->keep_alive = http_should_keep_alive(&rb->parser) != 0;
  for (int i = 0; i < rb->nh; i++) {
    names[i] = rb->head + rb->name_off[i];
    values[i] = rb->head + rb->value_off[i];
  }
  req->nheaders = rb->nh;
  req->header_names = names;
  req->header_values = values;
  return 0;
}

/* ---- replies ------------------------------------------------------------- */

void http_response_reset(http_response *res) {
  free(res->content_type);
  free(res->body);
  memset(res, 0, offsetof(http_response, extra));
  res->extra_len = 0;
  res->extra[0] = '\0';
}

int http_response_send(http_response *res, int status, const char *content_type,
                       const void *body, size_t len) {
  if (!res || status < 100 || status > 999 || (len && !body)) return LOOM_EINVAL;
  char *ct = strdup(content_type ? content_type : "application/octet-stream");
  char *b = malloc(len + 1);
  if (!ct || !b) {
    free(ct);
    free(b);
    return LOOM_ENOMEM;
  }
  if (len) memcpy(b, body, len);
  b[len] = '\0';
  free(res->content_type);
  free(res->body);
  res->status = status;
  res->content_type = ct;
  res->body = b;
  res->body_len = len;
  return 0;
}

int http_response_json(http_response *res, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = NULL;
  int n = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (n < 0) return LOOM_ENOMEM;
  int rc = http_response_send(res, status, "application/json", text, (size_t)n);
  free(text);
  return rc;
}

int http_response_header(http_response *res, const char *name, const char *value) {
  if (!res || !name || !value || strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
    return LOOM_EINVAL;
  size_t room = sizeof res->extra - res->extra_len;
  int n = snprintf(res->extra + res->extra_len, room, "%s: %s\r\n", name, value);
  if (n < 0 || (size_t)n >= room) {
    res->extra[res->extra_len] = '\0';
    return LOOM_ELIMIT;
  }
  res->extra_len += (size_t)n;
  return 0;
}

int http_response_head(const http_response *res, bool keep_alive, char *buf, size_t cap) {
  int n = snprintf(buf, cap,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: %s\r\n%s\r\n",
                   res->status, http_status_reason(res->status),
                   res->content_type ? res->content_type : "application/octet-stream",
                   res->body_len, keep_alive ? "keep-alive" : "close", res->extra);
  return n < 0 || (size_t)n >= cap ? LOOM_ELIMIT : n;
}

/* ---- helpers ------------------------------------------------------------- */

const char *http_request_header(const http_request *req, const char *name) {
  for (int i = 0; req && name && i < req->nheaders; i++)
    if (strcasecmp(req->header_names[i], name) == 0) return req->header_values[i];
  return NULL;
}

int http_query_param(const char *query, const char *name, char *buf, size_t cap) {
  if (!query || !name || !buf || cap == 0) return -1;
  size_t nl = strlen(name);
  for (const char *p = query; *p;) {
    const char *end = strchr(p, '&');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= nl && strncmp(p, name, nl) == 0 && (len == nl || p[nl] == '=')) {
      const char *v = len == nl ? p + nl : p + nl + 1;
      return pct_decode(v, len - (size_t)(v - p), buf, cap, true);
    }
    p += len + (end ? 1 : 0);
  }
  return -1;
}

const char *http_status_reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 301: return "Moved Permanently";
  case 304: return "Not Modified";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 413: return "Content Too Large";
  case 418: return "I'm a teapot";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Unknown";
  }
}
