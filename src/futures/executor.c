/* executor.c - the generic executor layer: argument checks, bytes
 * arguments, job execution shared by in-process backends, scoped cleanup. */
#include <string.h>

#include "executor_internal.h"

static int submit_job(loom_executor *ex, loom_fn fn, void *arg, size_t size,
                      bool owned_bytes, loom_future **out) {
  loom_future *f;
  int rc = loom_future_create(&f);
  if (rc < 0) return rc;
  f->fn = fn;
  f->arg = arg;
  f->arg_size = size;
  f->producer = ex;
  f->producer_data = owned_bytes ? 1 : 0; /* bit 0: arg is an owned bytes copy */
  /* One reference for the backend, one for the caller.  Nobody else can
   * see f yet, so a plain store replaces an atomic increment. */
  atomic_store_explicit(&f->refs, 2, memory_order_relaxed);
  rc = ex->ops->submit(ex, f);
  if (rc < 0) {
    f->arg = NULL; /* the caller of submit_job frees its own copy */
    loom_future_release(f);
    loom_future_release(f);
    return rc;
  }
  *out = f;
  return 0;
}

int loom_executor_submit(loom_executor *ex, loom_fn fn, void *arg, loom_future **out) {
  if (out) *out = NULL;
  if (!ex || !fn || !out) return LOOM_EINVAL;
  return submit_job(ex, fn, arg, 0, false, out);
}

int loom_executor_submit_bytes(loom_executor *ex, loom_fn fn, const void *data,
                               size_t len, loom_future **out) {
  if (out) *out = NULL;
  if (!ex || !fn || !out || (!data && len)) return LOOM_EINVAL;
  /* Always a private copy, even for len == 0, so the job sees a valid
   * pointer and the backend can free it uniformly. */
  char *copy = loom__malloc(len ? len : 1);
  if (!copy) return LOOM_ENOMEM;
  if (len) memcpy(copy, data, len);
  int rc = submit_job(ex, fn, copy, len, true, out);
  if (rc < 0) loom__free(copy);
  return rc;
}

void loom__executor_job_drop(loom_future *f) {
  if (f->producer_data & 1) {
    loom__free(f->arg);
    f->arg = NULL;
    f->producer_data &= ~(uintptr_t)1;
  }
}

void loom__executor_run_job(loom_future *f) {
  int rc = f->fn(f, f->arg);
  loom__executor_job_drop(f);
  if (loom_future_done(f)) return; /* the job settled it itself */
  if (rc >= 0) {
    loom_future_set_result(f, NULL, NULL);
  } else if (rc == LOOM_ECANCELLED && loom_future_cancel_requested(f)) {
    loom__future_set_cancelled(f, NULL);
  } else {
    loom_future_set_error(f, rc, NULL);
  }
}

int loom_executor_shutdown(loom_executor *ex, bool wait, bool cancel_futures) {
  if (!ex) return LOOM_EINVAL;
  return ex->ops->shutdown(ex, wait, cancel_futures);
}

void loom_executor_destroy(loom_executor *ex) {
  if (!ex) return;
  ex->ops->shutdown(ex, true, false);
  ex->ops->destroy(ex);
}

const char *loom_executor_kind(const loom_executor *ex) {
  return ex ? ex->ops->kind : "none";
}

int loom_executor_max_workers(const loom_executor *ex) {
  if (!ex) return LOOM_EINVAL;
  return ex->ops->max_workers(ex);
}

void loom_executor__scope_cleanup(loom_executor **ex) {
  if (ex && *ex) {
    loom_executor_destroy(*ex);
    *ex = NULL;
  }
}
