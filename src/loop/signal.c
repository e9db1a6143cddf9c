/* signal.c - signal handlers run as loop callbacks.
 *
 * The process-level handler (sigaction) does only async-signal-safe work: it
 * raises the signal's flag and writes the owning loop's eventfd.  The loop,
 * woken, swaps each of its signals' flags and calls the user callbacks on its
 * own thread, where they may do anything.  A signal belongs to one loop at a
 * time; the table of owners is process-wide and guarded by sig_mu.
 */
#include <pthread.h>
#include <unistd.h>

#include "loop_impl.h"

static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static loom_loop *sig_owner[NSIG];      /* guarded by sig_mu */
static _Atomic int sig_wake_fd[NSIG];   /* owner's eventfd + 1; 0 = none */
static _Atomic bool sig_hit[NSIG];

static void on_signal(int signum) {
  int saved = errno;
  atomic_store(&sig_hit[signum], true);
  int fd1 = atomic_load(&sig_wake_fd[signum]);
  if (fd1) {
    uint64_t one = 1;
    ssize_t rc = write(fd1 - 1, &one, sizeof one);
    (void)rc;
  }
  errno = saved;
}

static bool signum_ok(int signum) {
  return signum > 0 && signum < NSIG && signum != SIGKILL && signum != SIGSTOP;
}

static int install(loom_loop *loop, int signum, loom_signal_fn fn, void *arg) {
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  loom__sig_watch *w = &loop->sigs[signum];
  atomic_store(&sig_hit[signum], false);
  atomic_store(&sig_wake_fd[signum], loop->wake_fd + 1);
  if (loom__sys_fault(EINVAL) || sigaction(signum, &sa, &w->old) < 0) {
    int rc = -errno;
    atomic_store(&sig_wake_fd[signum], 0);
    return rc;
  }
  sig_owner[signum] = loop;
  w->fn = fn;
  w->arg = arg;
  loop->sig_count++;
  return 0;
}

int loom_loop_add_signal_handler(loom_loop *loop, int signum, loom_signal_fn fn, void *arg) {
  if (!loop || !fn || !signum_ok(signum)) return LOOM_EINVAL;
  if (atomic_load(&loop->closed)) return LOOM_ECLOSED;
  if (!loop->sigs) {
    loop->sigs = loom__calloc(NSIG, sizeof *loop->sigs);
    if (!loop->sigs) return LOOM_ENOMEM;
  }
  pthread_mutex_lock(&sig_mu);
  int rc = 0;
  if (sig_owner[signum] == loop) {
    loop->sigs[signum].fn = fn;
    loop->sigs[signum].arg = arg;
  } else if (sig_owner[signum]) {
    rc = LOOM_EBUSY;
  } else {
    rc = install(loop, signum, fn, arg);
  }
  pthread_mutex_unlock(&sig_mu);
  return rc;
}

int loom_loop_remove_signal_handler(loom_loop *loop, int signum) {
  if (!loop || signum <= 0 || signum >= NSIG) return LOOM_EINVAL;
  pthread_mutex_lock(&sig_mu);
  int removed = 0;
  if (sig_owner[signum] == loop) {
    loom__sig_watch *w = &loop->sigs[signum];
    sigaction(signum, &w->old, NULL);
    atomic_store(&sig_wake_fd[signum], 0);
    sig_owner[signum] = NULL;
    w->fn = NULL;
    loop->sig_count--;
    removed = 1;
  }
  pthread_mutex_unlock(&sig_mu);
  return removed;
}

void loom__signals_dispatch(loom_loop *loop) {
  for (int s = 1; s < NSIG && loop->sig_count; s++) {
    loom__sig_watch *w = &loop->sigs[s];
    if (!w->fn || !atomic_load(&sig_hit[s]) || !atomic_exchange(&sig_hit[s], false)) continue;
    if (LOOM__UNLIKELY(loop->slow_ns)) {
      int64_t t0 = loom_now_ns();
      w->fn(s, w->arg);
      loom__loop_check_slow(loop, t0, "a signal handler");
    } else {
      w->fn(s, w->arg);
    }
  }
}

void loom__signals_fini(loom_loop *loop) {
  if (!loop->sigs) return;
  for (int s = 1; s < NSIG && loop->sig_count; s++)
    if (loop->sigs[s].fn) loom_loop_remove_signal_handler(loop, s);
  loom__free(loop->sigs);
  loop->sigs = NULL;
}
