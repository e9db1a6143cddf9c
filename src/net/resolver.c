/* resolver.c - non-blocking name resolution: getaddrinfo(3) on the
 * resolver's own bounded thread pool, each lookup a loom_future.
 *
 * Why its own pool: getaddrinfo blocks for as long as DNS takes (seconds
 * when a server is down), so lookups must not share workers with file or
 * CPU jobs, or one slow name could starve them.  The pool is small and
 * bounded; threads start on demand and stay for reuse.
 *
 * Numeric hosts with numeric (or no) services never reach the pool: they are
 * answered inline, as asyncio's _ipaddr_info shortcut does, so connecting to
 * "127.0.0.1" costs no thread hop.  A request crosses to the pool as a bytes
 * argument (options + the two strings), which the executor layer copies and
 * frees - including when the lookup is cancelled while still queued.
 * docs/net.md explains why getaddrinfo on a pool rather than c-ares.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <string.h>

#include "../futures/executor_internal.h"
#include "addrlist.h"
#include "netio.h"
#include "loom/thread_pool.h"

#define DEFAULT_THREADS 4
#define MAX_THREADS 256
#define FLAGS_ALL                                                              \
  (LOOM_RESOLVE_PASSIVE | LOOM_RESOLVE_CANONNAME | LOOM_RESOLVE_NUMERIC |      \
   LOOM_RESOLVE_ADDRCONFIG)

struct loom_resolver {
  loom_executor *pool;
};

/* The request as it crosses to a worker: fixed part, then host and service
 * strings, each NUL-terminated (an absent one is flagged, not empty). */
typedef struct req {
  loom_resolve_opts opts;
  bool has_host, has_service;
  size_t host_len;
  char strs[];
} req;

int loom_resolver_create(loom_resolver **out, int max_threads) {
  if (!out || max_threads < 0 || max_threads > MAX_THREADS) return LOOM_EINVAL;
  *out = NULL;
  loom_resolver *r = loom__calloc(1, sizeof *r);
  if (!r) return LOOM_ENOMEM;
  loom_thread_pool_options o = {.max_workers = max_threads ? max_threads : DEFAULT_THREADS,
                                .thread_name_prefix = "loom-dns"};
  int rc = loom_thread_pool_create(&r->pool, &o);
  if (rc < 0) {
    loom__free(r);
    return rc;
  }
  loom__live_inc(LOOM_LIVE_OTHER);
  *out = r;
  return 0;
}

void loom_resolver_destroy(loom_resolver *r) {
  if (!r) return;
  loom_executor_shutdown(r->pool, true, true);
  loom_executor_destroy(r->pool);
  loom__free(r);
  loom__live_dec(LOOM_LIVE_OTHER);
}

/* getaddrinfo's EAI_* codes as loom codes. */
static int gai_code(int eai, int saved_errno) {
  switch (eai) {
  case EAI_AGAIN: return LOOM_EAGAIN;
  case EAI_MEMORY: return LOOM_ENOMEM;
  case EAI_BADFLAGS:
  case EAI_FAMILY:
  case EAI_SOCKTYPE: return LOOM_EINVAL;
  case EAI_SYSTEM: return saved_errno ? -saved_errno : LOOM_EFAILED;
  case EAI_FAIL: return -EIO;
  default: return LOOM_ENOENT; /* NONAME, NODATA, ADDRFAMILY, SERVICE */
  }
}

static int ai_flags(int flags) {
  int f = 0;
  if (flags & LOOM_RESOLVE_PASSIVE) f |= AI_PASSIVE;
  if (flags & LOOM_RESOLVE_CANONNAME) f |= AI_CANONNAME;
  if (flags & LOOM_RESOLVE_NUMERIC) f |= AI_NUMERICHOST;
  if (flags & LOOM_RESOLVE_ADDRCONFIG) f |= AI_ADDRCONFIG;
  return f;
}

/* Run one lookup and settle f with it. */
static int lookup(loom_future *f, const req *q) {
  const char *host = q->has_host ? q->strs : NULL;
  const char *service = q->has_service ? q->strs + q->host_len + 1 : NULL;
  struct addrinfo hints = {.ai_family = q->opts.family, .ai_socktype = q->opts.socktype,
                           .ai_protocol = q->opts.protocol,
                           .ai_flags = ai_flags(q->opts.flags)};
  struct addrinfo *res = NULL;
  int eai;
  if (loom__sys_fault(EAGAIN)) eai = EAI_SYSTEM;
  else eai = getaddrinfo(host, service, &hints, &res);
  int err = errno;
  if (eai != 0)
    return loom_future_set_error(f, gai_code(eai, err), "%s%s%s: %s", host ? host : "",
                                 service ? ":" : "", service ? service : "",
                                 eai == EAI_SYSTEM ? strerror(err) : gai_strerror(eai));
  loom_addrlist *l = NULL;
  int rc = loom__addrlist_from_ai(res, &l);
  freeaddrinfo(res);
  if (rc < 0) return loom_future_set_error(f, rc, "%s: no usable address", host ? host : "");
  if (loom_future_set_result(f, l, loom__addrlist_dtor) < 0) loom_addrlist_free(l);
  return 0;
}

static int lookup_job(loom_future *self, void *arg) { return lookup(self, arg); }

static bool all_digits(const char *s) {
  if (!s || !*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

/* True when getaddrinfo can answer without any I/O (asyncio's shortcut). */
static bool is_numeric(const char *host, const char *service) {
  if (service && !all_digits(service)) return false;
  if (!host) return true;
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Build the request bytes; *len gets their size. NULL on ENOMEM. */
static req *make_req(const char *host, const char *service, const loom_resolve_opts *o,
                     size_t *len) {
  size_t hl = host ? strlen(host) : 0, sl = service ? strlen(service) : 0;
  *len = sizeof(req) + hl + 1 + sl + 1;
  req *q = loom__calloc(1, *len);
  if (!q) return NULL;
  if (o) q->opts = *o;
  q->has_host = host != NULL;
  q->has_service = service != NULL;
  q->host_len = hl;
  if (host) memcpy(q->strs, host, hl);
  if (service) memcpy(q->strs + hl + 1, service, sl);
  return q;
}

static int resolve_inline(const req *q, loom_future **out) {
  loom_future *f;
  int rc = loom_future_create(&f);
  if (rc < 0) return rc;
  lookup(f, q);
  *out = f;
  return 0;
}

int loom_resolve(loom_resolver *r, const char *host, const char *service,
                 const loom_resolve_opts *opts, loom_future **out) {
  if (out) *out = NULL;
  if (!r || !out || (!host && !service)) return LOOM_EINVAL;
  if (opts && (opts->flags & ~FLAGS_ALL)) return LOOM_EINVAL;
  size_t len;
  req *q = make_req(host, service, opts, &len);
  if (!q) return LOOM_ENOMEM;
  int rc;
  if (is_numeric(host, service) || (opts && (opts->flags & LOOM_RESOLVE_NUMERIC) &&
                                    (!service || all_digits(service))))
    rc = resolve_inline(q, out);
  else
    rc = loom_executor_submit_bytes(r->pool, lookup_job, q, len, out);
  loom__free(q);
  return rc;
}

/* ---- a lookup on a thread of its own ------------------------------------ */

typedef struct detached {
  loom_future *f; /* the thread's own reference */
  req *q;
} detached;

static void *detached_main(void *arg) {
  detached *d = arg;
  pthread_setname_np(pthread_self(), "loom-dns");
  lookup(d->f, d->q);
  loom_future_release(d->f);
  loom__free(d->q);
  loom__free(d);
  loom__live_dec(LOOM_LIVE_THREADS);
  return NULL;
}

static int spawn_detached(detached *d) {
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  loom__live_inc(LOOM_LIVE_THREADS);
  int rc = loom__sys_fault(EAGAIN) ? EAGAIN : pthread_create(&t, &at, detached_main, d);
  pthread_attr_destroy(&at);
  if (rc) loom__live_dec(LOOM_LIVE_THREADS);
  return -rc;
}

int loom__resolve_detached(const char *host, const char *service,
                           const loom_resolve_opts *opts, loom_future **out) {
  if (out) *out = NULL;
  if (!out || (!host && !service)) return LOOM_EINVAL;
  if (opts && (opts->flags & ~FLAGS_ALL)) return LOOM_EINVAL;
  size_t len;
  req *q = make_req(host, service, opts, &len);
  if (!q) return LOOM_ENOMEM;
  if (is_numeric(host, service)) {
    int rc = resolve_inline(q, out);
    loom__free(q);
    return rc;
  }
  detached *d = loom__malloc(sizeof *d);
  loom_future *f = NULL;
  int rc = d ? loom_future_create(&f) : LOOM_ENOMEM;
  if (rc == 0) {
    d->f = loom_future_retain(f);
    d->q = q;
    rc = spawn_detached(d);
    if (rc < 0) loom_future_release(f); /* the thread's reference */
  }
  if (rc < 0) {
    loom_future_release(f);
    loom__free(d);
    loom__free(q);
    return rc;
  }
  *out = f;
  return 0;
}
