/* signal.c - signal handlers run as loop callbacks, and the per-loop table
 * that handlers and awaitable watches (sigwatch.c) share.
 *
 * The process-level handler (sigaction) does only async-signal-safe work: it
 * raises the signal's flag and writes the owning loop's eventfd.  The loop,
 * woken, swaps each of its signals' flags and, on its own thread, calls the
 * user callback and then notifies the watches, so both see every batch.
 * A signal belongs to one loop at a time (signals are process-wide: which
 * thread the kernel interrupts says nothing about which loop wants them); it
 * stays installed while that loop has a handler or at least one watch on it.
 * The table of owners is process-wide and guarded by sig_mu.
 */
#include <pthread.h>
#include <unistd.h>

#include "loop_impl.h"

static pthread_mutex_t sig_mu = PTHREAD_MUTEX_INITIALIZER;
static loom_loop *sig_owner[NSIG];      /* guarded by sig_mu */
static _Atomic int sig_wake_fd[NSIG];   /* owner's eventfd + 1; 0 = none */
static _Atomic bool sig_hit[NSIG];

void loom__sig_lock(void) { pthread_mutex_lock(&sig_mu); }
void loom__sig_unlock(void) { pthread_mutex_unlock(&sig_mu); }

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

static int sigs_alloc(loom_loop *loop) {
  if (!loop->sigs) loop->sigs = loom__calloc(NSIG, sizeof *loop->sigs);
  return loop->sigs ? 0 : LOOM_ENOMEM;
}

/* Install the process handler for loop (sig_mu held, signal unowned). */
static int install(loom_loop *loop, int signum) {
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
  loop->sig_count++;
  return 0;
}

/* Uninstall once neither a handler nor a watch uses it (sig_mu held). */
static void maybe_uninstall(loom_loop *loop, int signum) {
  loom__sig_watch *w = &loop->sigs[signum];
  if (w->fn || w->watches || sig_owner[signum] != loop) return;
  sigaction(signum, &w->old, NULL);
  atomic_store(&sig_wake_fd[signum], 0);
  sig_owner[signum] = NULL;
  loop->sig_count--;
}

/* Make loop the owner of signum (sig_mu held).  `closed` is set before
 * loom__signals_fini takes sig_mu, so checking it here means a registration
 * racing with close is either cleaned up by fini or refused. */
static int own(loom_loop *loop, int signum) {
  if (atomic_load(&loop->closed)) return LOOM_ECLOSED;
  if (sig_owner[signum] == loop) return 0;
  if (sig_owner[signum]) return LOOM_EBUSY;
  int rc = sigs_alloc(loop);
  return rc ? rc : install(loop, signum);
}

int loom_loop_add_signal_handler(loom_loop *loop, int signum, loom_signal_fn fn, void *arg) {
  if (!loop || !fn || !signum_ok(signum)) return LOOM_EINVAL;
  if (atomic_load(&loop->closed)) return LOOM_ECLOSED;
  pthread_mutex_lock(&sig_mu);
  int rc = own(loop, signum);
  if (rc == 0) {
    loop->sigs[signum].fn = fn;
    loop->sigs[signum].arg = arg;
  }
  pthread_mutex_unlock(&sig_mu);
  return rc;
}

int loom_loop_remove_signal_handler(loom_loop *loop, int signum) {
  if (!loop || signum <= 0 || signum >= NSIG) return LOOM_EINVAL;
  pthread_mutex_lock(&sig_mu);
  int removed = 0;
  if (sig_owner[signum] == loop && loop->sigs[signum].fn) {
    loop->sigs[signum].fn = NULL;
    maybe_uninstall(loop, signum);
    removed = 1;
  }
  pthread_mutex_unlock(&sig_mu);
  return removed;
}

int loom__sig_acquire(loom_loop *loop, int signum) {
  if (!signum_ok(signum)) return LOOM_EINVAL;
  int rc = own(loop, signum);
  if (rc == 0) loop->sigs[signum].watches++;
  return rc;
}

void loom__sig_release(loom_loop *loop, int signum) {
  if (sig_owner[signum] != loop) return;
  loop->sigs[signum].watches--;
  maybe_uninstall(loop, signum);
}

/* The handler runs without sig_mu (it may add or remove handlers); the
 * watches are notified under it, so none is destroyed meanwhile. */
static void dispatch_one(loom_loop *loop, int s) {
  pthread_mutex_lock(&sig_mu);
  loom_signal_fn fn = sig_owner[s] == loop ? loop->sigs[s].fn : NULL;
  void *arg = loop->sigs[s].arg;
  pthread_mutex_unlock(&sig_mu);
  if (fn && LOOM__UNLIKELY(loop->hot.slow_ns)) {
    int64_t t0 = loom_now_ns();
    fn(s, arg);
    loom__loop_check_slow(loop, t0, "a signal handler");
  } else if (fn) {
    fn(s, arg);
  }
  pthread_mutex_lock(&sig_mu);
  if (sig_owner[s] == loop && loop->sigs[s].watches) loom__sigwatch_notify(loop, s);
  pthread_mutex_unlock(&sig_mu);
}

/* sig_hit is process-wide: take only the flags of signals this loop owns,
 * or another loop's signal would be swallowed here. */
void loom__signals_dispatch(loom_loop *loop) {
  bool hit[NSIG] = {0};
  pthread_mutex_lock(&sig_mu);
  for (int s = 1; s < NSIG; s++)
    if (sig_owner[s] == loop && atomic_load(&sig_hit[s])) hit[s] = atomic_exchange(&sig_hit[s], false);
  pthread_mutex_unlock(&sig_mu);
  for (int s = 1; s < NSIG; s++)
    if (hit[s]) dispatch_one(loop, s);
}

void loom__signals_fini(loom_loop *loop) {
  if (!loop->sigs) return;
  pthread_mutex_lock(&sig_mu);
  loom__sigwatch_detach_all(loop);
  for (int s = 1; s < NSIG && loop->sig_count; s++) {
    loop->sigs[s].fn = NULL;
    loop->sigs[s].watches = 0;
    maybe_uninstall(loop, s);
  }
  pthread_mutex_unlock(&sig_mu);
  loom__free(loop->sigs);
  loop->sigs = NULL;
}
