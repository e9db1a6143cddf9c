/* executor_internal.h - what an executor backend implements.
 *
 * A backend allocates a struct that starts with `loom_executor` and fills in
 * `ops`.  The generic layer (executor.c) validates arguments, copies bytes
 * arguments, and dispatches.  map() is generic: built on submit alone.
 */
#ifndef LOOM_FUTURES_EXECUTOR_INTERNAL_H
#define LOOM_FUTURES_EXECUTOR_INTERNAL_H

#include "future_internal.h"

typedef struct loom__executor_ops {
  const char *kind;
  /* Queue a job.  `f` is a fresh pending future whose job slot (fn, arg,
   * arg_size) is filled in; the backend takes the reference it is given (the
   * generic layer keeps its own for the caller).  For bytes jobs `arg` is a
   * loom__malloc'd copy the backend frees when the job is done (or cancelled),
   * via loom__executor_job_done(). Returns 0 or a negative code (then the
   * generic layer fails nothing and drops both references). */
  int (*submit)(loom_executor *ex, loom_future *f);
  int (*shutdown)(loom_executor *ex, bool wait, bool cancel_futures);
  void (*destroy)(loom_executor *ex); /* after shutdown(wait) */
  int (*max_workers)(const loom_executor *ex);
} loom__executor_ops;

struct loom_executor {
  const loom__executor_ops *ops;
};

/* Run a job's callable on `f` (which must be RUNNING) and settle it from the
 * return code: negative -> error (or CANCELLED if a cancel was requested and
 * the job returned LOOM_ECANCELLED), 0 without a result -> NULL result.
 * Frees a bytes argument.  Used by every in-process backend. */
void loom__executor_run_job(loom_future *f);

/* Release a job's private resources (bytes argument) without running it,
 * e.g. after it was cancelled while queued. */
void loom__executor_job_drop(loom_future *f);

#endif
