/* spawn.c - starting and reaping worker processes.
 *
 * A worker is never a fork of the parent: the parent may have threads (a
 * loop, pools, locks held by other threads), and a fork would copy their
 * memory in whatever state it was.  posix_spawn (vfork + exec underneath)
 * runs /proc/self/exe afresh with a marker in the environment; the library
 * constructor in worker.c sees it and becomes a worker before main().  Every
 * descriptor loom opens is close-on-exec; the few the worker needs are
 * re-opened in the child at the same numbers (dup2 onto itself clears the
 * flag).  Each child is watched through a pidfd: nothing here ever calls
 * waitpid(-1), so children started by others are left alone.
 */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc_internal.h"
#include "../core/spawnattr.h"

extern char **environ;

/* The environment of the child: ours minus any stale marker, plus `spec`. */
static char **child_env(const char *spec) {
  size_t n = 0;
  while (environ && environ[n]) n++;
  char **env = loom__calloc(n + 2, sizeof *env);
  if (!env) return NULL;
  size_t k = 0, plen = strlen(LOOM__ENV);
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], LOOM__ENV "=", plen + 1) != 0) env[k++] = environ[i];
  env[k++] = (char *)spec;
  return env;
}

static int spawn_exec(const char *spec, const int *keep, int n_keep, pid_t *pid) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  loom__spawnattr_init_clean(&at);
  for (int i = 0; i < n_keep; i++) posix_spawn_file_actions_adddup2(&fa, keep[i], keep[i]);
  char *argv[] = {"loom-worker", NULL};
  char **env = child_env(spec);
  int rc;
  if (!env) {
    rc = LOOM_ENOMEM;
  } else if (loom__sys_fault(EAGAIN)) {
    rc = -EAGAIN;
  } else {
    rc = -posix_spawn(pid, "/proc/self/exe", &fa, &at, argv, env);
  }
  loom__free(env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return rc;
}

int loom__spawn(const char *spec, const int *keep, int n_keep, loom__child *out) {
  pid_t pid;
  int rc = spawn_exec(spec, keep, n_keep, &pid);
  if (rc < 0) return rc;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0 || loom__sys_fault(EMFILE)) {
    rc = pidfd < 0 ? -errno : -EMFILE;
    if (pidfd >= 0) close(pidfd);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return rc;
  }
  /* pidfd_open gives a close-on-exec descriptor. */
  out->pid = pid;
  out->pidfd = pidfd;
  loom__live_inc(LOOM_LIVE_PROCESSES);
  return 0;
}

int loom__reap_prepare(loom__child *c, bool block) {
  if (block) return 0;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int rc;
  do {
    rc = waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return -errno;
  return si.si_pid == 0 ? LOOM_EAGAIN : 0;
}

int loom__reap(loom__child *c, int *exitcode, bool block) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int rc;
  do {
    rc = waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED | (block ? 0 : WNOHANG));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return -errno;
  if (si.si_pid == 0) return LOOM_EAGAIN; /* still running */
  if (si.si_code == CLD_EXITED)
    *exitcode = si.si_status;
  else
    *exitcode = -si.si_status;
  close(c->pidfd);
  c->pidfd = -1;
  loom__live_dec(LOOM_LIVE_PROCESSES);
  return 0;
}

void loom__describe_exit(int exitcode, char *buf, size_t cap) {
  if (exitcode >= 0) {
    snprintf(buf, cap, "exited with status %d", exitcode);
    return;
  }
  const char *abbrev = sigabbrev_np(-exitcode);
  snprintf(buf, cap, "killed by signal %d (SIG%s)", -exitcode, abbrev ? abbrev : "?");
}

int loom__child_signal(const loom__child *c, int sig) {
  if (c->pidfd < 0) return LOOM_ESRCH;
  if (syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0) return -errno;
  return 0;
}

/* ---- worker mode ---------------------------------------------------------- */

/* Runs before main() in every program linked with this file.  In a process
 * started by loom__spawn it becomes the worker and never returns; main()
 * does not run.  Constructors with an explicit priority (name registrations,
 * LOOM_PROCESS_REGISTER) have already run: plain ones may not have. */
__attribute__((constructor)) static void loom__worker_boot(void) {
  const char *env = getenv(LOOM__ENV);
  if (!env) return;
  char spec[512];
  snprintf(spec, sizeof spec, "%s", env);
  unsetenv(LOOM__ENV); /* pools this worker creates get fresh workers */
  int sock = -1, shm = -1;
  if (sscanf(spec, "pool:%d:%d", &sock, &shm) == 2) {
    loom__shared_page *page =
        mmap(NULL, LOOM__SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
    if (page == MAP_FAILED) _exit(4);
    close(shm);
    fcntl(sock, F_SETFD, FD_CLOEXEC); /* programs a job starts must not inherit it */
    loom__pool_worker_main(sock, page);
  }
  if (strncmp(spec, "proc:", 5) == 0) loom__proc_child_main(spec + 5);
  _exit(5); /* a marker we do not understand: never run main() by mistake */
}
