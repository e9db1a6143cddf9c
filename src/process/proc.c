/* proc.c - multiprocessing.Process: run fn(arg bytes) in a child process.
 *
 * The child is an exec of the same binary (see spawn.c), never a fork.  The
 * function crosses as (module, offset); its argument and the function's
 * module name travel in a memfd; queues listed at start are passed as their
 * descriptors (same numbers in the child) and re-created there, found with
 * loom_mpqueue_shared(i).  The child's exit code is fn's return value.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proc_internal.h"

loom_mpqueue *loom__mpqueue_adopt(int wfd, int rfd);
void loom__mpqueue_fds(const loom_mpqueue *q, int *wfd, int *rfd);

#define MAX_SHARE 16

struct loom_process {
  pthread_mutex_t lock;
  loom__child child; /* pidfd -1 once reaped */
  int exitcode;
  bool reaped;
};

/* ---- child side ------------------------------------------------------------- */

static loom_mpqueue *child_queues[MAX_SHARE];
static size_t child_nq;

loom_mpqueue *loom_mpqueue_shared(size_t index) {
  return index < child_nq ? child_queues[index] : NULL;
}

void loom__proc_child_main(const char *spec) {
  int argfd, n_read = 0;
  unsigned long long off;
  unsigned name_len;
  size_t len;
  if (sscanf(spec, "%d:%llu:%u:%zu:%n", &argfd, &off, &name_len, &len, &n_read) < 4) _exit(5);
  for (const char *s = spec + n_read; *s && child_nq < MAX_SHARE;) {
    int w, r, k = 0;
    if (sscanf(s, "%d,%d;%n", &w, &r, &k) < 2 || !k) break;
    child_queues[child_nq++] = loom__mpqueue_adopt(w, r);
    if (w >= 0) fcntl(w, F_SETFD, FD_CLOEXEC);
    if (r >= 0) fcntl(r, F_SETFD, FD_CLOEXEC);
    s += k;
  }
  size_t total = name_len + len;
  char *m = total ? mmap(NULL, total, PROT_READ, MAP_PRIVATE, argfd, 0) : NULL;
  if (m == MAP_FAILED) _exit(5);
  close(argfd);
  loom_process_fn fn = (loom_process_fn)loom__fn_decode(m, name_len, off);
  if (!fn) _exit(5);
  /* A crash ends the child with its real signal (exit code -signal), even
   * under sanitizers, which would otherwise turn it into exit status 1. */
  static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++) signal(fatal[i], SIG_DFL);
  int rc = fn(m ? m + name_len : "", len);
  fflush(NULL);
  _exit(rc & 0xff);
}

/* ---- parent side ------------------------------------------------------------ */

static int write_arg(loom_process_fn fn, const void *arg, size_t len, char *spec, size_t cap,
                     int *argfd) {
  const char *name;
  uint64_t off;
  int rc = loom__fn_encode((const void *)fn, &name, &off);
  if (rc < 0) return rc;
  size_t nl = strlen(name);
  char *buf = loom__malloc(nl + len + 1);
  if (!buf) return LOOM_ENOMEM;
  memcpy(buf, name, nl);
  if (len) memcpy(buf + nl, arg, len);
  *argfd = loom__memfd_from(buf, nl + len);
  loom__free(buf);
  if (*argfd < 0) return *argfd;
  snprintf(spec, cap, LOOM__ENV "=proc:%d:%llu:%zu:%zu:", *argfd, (unsigned long long)off, nl,
           len);
  return 0;
}

int loom_process_start(loom_process **out, loom_process_fn fn, const void *arg, size_t len,
                       loom_mpqueue *const *share, size_t n_share) {
  if (out) *out = NULL;
  if (!out || !fn || (!arg && len) || n_share > MAX_SHARE || (n_share && !share)) return LOOM_EINVAL;
  char spec[512];
  int argfd = -1, keep[1 + 2 * MAX_SHARE], n_keep = 0;
  int rc = write_arg(fn, arg, len, spec, sizeof spec, &argfd);
  if (rc < 0) return rc;
  keep[n_keep++] = argfd;
  for (size_t i = 0; i < n_share; i++) {
    int w, r;
    loom__mpqueue_fds(share[i], &w, &r);
    size_t used = strlen(spec);
    snprintf(spec + used, sizeof spec - used, "%d,%d;", w, r);
    if (w >= 0) keep[n_keep++] = w;
    if (r >= 0) keep[n_keep++] = r;
  }
  loom_process *p = loom__calloc(1, sizeof *p);
  if (!p) {
    close(argfd);
    return LOOM_ENOMEM;
  }
  rc = loom__spawn(spec, keep, n_keep, &p->child);
  close(argfd);
  if (rc < 0) {
    loom__free(p);
    return rc;
  }
  pthread_mutex_init(&p->lock, NULL);
  loom__live_inc(LOOM_LIVE_OTHER);
  *out = p;
  return 0;
}

/* Reap if it has ended (or wait for it with block).  Lock held. */
static int try_reap_locked(loom_process *p, int64_t deadline) {
  if (p->reaped) return 0;
  for (;;) {
    int ms = -1;
    if (deadline != INT64_MAX) {
      int64_t left = deadline - loom_now_ns();
      ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
    }
    struct pollfd pf = {.fd = p->child.pidfd, .events = POLLIN};
    int n = poll(&pf, 1, ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ms == 0 || n == 0 ? LOOM_ETIMEDOUT : -errno;
    if (loom__reap_prepare(&p->child, false) == LOOM_EAGAIN) continue;
    int rc = loom__reap(&p->child, &p->exitcode, true);
    if (rc < 0) return rc;
    p->reaped = true;
    return 0;
  }
}

int loom_process_join(loom_process *p, double timeout) {
  if (!p) return LOOM_EINVAL;
  pthread_mutex_lock(&p->lock);
  int rc = try_reap_locked(p, loom_deadline(timeout));
  pthread_mutex_unlock(&p->lock);
  return rc;
}

bool loom_process_is_alive(loom_process *p) {
  if (!p) return false;
  pthread_mutex_lock(&p->lock);
  bool alive = try_reap_locked(p, 0) == LOOM_ETIMEDOUT;
  pthread_mutex_unlock(&p->lock);
  return alive;
}

pid_t loom_process_pid(const loom_process *p) { return p ? p->child.pid : -1; }

int loom_process_exitcode(loom_process *p, int *code) {
  if (!p || !code) return LOOM_EINVAL;
  pthread_mutex_lock(&p->lock);
  int rc = try_reap_locked(p, 0);
  if (rc == 0) *code = p->exitcode;
  pthread_mutex_unlock(&p->lock);
  return rc == 0 ? 0 : LOOM_EAGAIN;
}

static int send_sig(loom_process *p, int sig) {
  if (!p) return LOOM_EINVAL;
  pthread_mutex_lock(&p->lock);
  int rc = p->reaped ? 0 : loom__child_signal(&p->child, sig);
  pthread_mutex_unlock(&p->lock);
  return rc == LOOM_ESRCH ? 0 : rc;
}

int loom_process_terminate(loom_process *p) { return send_sig(p, SIGTERM); }
int loom_process_kill(loom_process *p) { return send_sig(p, SIGKILL); }

void loom_process_destroy(loom_process *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  if (!p->reaped) {
    loom__child_signal(&p->child, SIGKILL);
    try_reap_locked(p, INT64_MAX);
  }
  pthread_mutex_unlock(&p->lock);
  pthread_mutex_destroy(&p->lock);
  loom__free(p);
  loom__live_dec(LOOM_LIVE_OTHER);
}
