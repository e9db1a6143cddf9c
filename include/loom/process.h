/* loom/process.h - the process pool executor and multiprocessing.
 *
 * Process pool: a loom_executor whose jobs run in worker processes of the
 * same binary (Python's ProcessPoolExecutor).  Workers are never forked from
 * the (threaded) parent: each is a fresh exec of /proc/self/exe that a library
 * constructor turns into a worker before main() runs.  So:
 *   - the job function must be in the binary or a library it loaded at start
 *     (it crosses as module + offset, resolved after ASLR in the worker);
 *   - main() never runs in a worker: state set up in main is not there (use
 *     the initializer); constructors do run;
 *   - a pointer argument crosses as a plain integer, bytes arguments
 *     (loom_executor_submit_bytes) and bytes results
 *     (loom_future_set_result_bytes) cross as bytes, through shared memory
 *     from 64 KiB up; a result with a destructor cannot cross: the future
 *     fails with LOOM_EINVAL.
 * A worker that dies while running a job (signal, exit) fails only that job,
 * with LOOM_EBROKEN and a message naming the signal or status; the worker is
 * replaced and every other job goes on.  See docs/processes.md.
 *
 * multiprocessing: loom_process (a function in a child process),
 * loom_mpqueue (a queue of byte messages shared by processes), loom_mppipe,
 * and the map/imap/imap_unordered/apply_async helpers on a process pool.
 */
#ifndef LOOM_PROCESS_H
#define LOOM_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "executor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the process pool -------------------------------------------------- */

/* Runs once in each new worker before its first job.  `arg` crosses as an
 * integer.  Return 0, or a negative code: the pool is then broken (every
 * pending or running job fails with LOOM_EBROKEN at once, the workers are
 * killed and none is restarted, as Python's BrokenProcessPool). */
typedef int (*loom_process_init_fn)(void *arg);

typedef struct loom_process_pool_options {
  int max_workers;            /* 0: one per CPU (loom_cpu_count()) */
  int max_tasks_per_child;    /* 0: unlimited; else a worker is replaced after so many jobs */
  loom_process_init_fn initializer; /* NULL: none */
  void *initarg;              /* crosses as an integer */
  int max_task_deaths;        /* a job that killed this many workers is stopped; 0: 3 */
} loom_process_pool_options;

/* Create a process pool (workers start on demand).  opts may be NULL.
 * *out gets the executor; free it with loom_executor_destroy().
 * Returns 0, LOOM_EINVAL (out NULL, negative sizes), LOOM_ENOMEM, or -errno
 * from the manager thread or its descriptors. */
int loom_process_pool_create(loom_executor **out, const loom_process_pool_options *opts);

/* Per-job options for loom_process_pool_submit_opts. */
typedef struct loom_process_task_options {
  int retries; /* idempotent job: re-run up to this many times after a worker
                * death (0: at most once, the default) */
} loom_process_task_options;

/* submit / submit_bytes with options.  data == NULL: `arg` is a pointer
 * argument (crosses as an integer), else `len` bytes of data are copied.
 * Returns as loom_executor_submit, plus LOOM_EINVAL if ex is not a process
 * pool. *out gets a reference the caller releases. */
int loom_process_pool_submit_opts(loom_executor *ex, loom_fn fn, void *arg,
                                  const void *data, size_t len,
                                  const loom_process_task_options *topts,
                                  loom_future **out);

/* Python 3.14's terminate_workers / kill_workers: shut the pool down
 * (pending jobs are cancelled), send SIGTERM / SIGKILL to every worker, and
 * wait until all are reaped.  Jobs that were running fail with LOOM_EBROKEN.
 * Returns 0, LOOM_EINVAL (not a process pool), LOOM_EDEADLOCK (called from
 * the pool's manager thread, i.e. from a done callback of its futures). */
int loom_process_pool_terminate_workers(loom_executor *ex);
int loom_process_pool_kill_workers(loom_executor *ex);

/* Process ids of the live workers: up to `cap` written to pids.
 * Returns the number of live workers (may exceed cap), or LOOM_EINVAL. */
int loom_process_pool_pids(loom_executor *ex, pid_t *pids, int cap);

/* Statistics, for tests and tuning. */
typedef struct loom_process_pool_stats {
  unsigned long spawned;   /* workers started */
  unsigned long deaths;    /* workers that died unexpectedly */
  unsigned long retried;   /* jobs re-run after a death */
  unsigned long completed; /* jobs that came back with an outcome */
} loom_process_pool_stats;
int loom_process_pool_stats_get(loom_executor *ex, loom_process_pool_stats *out);

/* Number of CPUs usable by this process (at least 1). */
int loom_cpu_count(void);

/* ---- chunked map ------------------------------------------------------- */

/* One item of a map: error code (0 on success) and message (or NULL), an
 * integer/pointer result `value`, or a bytes result (is_bytes, data, len).
 * Everything is owned by the map and valid until the next call on it. */
typedef struct loom_process_item {
  size_t index;        /* position in the input */
  int err;
  const char *msg;
  void *value;
  bool is_bytes;
  const void *data;
  size_t len;
} loom_process_item;

typedef struct loom_process_map loom_process_map;

/* Run fn on each of n pointer arguments (crossing as integers) in chunks of
 * `chunksize` (0: like multiprocessing, about n / (4 * workers)): one job per
 * chunk.  The map holds the futures; `timeout` (seconds, LOOM_FOREVER)
 * bounds the whole map from now.  *out is freed with loom_process_map_destroy.
 * Returns 0, LOOM_EINVAL, LOOM_ENOMEM, LOOM_ESHUTDOWN, LOOM_EBROKEN. */
int loom_process_pool_map(loom_executor *ex, loom_fn fn, void *const *args, size_t n,
                          size_t chunksize, double timeout, loom_process_map **out);

/* Next item in input order (imap).  Returns 0 (the item's own outcome is in
 * item->err), LOOM_ESTOP after the last one, LOOM_ETIMEDOUT when the map's
 * timeout passed (the map can still be destroyed), LOOM_ECANCELLED if the
 * waiting task was cancelled. */
int loom_process_map_next(loom_process_map *m, loom_process_item *item);

/* Next item in completion order (imap_unordered: a whole chunk at a time,
 * each item once).  Same returns.  Do not mix with loom_process_map_next. */
int loom_process_map_next_unordered(loom_process_map *m, loom_process_item *item);

/* Cancel what has not started and free the map.  NULL is ignored. */
void loom_process_map_destroy(loom_process_map *m);

/* ---- name registry ----------------------------------------------------- */

/* Register fn under a name (for backends that cannot use addresses, and for
 * diagnostics).  Register from a constructor (LOOM_PROCESS_REGISTER) so the
 * name exists in workers too.  Returns 0, LOOM_EINVAL, LOOM_EEXIST,
 * LOOM_ENOMEM. */
int loom_process_register(const char *name, loom_fn fn);
/* Look up a registered name.  Returns the function or NULL. */
loom_fn loom_process_lookup(const char *name);
#define LOOM_PROCESS_REGISTER(fn)                                              \
  __attribute__((constructor(200))) static void loom__reg_##fn(void) {         \
    loom_process_register(#fn, fn);                                            \
  }

/* ---- multiprocessing.Process ------------------------------------------- */

typedef struct loom_process loom_process;
typedef struct loom_mpqueue loom_mpqueue;

/* The function a child runs: its return value (0..255) is the exit code.
 * `arg` is a private copy of the bytes given to loom_process_start. */
typedef int (*loom_process_fn)(const void *arg, size_t len);

/* Start fn(arg bytes) in a new child process (exec of the same binary, see
 * above).  `share` lists queues the child may use (loom_mpqueue_shared() in
 * the child gets them by index), n_share of them.
 * *out is freed with loom_process_destroy (which kills and reaps a child still
 * running).  Returns 0, LOOM_EINVAL, LOOM_ENOMEM, -errno from spawning. */
int loom_process_start(loom_process **out, loom_process_fn fn, const void *arg,
                       size_t len, loom_mpqueue *const *share, size_t n_share);

/* Wait for the child to end (and reap it), at most `timeout` seconds
 * (LOOM_FOREVER: no limit).  Blocks the calling thread.  Any thread may
 * call it.  Returns 0 (it has ended), LOOM_ETIMEDOUT, LOOM_EINVAL, -errno. */
int loom_process_join(loom_process *p, double timeout);
/* True while the child runs (false for NULL).  Never blocks. */
bool loom_process_is_alive(loom_process *p);
/* The child's pid (-1 for NULL). */
pid_t loom_process_pid(const loom_process *p);
/* Python's exitcode, in *code: the exit status, or -signal if a signal
 * killed it.  Never blocks.  Returns 0, LOOM_EAGAIN (still running: *code
 * untouched), LOOM_EINVAL. */
int loom_process_exitcode(loom_process *p, int *code);
/* Send SIGTERM / SIGKILL.  Returns 0 (also if it already ended),
 * LOOM_EINVAL, -errno. */
int loom_process_terminate(loom_process *p);
int loom_process_kill(loom_process *p);
/* Kill (if alive), reap and free.  NULL is ignored. */
void loom_process_destroy(loom_process *p);

/* ---- cross-process queue of byte messages ------------------------------- */

/* A queue of byte messages (each up to LOOM_MPQUEUE_MAX bytes) that several
 * processes put to and get from, each message received exactly once.
 * Free with loom_mpqueue_destroy.  Returns 0, LOOM_EINVAL, LOOM_ENOMEM, -errno. */
#define LOOM_MPQUEUE_MAX (60 * 1024)
int loom_mpqueue_create(loom_mpqueue **out);

/* Put one message (a copy; the caller keeps data); blocks while the queue
 * is full, at most `timeout` seconds (LOOM_FOREVER: no limit).  Blocks the
 * calling thread (a task should run it through run_in_executor).
 * Returns 0, or
 *   LOOM_EINVAL     q NULL, data NULL with len > 0, len > LOOM_MPQUEUE_MAX
 *   LOOM_ETIMEDOUT  still full at the deadline (nothing was put)
 *   LOOM_ECLOSED    this process closed its writing side (or holds none: the
 *                   receiving end of a one-way pipe), or every reader is gone
 *   -errno          another socket error */
int loom_mpqueue_put(loom_mpqueue *q, const void *data, size_t len, double timeout);

/* Get one message into buf (capacity cap); *len gets its size.  Blocks the
 * calling thread while the queue is empty, at most `timeout` seconds.
 * Returns 0, or
 *   LOOM_EINVAL     q or len NULL, buf NULL with cap > 0
 *   LOOM_ETIMEDOUT  nothing arrived by the deadline
 *   LOOM_ESTOP      end of stream: every process that could write has closed
 *                   its writing side (or exited) and the queue is empty
 *   LOOM_EOVERFLOW  cap too small: *len is the message's size, the message
 *                   is consumed (its first cap bytes are in buf)
 *   LOOM_ECLOSED    this end cannot receive (the sending end of a one-way pipe)
 *   -errno          another socket error */
int loom_mpqueue_get(loom_mpqueue *q, void *buf, size_t cap, size_t *len, double timeout);

/* Close this process's writing side (its producers are done).  Readers see
 * end of stream once every process has closed it.  Idempotent. */
void loom_mpqueue_close_writer(loom_mpqueue *q);

/* In a child started by loom_process_start: the index-th shared queue.
 * Returns it (owned by the library, valid until the child ends) or NULL. */
loom_mpqueue *loom_mpqueue_shared(size_t index);

/* Free the queue (this process's ends). NULL is ignored. */
void loom_mpqueue_destroy(loom_mpqueue *q);

/* Python's multiprocessing.Pipe: two connected ends, each a loom_mpqueue
 * (put, get, close_writer, destroy; shared with children like a queue).
 * duplex: what is put on one end is got from the other, both ways; else *a
 * only gets and *b only puts.  close_writer on a duplex end shuts its
 * sending direction down for every process holding that end (the reading
 * direction stays open).  Returns 0, LOOM_EINVAL, LOOM_ENOMEM, -errno. */
int loom_mppipe_create(loom_mpqueue **a, loom_mpqueue **b, bool duplex);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_PROCESS_H */
