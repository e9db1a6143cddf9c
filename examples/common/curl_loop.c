/* curl_loop.c - libcurl's multi "socket" interface on a loom loop.
 *
 * curl asks, through on_socket, to watch a descriptor for reading and/or
 * writing (or to stop); we keep a small record per socket (curl_multi_assign)
 * and register loop readers/writers.  curl asks, through on_timer, to be
 * called back after N ms; that is one loop timer, replaced each time.  When
 * either fires we call curl_multi_socket_action and then collect finished
 * transfers (curl_multi_info_read) and complete their futures.  Everything
 * runs on the loop's thread, so there is no locking here.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "curl_loop.h"

typedef struct xfer xfer;

struct curl_loop {
  loom_loop *loop;
  CURLM *multi;
  loom_handle *timer;     /* pending curl timeout, or NULL */
  xfer *xfers;            /* in flight */
  int active;
};

struct xfer {
  curl_loop *cl;
  CURL *easy;
  loom_future *f;         /* one reference held here */
  char *buf;
  size_t len, cap;
  xfer *next, *prev;
};

typedef struct sock {
  curl_loop *cl;
  curl_socket_t fd;
} sock;

void curl_fetch_free(void *p) {
  curl_fetch *r = p;
  if (!r) return;
  free(r->body);
  free(r);
}

/* ---- transfers ----------------------------------------------------------------- */

static void xfer_unlink(xfer *x) {
  curl_loop *cl = x->cl;
  if (x->prev) x->prev->next = x->next; else cl->xfers = x->next;
  if (x->next) x->next->prev = x->prev;
  cl->active--;
}

/* Drop the transfer from curl and free it (the future is not touched). */
static void xfer_free(xfer *x) {
  curl_multi_remove_handle(x->cl->multi, x->easy);
  curl_easy_cleanup(x->easy);
  xfer_unlink(x);
  loom_future_release(x->f);
  free(x->buf);
  free(x);
}

static int on_future_done(loom_future *f, void *arg) {
  /* Only cancellation gets here: finish() unregisters before completing. */
  if (loom_future_cancelled(f)) xfer_free(arg);
  return 0;
}

static void finish(xfer *x, CURLcode res) {
  loom_future *f = loom_future_retain(x->f);
  loom_future_remove_done_callback(f, on_future_done, x);
  curl_fetch *r = res == CURLE_OK ? calloc(1, sizeof *r) : NULL;
  if (r) {
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(x->easy, CURLINFO_TOTAL_TIME, &r->seconds);
    r->body = x->buf ? x->buf : strdup("");
    r->body_len = x->len;
    x->buf = NULL;
  }
  const char *url = NULL;
  curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
  char *where = strdup(url ? url : "?");
  xfer_free(x);
  if (r && r->body) loom_future_set_result(f, r, curl_fetch_free);
  else if (res == CURLE_OK) loom_future_set_error(f, LOOM_ENOMEM, "out of memory");
  else loom_future_set_error(f, LOOM_EFAILED, "%s: %s", where ? where : "?",
                             curl_easy_strerror(res));
  if (r && !r->body) curl_fetch_free(r);
  free(where);
  loom_future_release(f);
}

static void collect_done(curl_loop *cl) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(cl->multi, &left))) {
    if (m->msg != CURLMSG_DONE) continue;
    xfer *x = NULL;
    CURLcode res = m->data.result;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    finish(x, res);
  }
}

/* ---- readiness and timers ------------------------------------------------------ */

static void act(curl_loop *cl, curl_socket_t fd, int flags) {
  int running;
  curl_multi_socket_action(cl->multi, fd, flags, &running);
  collect_done(cl);
}

/* `s` may be freed by curl inside act (CURL_POLL_REMOVE): copy it first. */
static void on_readable(void *arg) {
  sock *s = arg;
  act(s->cl, s->fd, CURL_CSELECT_IN);
}

static void on_writable(void *arg) {
  sock *s = arg;
  act(s->cl, s->fd, CURL_CSELECT_OUT);
}

static void on_timeout(void *arg) {
  curl_loop *cl = arg;
  loom_handle_release(cl->timer);
  cl->timer = NULL;
  act(cl, CURL_SOCKET_TIMEOUT, 0);
}

static void timer_stop(curl_loop *cl) {
  if (!cl->timer) return;
  loom_handle_cancel(cl->timer);
  loom_handle_release(cl->timer);
  cl->timer = NULL;
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp) {
  curl_loop *cl = userp;
  timer_stop(cl);
  if (timeout_ms < 0) return 0;
  return loom_call_later(cl->loop, (double)timeout_ms / 1000.0, on_timeout, cl, &cl->timer)
             ? -1 : 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  curl_loop *cl = userp;
  sock *s = socketp;
  if (what == CURL_POLL_REMOVE) {
    loom_loop_remove_reader(cl->loop, fd);
    loom_loop_remove_writer(cl->loop, fd);
    curl_multi_assign(cl->multi, fd, NULL);
    free(s);
    return 0;
  }
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->cl = cl;
    s->fd = fd;
    curl_multi_assign(cl->multi, fd, s);
  }
  int rc = 0;
  if (what & CURL_POLL_IN) rc |= loom_loop_add_reader(cl->loop, fd, on_readable, s);
  else loom_loop_remove_reader(cl->loop, fd);
  if (what & CURL_POLL_OUT) rc |= loom_loop_add_writer(cl->loop, fd, on_writable, s);
  else loom_loop_remove_writer(cl->loop, fd);
  return rc ? -1 : 0;
}

/* ---- public ---------------------------------------------------------------------- */

int curl_loop_create(loom_loop *loop, curl_loop **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  if (!loop) loop = loom_loop_current();
  if (!loop) return LOOM_EINVAL;
  curl_loop *cl = calloc(1, sizeof *cl);
  if (!cl) return LOOM_ENOMEM;
  cl->loop = loop;
  cl->multi = curl_multi_init();
  if (!cl->multi) {
    free(cl);
    return LOOM_EFAILED;
  }
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(cl->multi, CURLMOPT_SOCKETDATA, cl);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(cl->multi, CURLMOPT_TIMERDATA, cl);
  *out = cl;
  return 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg) {
  xfer *x = arg;
  size_t n = size * nmemb;
  if (x->len + n + 1 > x->cap) {
    size_t cap = x->cap ? x->cap : 4096;
    while (cap < x->len + n + 1) cap *= 2;
    char *nb = realloc(x->buf, cap);
    if (!nb) return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
    x->buf = nb;
    x->cap = cap;
  }
  memcpy(x->buf + x->len, ptr, n);
  x->len += n;
  x->buf[x->len] = '\0';
  return n;
}

static int setup_easy(xfer *x, const char *url, double timeout) {
  CURL *e = x->easy;
  CURLcode c = curl_easy_setopt(e, CURLOPT_URL, url);
  if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
  if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_PRIVATE, x);
  if (c == CURLE_OK) c = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (c == CURLE_OK && timeout > 0)
    c = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
  return c == CURLE_OK ? 0 : LOOM_EFAILED;
}

int curl_loop_fetch(curl_loop *cl, const char *url, double timeout, loom_future **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  if (!cl || !url) return LOOM_EINVAL;
  xfer *x = calloc(1, sizeof *x);
  if (!x) return LOOM_ENOMEM;
  x->cl = cl;
  x->easy = curl_easy_init();
  int rc = x->easy ? loom_future_create(&x->f) : LOOM_EFAILED;
  if (rc == 0) rc = setup_easy(x, url, timeout);
  if (rc == 0 && curl_multi_add_handle(cl->multi, x->easy) != CURLM_OK) rc = LOOM_EFAILED;
  if (rc < 0) {
    if (x->easy) curl_easy_cleanup(x->easy);
    if (x->f) loom_future_release(x->f);
    free(x);
    return rc;
  }
  x->next = cl->xfers;
  if (x->next) x->next->prev = x;
  cl->xfers = x;
  cl->active++;
  if (loom_future_add_done_callback(x->f, on_future_done, x) < 0) {
    xfer_free(x);
    return LOOM_ENOMEM;
  }
  *out = loom_future_retain(x->f);
  return 0;
}

int curl_loop_get(curl_loop *cl, const char *url, double timeout, curl_fetch **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_future *f;
  int rc = curl_loop_fetch(cl, url, timeout, &f);
  if (rc < 0) return rc;
  rc = loom_future_wait(f, LOOM_FOREVER);
  if (rc < 0) loom_future_cancel(f); /* the waiting task was cancelled: abort */
  else rc = loom_future_result(f, 0, NULL);
  if (rc == 0) {
    void *v;
    loom_destructor d;
    rc = loom_future_take_result(f, &v, &d);
    if (rc == 0) *out = v;
  }
  loom_future_release(f);
  return rc;
}

int curl_loop_active(const curl_loop *cl) { return cl ? cl->active : 0; }

void curl_loop_destroy(curl_loop *cl) {
  if (!cl) return;
  while (cl->xfers) {
    xfer *x = cl->xfers;
    if (!loom_future_cancel(x->f)) xfer_free(x); /* else on_future_done freed it */
  }
  curl_multi_cleanup(cl->multi);
  timer_stop(cl); /* last, as cleanup may still call on_timer */
  free(cl);
}
