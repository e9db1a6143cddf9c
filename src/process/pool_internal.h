/* pool_internal.h - the parent side of a process pool, shared by pool.c
 * (the public functions, run by any thread) and manager.c (the one thread
 * that owns the workers: it spawns them, writes their jobs, reads their
 * results, watches their pidfds and replaces the dead).
 *
 * Ownership: `lock` guards the pending queue, the cancel-request list, the
 * flags and the worker pids; everything else in a worker slot (buffers,
 * in-flight list) belongs to the manager thread alone.  Lock order: the pool
 * lock, then a future's lock (taken by loom_future_set_running_or_notify_cancel
 * during dispatch); futures are completed only with the pool lock dropped,
 * since their callbacks may submit again.
 */
#ifndef LOOM_PROCESS_POOL_INTERNAL_H
#define LOOM_PROCESS_POOL_INTERNAL_H

#include <pthread.h>

#include "../futures/executor_internal.h"
#include "proc_internal.h"

/* producer_data bits of a job's future (bit 0 belongs to executor.c). */
#define P_RUNSET  (1u << 1) /* set_running_or_notify_cancel already done */
#define P_SKIP    (1u << 2) /* cancelled while pending: drop at dispatch */
#define P_RETRY_SHIFT 8     /* bits 8..15: retries allowed */
#define P_DEATH_SHIFT 16    /* bits 16..23: workers it was running in that died */
#define P_FIELD(f, s) ((unsigned)(((f)->producer_data >> (s)) & 0xffu))

#define LOOM__SKIP_SLOTS 16

typedef struct pworker {
  loom__child child;       /* pidfd -1: slot empty */
  int sock;                /* -1 once closed */
  loom__shared_page *page;
  bool ready;              /* the worker answered INIT */
  bool eof;                /* its socket reached end of stream */
  bool retiring;           /* QUIT sent (max_tasks_per_child or shutdown) */
  bool want_out;           /* EPOLLOUT armed */
  bool terminated;         /* killed because the pool broke */
  int dispatched;          /* jobs sent over its life */
  int n_inflight;
  uint64_t received;       /* job results received from it */
  loom_future *q_head, *q_tail; /* sent, no outcome yet; FIFO like the worker */
  char *out;
  size_t out_pos, out_len, out_cap;
  struct { size_t at; int fd; } ofd[32]; /* memfds to attach at stream offsets */
  unsigned ofd_head, ofd_tail;
  char *in;
  size_t in_pos, in_len, in_cap;
  uint64_t rx_total;       /* bytes received from it over its life */
  int ifd[64];             /* memfds received, in order */
  unsigned ifd_head, ifd_tail;
  unsigned skip_next;      /* next cancel slot to use on the shared page */
} pworker;

typedef struct ppool {
  loom_executor base;      /* first: a ppool is a loom_executor */
  pthread_mutex_t lock;
  pthread_cond_t done_cv;  /* the manager finished */
  loom_future *p_head, *p_tail; /* pending jobs (job_next links) */
  size_t n_pending;
  loom_future **creq;      /* cancel requests for running jobs (referenced) */
  size_t n_creq, cap_creq;
  /* Flags written under the lock; atomic so the manager may test them
   * without it. */
  _Atomic bool shutdown;
  _Atomic bool terminating; /* terminate/kill_workers: no retry, no restart */
  _Atomic int term_signal;  /* stored before terminating */
  bool finished;           /* manager thread has exited its loop */
  bool joined;
  _Atomic bool broken;
  int broken_code;
  char *broken_msg;
  bool sleeping, wake_sent;
  int efd, ep;
  pthread_t manager;
  int max_workers, max_tasks, max_deaths;
  loom_process_init_fn init;
  void *initarg;
  int boot_failures;       /* consecutive deaths before INIT answered */
  int want_seen;           /* workers spawn_needed last aimed for (manager) */
  int64_t ewma_ns;         /* mean job run time, drives the prefetch depth */
  loom_process_pool_stats stats;
  pworker *w;              /* max_workers slots */
} ppool;

bool loom__ppool_is(const loom_executor *ex);
void *loom__ppool_manager(void *arg);
void loom__ppool_wake_locked(ppool *p);
/* Fail or cancel a job future and drop the pool's reference.  No lock held. */
void loom__ppool_fail(loom_future *f, int code, const char *msg);

/* manager_io.c: the byte streams to and from one worker */
int loom__pw_queue_job(pworker *w, loom_future *f);
int loom__pw_queue_msg(pworker *w, const loom__msg *h, const void *text);
int loom__pw_flush(pworker *w);          /* 0 drained, 1 blocked, <0 broken */
int loom__pw_read(pworker *w);           /* bytes read, 0 EOF, LOOM_EAGAIN, <0 */
const loom__msg *loom__pw_next(pworker *w, size_t *total); /* complete message or NULL */
void loom__pw_consume(pworker *w, size_t total);
int loom__pw_take_fd(pworker *w);
int loom__pw_append(pworker *w, const void *data, size_t len); /* recovered bytes */
void loom__pw_free_buffers(pworker *w);

#endif
