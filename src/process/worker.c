/* worker.c - the worker side of a process pool, in the child process.
 *
 * A worker reads job messages from its socket, runs each in order and sends
 * the outcome back.  Results are batched: they are flushed when the input is
 * drained, when the buffer grows, before a job once jobs turn out to be
 * slow, and by a flusher thread once the oldest has waited a millisecond -
 * so a stream of trivial jobs costs a few syscalls per batch while a slow
 * job never holds back the results finished before it.  The
 * shared page names the job running now: if the worker dies the parent knows
 * which job to blame, and SIGUSR1 for a job listed in `skip` abandons it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../futures/executor_internal.h"
#include "proc_internal.h"

#define FLUSH_BYTES (256 * 1024) /* well under LOOM__SHBUF_SIZE */
#define SLOW_JOB_NS 50000       /* after a job this slow, flush before the next */
#define MAX_HOLD_NS 200000      /* never hold a finished result longer than this before a job */
#define LOOM__EXIT_CANCELLED 120

typedef struct wstate {
  int sock;
  loom__shared_page *page;
  char *in;
  size_t in_pos, in_len, in_cap;
  char *out;
  size_t out_len;
  int fds[256];
  unsigned fd_head, fd_tail;
  _Atomic int64_t oldest; /* when the oldest unflushed result was made, 0:
                           * none; written under out_lock, read without it */
  int64_t last_ns;        /* the last job's run time */
  int64_t clock;          /* the last clock reading, 0 after a blocking read */
  void *scratch;
  size_t scratch_cap;
} wstate;

static wstate W;

static void die_quietly(void) { _exit(0); }

static bool is_cancelled(uint64_t id) {
  for (int i = 0; i < 16; i++)
    if (atomic_load_explicit(&W.page->skip[i], memory_order_relaxed) == id) return true;
  return false;
}

/* SIGUSR1: the parent cancelled a job; if it is the one running, abandon it
 * by exiting (the parent sees the death and cancels the job's future). */
static void on_cancel(int sig) {
  (void)sig;
  uint64_t id = atomic_load(&W.page->running);
  if (id && is_cancelled(id)) _exit(LOOM__EXIT_CANCELLED);
}

/* Results go to the shared buffer (W.out) and are published message by
 * message (commit), then written to the socket in batches.  A flusher
 * thread sends results that have waited FLUSHER_NS, so a short job's result
 * never waits for the long job its worker started next.  out_lock guards
 * the buffer between the two threads; flush_out is called with it held. */
#define FLUSHER_NS 1000000
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t out_cv = PTHREAD_COND_INITIALIZER;

static void flush_out(void) {
  if (!W.out_len) return;
  if (loom__write_all(W.sock, W.out, W.out_len) < 0) die_quietly();
  /* Empty first, then move the base: a death in between recovers nothing,
   * which is right since everything was sent. */
  atomic_store(&W.page->out_len, 0);
  atomic_fetch_add(&W.page->out_base, W.out_len);
  W.out_len = 0;
  W.oldest = 0;
}

static void out_append(const void *p, size_t n) {
  memcpy(W.out + W.out_len, p, n);
  W.out_len += n;
}

/* Make room for a message of n bytes (n <= the buffer size). */
static void out_room(size_t n) {
  if (W.out_len + n > LOOM__SHBUF_SIZE) flush_out();
}

static void out_commit(void) { atomic_store(&W.page->out_len, W.out_len); }

/* Read more input (blocking); keeps descriptors that came along. */
static void read_more(void) {
  if (W.in_pos) {
    memmove(W.in, W.in + W.in_pos, W.in_len - W.in_pos);
    W.in_len -= W.in_pos;
    W.in_pos = 0;
  }
  if (W.in_cap - W.in_len < 65536) {
    size_t cap = W.in_cap ? W.in_cap * 2 : 262144;
    char *nb = loom__realloc(W.in, cap);
    if (!nb) die_quietly();
    W.in = nb;
    W.in_cap = cap;
  }
  char cbuf[CMSG_SPACE(sizeof(int) * 16)];
  struct iovec iov = {.iov_base = W.in + W.in_len, .iov_len = W.in_cap - W.in_len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                      .msg_controllen = sizeof cbuf};
  ssize_t n;
  do {
    n = recvmsg(W.sock, &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) die_quietly(); /* the parent is gone or closed us: exit */
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      W.fds[W.fd_tail++ % 256] = fd;
    }
  }
  W.in_len += (size_t)n;
}

/* The next complete message, or NULL if more input is needed. */
static const loom__msg *next_msg(void) {
  size_t avail = W.in_len - W.in_pos;
  if (avail < sizeof(loom__msg)) return NULL;
  loom__msg h;
  memcpy(&h, W.in + W.in_pos, sizeof h);
  size_t total = loom__msg_total(&h);
  if (avail < total) {
    if (W.in_cap < total + 65536) {
      char *nb = loom__realloc(W.in, total + 65536);
      if (!nb) die_quietly();
      W.in = nb;
      W.in_cap = total + 65536;
    }
    return NULL;
  }
  return (const loom__msg *)(W.in + W.in_pos);
}

static void send_result_locked(loom__msg *h, const char *text, const void *payload) {
  h->type = LOOM__MSG_RESULT;
  if (h->len >= LOOM__MEMFD_MIN && !(h->flags & LOOM__F_ERROR)) {
    int fd = loom__memfd_from(payload, h->len);
    if (fd >= 0) {
      h->flags |= LOOM__F_MEMFD;
      flush_out();
      if (loom__send_with_fd(W.sock, h, sizeof *h, fd) < 0) die_quietly();
      atomic_fetch_add(&W.page->out_base, sizeof *h);
      close(fd);
      return;
    }
    /* No memfd: fall back to the socket. */
  }
  if (h->name_len > LOOM__TEXT_MAX) h->name_len = LOOM__TEXT_MAX;
  out_room(loom__msg_total(h));
  if (!W.oldest) {
    W.oldest = W.clock ? W.clock : loom_now_ns();
    pthread_cond_signal(&out_cv); /* the flusher starts its countdown */
  }
  out_append(h, sizeof *h);
  if (h->name_len) out_append(text, h->name_len);
  if (!(h->flags & LOOM__F_ERROR) && h->len) out_append(payload, h->len);
  static const char zeros[8];
  size_t used = sizeof *h + h->name_len + ((h->flags & LOOM__F_ERROR) ? 0 : h->len);
  out_append(zeros, loom__msg_total(h) - used);
  out_commit();
  if (W.out_len >= FLUSH_BYTES) flush_out();
}

static void send_result(loom__msg *h, const char *text, const void *payload) {
  pthread_mutex_lock(&out_lock);
  send_result_locked(h, text, payload);
  pthread_mutex_unlock(&out_lock);
}

static void flush_now(void) {
  pthread_mutex_lock(&out_lock);
  flush_out();
  pthread_mutex_unlock(&out_lock);
}

/* The flusher thread: sends results once the oldest has waited FLUSHER_NS. */
static void *flusher(void *arg) {
  (void)arg;
  pthread_mutex_lock(&out_lock);
  for (;;) {
    while (!W.oldest) pthread_cond_wait(&out_cv, &out_lock);
    int64_t due = W.oldest + FLUSHER_NS;
    if (loom_now_ns() >= due) {
      flush_out();
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t wait = due - loom_now_ns();
    ts.tv_nsec += wait % 1000000000;
    ts.tv_sec += wait / 1000000000 + ts.tv_nsec / 1000000000;
    ts.tv_nsec %= 1000000000;
    pthread_cond_timedwait(&out_cv, &out_lock, &ts);
  }
  return NULL;
}

/* Start the flusher with every signal blocked in it: cancel requests
 * (SIGUSR1) and crashes belong to the thread running jobs. */
static void start_flusher(void) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  if (pthread_create(&t, NULL, flusher, NULL) == 0) pthread_detach(t);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  /* Without it results still flush when the input drains. */
}

/* Turn a finished job future into a RESULT message. */
static void report_outcome(loom_future *f, uint64_t id, int64_t ns) {
  loom__msg h = {.id = id, .a = ns};
  const char *text = NULL;
  const void *payload = NULL;
  char buf[160];
  if (f->err) {
    h.flags = LOOM__F_ERROR;
    h.arg = (uint64_t)(int64_t)f->err;
    text = f->msg;
  } else if (f->dtor == loom__free) {
    h.flags = LOOM__F_BYTES;
    h.len = f->size;
    payload = f->value;
  } else if (f->dtor) {
    h.flags = LOOM__F_ERROR;
    h.arg = (uint64_t)(int64_t)LOOM_EINVAL;
    snprintf(buf, sizeof buf, "a result with a destructor cannot cross processes "
                              "(return bytes with loom_future_set_result_bytes)");
    text = buf;
  } else {
    h.arg = (uint64_t)(uintptr_t)f->value;
  }
  h.name_len = text ? (uint32_t)strlen(text) : 0;
  send_result(&h, text, payload);
}

/* A job's bytes argument, aligned and private to the call. */
static void *job_bytes(const loom__msg *h, const char *inline_data, void **map) {
  *map = NULL;
  if (h->flags & LOOM__F_MEMFD) {
    int fd = W.fd_head != W.fd_tail ? W.fds[W.fd_head++ % 256] : -1;
    void *p = fd >= 0 ? loom__memfd_map(fd, h->len) : NULL;
    if (fd >= 0) close(fd);
    *map = p;
    return p;
  }
  if (W.scratch_cap < h->len + 1) {
    loom__free(W.scratch);
    W.scratch_cap = h->len + 1 > 4096 ? h->len + 1 : 4096;
    W.scratch = loom__malloc(W.scratch_cap);
    if (!W.scratch) die_quietly();
  }
  if (h->len) memcpy(W.scratch, inline_data, h->len);
  return W.scratch;
}

static void run_job(const loom__msg *hp) {
  loom__msg h;
  memcpy(&h, hp, sizeof h);
  const char *name = (const char *)hp + sizeof h;
  int64_t now = W.clock ? W.clock : loom_now_ns(); /* the previous job's end will do */
  /* Flush first if jobs are slow or a result has waited; the lock is taken
   * only then (the unlocked reads are atomics, rechecked under the lock). */
  int64_t oldest = atomic_load_explicit(&W.oldest, memory_order_relaxed);
  if (oldest && (W.last_ns >= SLOW_JOB_NS || now - oldest >= MAX_HOLD_NS)) flush_now();
  void *map = NULL;
  void *arg = (h.flags & LOOM__F_BYTES) ? job_bytes(&h, name + h.name_len, &map)
                                        : (void *)(uintptr_t)h.arg;
  if (is_cancelled(h.id)) {
    static const char why[] = "cancelled before it started";
    loom__msg e = {.id = h.id, .flags = LOOM__F_ERROR, .arg = (uint64_t)(int64_t)LOOM_ECANCELLED,
                   .name_len = sizeof why - 1};
    atomic_fetch_add(&W.page->finished, 1);
    send_result(&e, why, NULL);
    if (map) loom__memfd_unmap(map, h.len);
    return;
  }
  loom_fn fn = (loom_fn)loom__fn_decode(name, h.name_len, h.fn_off);
  loom_future *f = NULL;
  if (!fn || ((h.flags & LOOM__F_BYTES) && !arg) || loom_future_create(&f) < 0) {
    loom__msg e = {.id = h.id, .flags = LOOM__F_ERROR, .arg = (uint64_t)(int64_t)LOOM_EINVAL};
    const char *why = !fn ? "the worker cannot find the job's function" : "worker out of memory";
    e.name_len = (uint32_t)strlen(why);
    atomic_fetch_add(&W.page->finished, 1);
    send_result(&e, why, NULL);
    if (map) loom__memfd_unmap(map, h.len);
    return;
  }
  f->fn = fn;
  f->arg = arg;
  f->arg_size = (h.flags & LOOM__F_BYTES) ? h.len : 0;
  loom_future_set_running_or_notify_cancel(f);
  atomic_store(&W.page->running, h.id);
  loom__executor_run_job(f);
  atomic_store(&W.page->running, 0);
  atomic_fetch_add(&W.page->finished, 1);
  W.clock = loom_now_ns();
  W.last_ns = W.clock - now;
  if (map) loom__memfd_unmap(map, h.len);
  report_outcome(f, h.id, W.last_ns);
  loom_future_release(f);
}

static void run_init(const loom__msg *h) {
  const char *name = (const char *)h + sizeof *h;
  bool none = h->flags & LOOM__F_ERROR; /* the pool has no initializer */
  loom_process_init_fn fn =
      none ? NULL : (loom_process_init_fn)loom__fn_decode(name, h->name_len, h->fn_off);
  int rc = none ? 0 : fn ? fn((void *)(uintptr_t)h->arg) : LOOM_EINVAL;
  char text[128];
  loom__msg r = {.type = rc < 0 ? LOOM__MSG_INIT_FAIL : LOOM__MSG_INIT_OK, .a = rc};
  if (rc < 0) {
    snprintf(text, sizeof text, fn ? "initializer returned %d (%s)"
                                   : "the worker cannot find the initializer (%d, %s)",
             rc, loom_err_name(rc));
    r.name_len = (uint32_t)strlen(text);
  }
  static const char zeros[8];
  pthread_mutex_lock(&out_lock);
  out_room(loom__msg_total(&r));
  out_append(&r, sizeof r);
  if (r.name_len) out_append(text, r.name_len);
  out_append(zeros, loom__msg_total(&r) - sizeof r - r.name_len);
  out_commit();
  flush_out();
  pthread_mutex_unlock(&out_lock);
  if (rc < 0) _exit(0); /* the pool is broken: run nothing */
}

void loom__pool_worker_main(int sock, loom__shared_page *page) {
  W.sock = sock;
  W.page = page;
  W.out = (char *)page + LOOM__PAGE_SIZE;
  signal(SIGPIPE, SIG_IGN);
  /* A crash must end the worker with its real signal, so the pool can name
   * it: take back the handlers sanitizers install for these. */
  static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++) signal(fatal[i], SIG_DFL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_cancel;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  start_flusher();
  for (;;) {
    const loom__msg *h = next_msg();
    if (!h) {
      flush_now(); /* input drained: send what is done before blocking */
      read_more();
      W.clock = 0; /* time passed while blocked */
      continue;
    }
    size_t total = loom__msg_total(h);
    switch (h->type) {
    case LOOM__MSG_INIT: run_init(h); break;
    case LOOM__MSG_JOB: run_job(h); break;
    case LOOM__MSG_QUIT: flush_now(); _exit(0);
    default: _exit(3); /* a protocol error: the parent reports the exit */
    }
    W.in_pos += total;
  }
}
