/* map.c - Executor.map for every backend, built on submit alone.
 *
 * The iterator keeps the submitted jobs in a ring, in input order.  next()
 * takes the head job, tops the ring up again (Python submits one more before
 * waiting, so at most buffersize + 1 jobs are in flight), waits for the head
 * until the map's deadline and yields its result.  A chunked job runs fn on
 * each of its items with a private future per item and finishes with an
 * array of those futures, so errors and results stay per item.
 *
 * A process pool cannot carry such an array back (results cross as bytes),
 * so a chunked map over one is handed to the process pool's own chunked map
 * (loom_process_pool_map), which packs each chunk's outcomes into bytes; the
 * iterator then only adapts its items.
 */
#include <string.h>

#include "loom/process.h"

#include "executor_internal.h"

typedef struct slot {
  loom_future *f;
  size_t first, count; /* input index of its first item, number of items */
} slot;

struct loom_map {
  loom_executor *ex;
  loom_fn fn;
  void *const *items; /* array source */
  size_t n;
  loom_map_gen_fn gen; /* generator source */
  void *gen_ctx;
  size_t next_item;    /* input index of the next item to read */
  bool src_done;
  int src_err;         /* delivered after the jobs before it */
  size_t chunk, buffer;
  int64_t deadline;
  slot *ring;          /* submitted jobs not yet taken, in input order */
  size_t cap, head, count;
  slot cur;            /* the job being yielded (cur.f NULL if none) */
  bool cur_ready;      /* cur.f waited for and unpacked */
  size_t cur_pos;      /* items of cur already yielded */
  loom_future *last;   /* the future of the item last yielded */
  const char *msg;
  size_t index;
  bool timed_out;
  loom_process_map *pm; /* chunked map over a process pool, or NULL */
  loom_process_item pitem;
};

/* ---- chunk jobs ------------------------------------------------------------ */

typedef struct chunk_hdr {
  loom_fn fn;
  size_t count;
  void *items[];
} chunk_hdr;

typedef struct chunk_res {
  size_t n;
  loom_future *f[];
} chunk_res;

static void chunk_res_free(void *v) {
  chunk_res *r = v;
  for (size_t i = 0; i < r->n; i++) loom_future_release(r->f[i]);
  loom__free(r);
}

static int chunk_job(loom_future *self, void *arg) {
  const chunk_hdr *h = arg;
  chunk_res *r = loom__calloc(1, sizeof *r + h->count * sizeof r->f[0]);
  if (!r) return LOOM_ENOMEM;
  for (size_t i = 0; i < h->count; i++) {
    loom_future *sub;
    int rc = loom_future_create(&sub);
    if (rc < 0) {
      chunk_res_free(r);
      return rc;
    }
    r->f[r->n++] = sub;
    if (loom_future_cancel_requested(self)) {
      loom__future_set_cancelled(sub, NULL);
      continue;
    }
    sub->fn = h->fn;
    sub->arg = h->items[i];
    loom_future_set_running_or_notify_cancel(sub);
    loom__executor_run_job(sub);
  }
  if (loom_future_set_result(self, r, chunk_res_free) < 0) chunk_res_free(r);
  return 0;
}

/* ---- reading the input and submitting ------------------------------------ */

/* Read up to m->chunk items into buf.  Returns how many; on the end of the
 * input or a generator error marks the source done. */
static size_t read_items(loom_map *m, void **buf) {
  size_t k = 0;
  while (k < m->chunk && !m->src_done) {
    if (!m->gen) {
      if (m->next_item == m->n) {
        m->src_done = true;
        break;
      }
      buf[k++] = m->items[m->next_item++];
      continue;
    }
    void *item = NULL;
    int rc = m->gen(m->gen_ctx, &item);
    if (rc < 0) {
      m->src_done = true;
      if (rc != LOOM_ESTOP) m->src_err = rc;
      break;
    }
    buf[k++] = item;
    m->next_item++;
  }
  return k;
}

static int submit_items(loom_map *m, void **buf, size_t k, loom_future **f) {
  if (m->chunk == 1) return loom_executor_submit(m->ex, m->fn, buf[0], f);
  size_t size = sizeof(chunk_hdr) + k * sizeof(void *);
  chunk_hdr *h = loom__malloc(size);
  if (!h) return LOOM_ENOMEM;
  h->fn = m->fn;
  h->count = k;
  memcpy(h->items, buf, k * sizeof(void *));
  int rc = loom_executor_submit_bytes(m->ex, chunk_job, h, size, f);
  loom__free(h);
  return rc;
}

static int ring_reserve(loom_map *m) {
  if (m->count < m->cap) return 0;
  size_t cap = m->cap ? m->cap * 2 : 16;
  slot *r = loom__malloc(cap * sizeof *r);
  if (!r) return LOOM_ENOMEM;
  for (size_t i = 0; i < m->count; i++) r[i] = m->ring[(m->head + i) % m->cap];
  loom__free(m->ring);
  m->ring = r;
  m->cap = cap;
  m->head = 0;
  return 0;
}

/* Submit one more job.  Returns false when nothing more can be submitted. */
static bool submit_next(loom_map *m) {
  if (m->src_done) return false;
  void *small[64];
  void **buf = m->chunk <= 64 ? small : loom__malloc(m->chunk * sizeof(void *));
  int rc = buf ? ring_reserve(m) : LOOM_ENOMEM;
  size_t first = m->next_item, k = 0;
  loom_future *f = NULL;
  if (rc == 0) k = read_items(m, buf);
  if (rc == 0 && k) rc = submit_items(m, buf, k, &f);
  if (buf != small) loom__free(buf);
  if (rc < 0) {
    m->src_done = true; /* the items read are lost: report at their place */
    if (!m->src_err) m->src_err = rc;
    return false;
  }
  if (!k) return false;
  m->ring[(m->head + m->count) % m->cap] = (slot){f, first, k};
  m->count++;
  return true;
}

static void refill(loom_map *m) {
  while (m->buffer == 0 || m->count < m->buffer)
    if (!submit_next(m)) break;
}

/* ---- the iterator -------------------------------------------------------- */

static void cancel_all(loom_map *m) {
  if (m->cur.f && !m->cur_ready) loom_future_cancel(m->cur.f);
  for (size_t i = 0; i < m->count; i++) loom_future_cancel(m->ring[(m->head + i) % m->cap].f);
}

void loom_map_destroy(loom_map *m) {
  if (!m) return;
  loom_process_map_destroy(m->pm);
  cancel_all(m);
  loom_future_release(m->cur.f);
  for (size_t i = 0; i < m->count; i++) loom_future_release(m->ring[(m->head + i) % m->cap].f);
  loom__free(m->ring);
  loom__free(m);
  loom__live_dec(LOOM_LIVE_OTHER);
}

/* Read a generator to its end into an array (for the process pool map). */
static int drain(loom_map *m, void ***items, size_t *n) {
  size_t cap = 0;
  *items = NULL;
  *n = 0;
  for (;;) {
    void *item = NULL;
    int rc = m->gen(m->gen_ctx, &item);
    if (rc == LOOM_ESTOP) return 0;
    if (rc < 0) return rc;
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      void **bigger = loom__realloc(*items, cap * sizeof *bigger);
      if (!bigger) return LOOM_ENOMEM;
      *items = bigger;
    }
    (*items)[(*n)++] = item;
  }
}

static int start_process_map(loom_map *m, double timeout) {
  if (m->buffer) return LOOM_EINVAL; /* not supported by the process map yet */
  void **drained = NULL;
  size_t n = m->n;
  int rc = m->gen ? drain(m, &drained, &n) : 0;
  if (rc == 0)
    rc = loom_process_pool_map(m->ex, m->fn, m->gen ? drained : m->items, n, m->chunk,
                               timeout, &m->pm);
  loom__free(drained);
  return rc;
}

static int map_start(loom_map *m, double timeout, const loom_map_options *opts,
                     loom_map **out) {
  m->chunk = opts && opts->chunksize > 1 ? opts->chunksize : 1;
  m->buffer = opts ? opts->buffersize : 0;
  m->deadline = loom_deadline(timeout);
  if (m->chunk > 1 && strcmp(loom_executor_kind(m->ex), "process_pool") == 0) {
    int rc = start_process_map(m, timeout);
    if (rc < 0) {
      loom_map_destroy(m);
      return rc;
    }
    *out = m;
    return 0;
  }
  refill(m);
  if (m->src_err) { /* Python raises from map() itself */
    int rc = m->src_err;
    loom_map_destroy(m);
    return rc;
  }
  *out = m;
  return 0;
}

static loom_map *map_alloc(loom_executor *ex, loom_fn fn) {
  loom_map *m = loom__calloc(1, sizeof *m);
  if (!m) return NULL;
  loom__live_inc(LOOM_LIVE_OTHER);
  m->ex = ex;
  m->fn = fn;
  return m;
}

int loom_executor_map(loom_executor *ex, loom_fn fn, void *const *items, size_t n,
                      double timeout, const loom_map_options *opts, loom_map **out) {
  if (out) *out = NULL;
  if (!ex || !fn || !out || (!items && n)) return LOOM_EINVAL;
  loom_map *m = map_alloc(ex, fn);
  if (!m) return LOOM_ENOMEM;
  m->items = items;
  m->n = n;
  return map_start(m, timeout, opts, out);
}

int loom_executor_map_gen(loom_executor *ex, loom_fn fn, loom_map_gen_fn gen,
                          void *gen_ctx, double timeout,
                          const loom_map_options *opts, loom_map **out) {
  if (out) *out = NULL;
  if (!ex || !fn || !gen || !out) return LOOM_EINVAL;
  loom_map *m = map_alloc(ex, fn);
  if (!m) return LOOM_ENOMEM;
  m->gen = gen;
  m->gen_ctx = gen_ctx;
  return map_start(m, timeout, opts, out);
}

/* Take the head job as the current one and top the ring up. */
static bool take_head(loom_map *m) {
  if (!m->count) return false;
  m->cur = m->ring[m->head];
  m->head = (m->head + 1) % m->cap;
  m->count--;
  m->cur_ready = false;
  m->cur_pos = 0;
  refill(m);
  return true;
}

/* The future holding item cur_pos of the current job. */
static loom_future *cur_item(loom_map *m) {
  loom_future *f = m->cur.f;
  if (m->chunk == 1 || f->err) return f; /* a failed batch fails each item */
  chunk_res *r = f->value;
  return m->cur_pos < r->n ? r->f[m->cur_pos] : f;
}

static int yield_item(loom_map *m, void **value) {
  loom_future *f = cur_item(m);
  m->index = m->cur.first + m->cur_pos;
  m->cur_pos++;
  m->last = f;
  void *v = NULL;
  int rc = loom_future_result(f, 0, &v);
  if (rc < 0) {
    loom_future_exception(f, NULL, &m->msg);
    m->last = NULL;
  }
  if (value) *value = v;
  return rc;
}

/* loom_map_next over a process pool's chunked map. */
static int next_process(loom_map *m, void **value) {
  loom_process_item *it = &m->pitem;
  int rc = loom_process_map_next(m->pm, it);
  if (rc == LOOM_ETIMEDOUT) m->timed_out = true;
  if (rc < 0) return rc;
  m->index = it->index;
  if (it->err) {
    m->msg = it->msg ? it->msg : loom_strerror(it->err);
    return it->err;
  }
  if (value) *value = it->is_bytes ? (void *)it->data : it->value;
  return 0;
}

int loom_map_next(loom_map *m, void **value) {
  if (value) *value = NULL;
  if (!m) return LOOM_EINVAL;
  m->msg = NULL;
  m->last = NULL;
  if (m->timed_out) return LOOM_ETIMEDOUT;
  if (m->pm) return next_process(m, value);
  for (;;) {
    if (!m->cur.f && !take_head(m)) {
      int rc = m->src_err ? m->src_err : LOOM_ESTOP;
      if (m->src_err) m->index = m->next_item;
      m->src_err = 0;
      return rc;
    }
    if (!m->cur_ready) {
      int rc = loom__future_wait_deadline(m->cur.f, m->deadline);
      if (rc == LOOM_ETIMEDOUT) {
        m->timed_out = true;
        cancel_all(m);
        return rc;
      }
      if (rc < 0) return rc; /* the waiting task was cancelled */
      m->cur_ready = true;
    }
    if (m->cur_pos < m->cur.count) return yield_item(m, value);
    loom_future_release(m->cur.f);
    m->cur.f = NULL;
  }
}

const char *loom_map_message(const loom_map *m) { return m ? m->msg : NULL; }

size_t loom_map_index(const loom_map *m) { return m ? m->index : 0; }

int loom_map_take_result(loom_map *m, void **value, loom_destructor *dtor) {
  if (!m || !value) return LOOM_EINVAL;
  if (!m->last) return LOOM_EINVALIDSTATE;
  return loom_future_take_result(m->last, value, dtor);
}
