/* map.c - chunked map over a process pool (multiprocessing's map/imap/
 * imap_unordered with chunksize).  Each chunk is one job: the internal
 * function loom__chunk_job runs the user's function on every argument of the
 * chunk inside the worker and packs the outcomes into one bytes result, so a
 * chunk of 100 trivial calls costs one round trip instead of 100.
 *
 * Chunk argument:  [u64 fn_off][u64 count][u32 name_len][u32 pad]
 *                  [u64 args[count]][name bytes]
 * Chunk result:    count records, each 8-aligned:
 *                  [i32 err][u32 kind: 0 value, 1 bytes][u64 value or len]
 *                  [u32 text_len][u32 pad][text][bytes]
 */
#include <string.h>

#include "../futures/executor_internal.h"
#include "proc_internal.h"

typedef struct chunk_head {
  uint64_t fn_off, count;
  uint32_t name_len, pad;
} chunk_head;

typedef struct item_head {
  int32_t err;
  uint32_t kind;
  uint64_t value;
  uint32_t text_len, pad;
} item_head;

#define ALIGN8(n) (((n) + 7) & ~(size_t)7)

typedef struct obuf {
  char *p;
  size_t len, cap;
  bool oom;
} obuf;

static void ob_put(obuf *b, const void *d, size_t n) {
  size_t need = ALIGN8(b->len + n);
  if (need > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < need) cap *= 2;
    char *np = loom__realloc(b->p, cap);
    if (!np) {
      b->oom = true;
      return;
    }
    b->p = np;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, d, n);
  memset(b->p + b->len + n, 0, need - b->len - n);
  b->len = need;
}

static void no_free(loom_future *f) { (void)f; }
static const loom__future_ops stack_ops = {.free = no_free};

/* One call of the user's function, its outcome appended to b.  The future
 * lives on the stack: a chunk of trivial calls should not cost a malloc each. */
static void run_one(loom_fn fn, uint64_t arg, obuf *b) {
  loom_future fs, *f = &fs;
  item_head ih = {0};
  loom__future_init(f, &stack_ops);
  f->fn = fn;
  f->arg = (void *)(uintptr_t)arg;
  /* No set_running: nobody else sees this future, and finishing works from
   * PENDING - one lock round trip less per item. */
  loom__executor_run_job(f);
  const char *text = NULL;
  const void *bytes = NULL;
  if (f->err) {
    ih.err = f->err;
    text = f->msg;
  } else if (f->dtor == loom__free) {
    ih.kind = 1;
    ih.value = f->size;
    bytes = f->value;
  } else if (f->dtor) {
    ih.err = LOOM_EINVAL;
    text = "a result with a destructor cannot cross processes";
  } else {
    ih.value = (uint64_t)(uintptr_t)f->value;
  }
  ih.text_len = text ? (uint32_t)strnlen(text, LOOM__TEXT_MAX) : 0;
  ob_put(b, &ih, sizeof ih);
  if (ih.text_len) ob_put(b, text, ih.text_len);
  if (bytes) ob_put(b, bytes, ih.value);
  loom_future_release(f);
}

/* Runs in the worker: the chunk job. */
int loom__chunk_job(loom_future *self, void *arg);
int loom__chunk_job(loom_future *self, void *arg) {
  size_t size = loom_future_arg_size(self);
  chunk_head ch;
  if (size < sizeof ch) return LOOM_EINVAL;
  memcpy(&ch, arg, sizeof ch);
  if (size < sizeof ch + ch.count * 8 + ch.name_len) return LOOM_EINVAL;
  const char *args = (const char *)arg + sizeof ch;
  const char *name = args + ch.count * 8;
  loom_fn fn = (loom_fn)loom__fn_decode(name, ch.name_len, ch.fn_off);
  if (!fn) return loom_future_set_error(self, LOOM_EINVAL, "the worker cannot find the function");
  obuf b = {0};
  for (uint64_t i = 0; i < ch.count; i++) {
    uint64_t a;
    memcpy(&a, args + i * 8, 8);
    run_one(fn, a, &b);
  }
  int rc = b.oom ? LOOM_ENOMEM : loom_future_set_result_bytes(self, b.p, b.len);
  loom__free(b.p);
  return rc;
}

/* ---- the parent side -------------------------------------------------------- */

struct loom_process_map {
  size_t n, chunksize, n_chunks;
  loom_future **chunks;
  int64_t deadline;
  size_t next;                /* imap: next item index */
  loom_as_completed *ac;      /* imap_unordered */
  loom_future *cur;           /* unordered: the chunk being handed out */
  size_t cur_chunk, cur_item;
  size_t cur_off;             /* byte offset of the next record in cur */
  loom_future *hold;          /* a used-up chunk, released at the next call
                               * (the item handed out points into it) */
};

static int submit_chunk(loom_executor *ex, loom_fn fn, void *const *args, size_t count,
                        loom_future **out) {
  const char *name;
  chunk_head ch = {.count = count};
  int rc = loom__fn_encode((const void *)fn, &name, &ch.fn_off);
  if (rc < 0) return rc;
  ch.name_len = (uint32_t)strlen(name);
  size_t size = sizeof ch + count * 8 + ch.name_len;
  char *buf = loom__malloc(size);
  if (!buf) return LOOM_ENOMEM;
  memcpy(buf, &ch, sizeof ch);
  for (size_t i = 0; i < count; i++) {
    uint64_t a = (uint64_t)(uintptr_t)args[i];
    memcpy(buf + sizeof ch + i * 8, &a, 8);
  }
  memcpy(buf + sizeof ch + count * 8, name, ch.name_len);
  rc = loom_executor_submit_bytes(ex, loom__chunk_job, buf, size, out);
  loom__free(buf);
  return rc;
}

void loom_process_map_destroy(loom_process_map *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_chunks; i++) {
    if (!m->chunks[i]) continue;
    loom_future_cancel(m->chunks[i]);
    loom_future_release(m->chunks[i]);
  }
  loom_as_completed_destroy(m->ac);
  loom_future_release(m->hold);
  loom__free(m->chunks);
  loom__free(m);
  loom__live_dec(LOOM_LIVE_OTHER);
}

int loom_process_pool_map(loom_executor *ex, loom_fn fn, void *const *args, size_t n,
                          size_t chunksize, double timeout, loom_process_map **out) {
  if (out) *out = NULL;
  if (!ex || !fn || !out || (n && !args)) return LOOM_EINVAL;
  if (chunksize == 0) { /* multiprocessing's default: about 4 chunks per worker */
    size_t w = (size_t)loom_executor_max_workers(ex);
    chunksize = (n + w * 4 - 1) / (w * 4);
    if (chunksize == 0) chunksize = 1;
  }
  loom_process_map *m = loom__calloc(1, sizeof *m);
  if (!m) return LOOM_ENOMEM;
  loom__live_inc(LOOM_LIVE_OTHER);
  m->n = n;
  m->chunksize = chunksize;
  m->n_chunks = (n + chunksize - 1) / chunksize;
  m->deadline = loom_deadline(timeout);
  m->chunks = loom__calloc(m->n_chunks ? m->n_chunks : 1, sizeof *m->chunks);
  if (!m->chunks) {
    loom_process_map_destroy(m);
    return LOOM_ENOMEM;
  }
  for (size_t c = 0; c < m->n_chunks; c++) {
    size_t first = c * chunksize, count = n - first < chunksize ? n - first : chunksize;
    int rc = submit_chunk(ex, fn, args + first, count, &m->chunks[c]);
    if (rc < 0) {
      loom_process_map_destroy(m);
      return rc;
    }
  }
  *out = m;
  return 0;
}

static double remaining(const loom_process_map *m) {
  if (m->deadline == INT64_MAX) return LOOM_FOREVER;
  int64_t left = m->deadline - loom_now_ns();
  return left > 0 ? (double)left / 1e9 : 0;
}

/* Decode the record at *off of a finished chunk into item. */
static void decode_item(const char *data, size_t len, size_t *off, loom_process_item *item) {
  item_head ih;
  memset(item, 0, sizeof *item);
  if (*off + sizeof ih > len) {
    item->err = LOOM_EBROKEN;
    return;
  }
  memcpy(&ih, data + *off, sizeof ih);
  *off += sizeof ih;
  item->err = ih.err;
  if (ih.text_len) {
    item->msg = data + *off;
    *off += ALIGN8(ih.text_len);
  }
  if (ih.err) return;
  if (ih.kind == 1) {
    item->is_bytes = true;
    item->data = data + *off;
    item->len = (size_t)ih.value;
    *off += ALIGN8((size_t)ih.value);
  } else {
    item->value = (void *)(uintptr_t)ih.value;
  }
}

/* Item k of chunk c (a finished future): the whole chunk failed, or decode. */
static void chunk_item(loom_future *f, size_t k, size_t *off, loom_process_item *item) {
  int code = 0;
  const char *msg = NULL;
  loom_future_exception(f, &code, &msg); /* done: no waiting, no clock */
  if (code) {
    memset(item, 0, sizeof *item);
    item->err = code;
    item->msg = msg;
    return;
  }
  if (k == 0) *off = 0;
  /* A finished chunk's bytes result (f is done: its fields are published). */
  decode_item(f->value, f->size, off, item);
}

int loom_process_map_next(loom_process_map *m, loom_process_item *item) {
  if (!m || !item) return LOOM_EINVAL;
  loom_future_release(m->hold);
  m->hold = NULL;
  if (m->next >= m->n) return LOOM_ESTOP;
  size_t c = m->next / m->chunksize, k = m->next % m->chunksize;
  if (!loom_future_done(m->chunks[c])) { /* read the clock only to wait */
    int rc = loom_future_wait(m->chunks[c], remaining(m));
    if (rc < 0) return rc;
  }
  if (k == 0) m->cur_off = 0;
  chunk_item(m->chunks[c], k, &m->cur_off, item);
  item->index = m->next++;
  if (k + 1 == m->chunksize || m->next == m->n) { /* the chunk is used up */
    m->hold = m->chunks[c];
    m->chunks[c] = NULL;
  }
  return 0;
}

int loom_process_map_next_unordered(loom_process_map *m, loom_process_item *item) {
  if (!m || !item) return LOOM_EINVAL;
  if (!m->ac) {
    int rc = loom_as_completed_create(m->chunks, m->n_chunks, remaining(m), &m->ac);
    if (rc < 0) return rc;
  }
  if (!m->cur) {
    loom_future *f;
    int rc = loom_as_completed_next(m->ac, &f);
    if (rc < 0) return rc;
    for (size_t c = 0; c < m->n_chunks; c++)
      if (m->chunks[c] == f) m->cur_chunk = c;
    m->cur = f;
    m->cur_item = 0;
    m->cur_off = 0;
  }
  size_t first = m->cur_chunk * m->chunksize;
  size_t count = m->n - first < m->chunksize ? m->n - first : m->chunksize;
  chunk_item(m->cur, m->cur_item, &m->cur_off, item);
  item->index = first + m->cur_item++;
  if (m->cur_item == count) m->cur = NULL;
  return 0;
}
