/* subprocess.c - child programs on the loop (asyncio.create_subprocess_exec).
 *
 * posix_spawnp starts the child (no fork from a threaded parent); every pipe
 * is created close-on-exec and the child's ends are dup2'ed onto 0/1/2 by
 * the spawn file actions, which clears the flag only for those.  The exit is
 * watched through a pidfd registered as a loop reader: when it becomes
 * readable the child is reaped with waitid(P_PIDFD) and the exit future is
 * completed, waking every task in loom_subprocess_wait.  Nothing calls
 * waitpid(-1) and no SIGCHLD handler is installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/internal.h"
#include "core/spawnattr.h"
#include "loom/future.h"
#include "loom/subprocess.h"
#include "loom/task.h"

struct loom_subprocess {
  loom_loop *loop;
  pid_t pid;
  int pidfd; /* -1 once reaped */
  int status;
  bool exited;
  bool communicating;
  loom_future *exit; /* completed when reaped */
  loom_stream *io[3];
};

/* Reap without blocking; true when the child is gone (status recorded). */
static bool try_reap(loom_subprocess *p, bool block) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int rc;
  do {
    rc = waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | (block ? 0 : WNOHANG));
  } while (rc < 0 && errno == EINTR);
  if (rc < 0 || si.si_pid == 0) return false;
  p->status = si.si_code == CLD_EXITED ? si.si_status : -si.si_status;
  p->exited = true;
  loom_loop_remove_reader(p->loop, p->pidfd);
  close(p->pidfd);
  p->pidfd = -1;
  loom__live_dec(LOOM_LIVE_PROCESSES);
  return true;
}

static void on_pidfd(void *arg) {
  loom_subprocess *p = arg;
  if (try_reap(p, false)) loom_future_set_result(p->exit, NULL, NULL);
}

/* Spawn file actions for one standard stream; *parent gets our pipe end. */
static int plan_io(posix_spawn_file_actions_t *fa, int target, loom_subprocess_io how,
                   int *parent, int *child) {
  *parent = *child = -1;
  if (how == LOOM_SUBPROCESS_DEVNULL)
    return -posix_spawn_file_actions_addopen(fa, target, "/dev/null",
                                             target == 0 ? O_RDONLY : O_WRONLY, 0);
  if (how == LOOM_SUBPROCESS_STDOUT) return -posix_spawn_file_actions_adddup2(fa, 1, 2);
  if (how != LOOM_SUBPROCESS_PIPE) return 0;
  int fds[2];
  if (loom__sys_fault(EMFILE) || pipe2(fds, O_CLOEXEC) < 0) return -errno;
  *parent = target == 0 ? fds[1] : fds[0];
  *child = target == 0 ? fds[0] : fds[1];
  return -posix_spawn_file_actions_adddup2(fa, *child, target);
}

static void close_fds(int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) close(fds[i]), fds[i] = -1;
}

static int spawn(loom_subprocess *p, char *const argv[], const loom_subprocess_opts *o,
                 int parent[3]) {
  extern char **environ;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  loom__spawnattr_init_clean(&at);
  loom_subprocess_io how[3] = {o->stdin_io, o->stdout_io, o->stderr_io};
  int child[3] = {-1, -1, -1}, rc = 0;
  for (int i = 0; i < 3 && rc == 0; i++) rc = plan_io(&fa, i, how[i], &parent[i], &child[i]);
  if (rc == 0 && loom__sys_fault(EAGAIN)) rc = -EAGAIN;
  if (rc == 0) rc = -posix_spawnp(&p->pid, argv[0], &fa, &at, argv, environ);
  close_fds(child, 3);
  if (rc < 0) close_fds(parent, 3);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return rc;
}

/* Wrap our pipe ends as streams; on failure the remaining fds are closed. */
static int wrap_streams(loom_subprocess *p, int parent[3]) {
  int rc = 0;
  for (int i = 0; i < 3; i++) {
    if (parent[i] < 0) continue;
    if (rc == 0) rc = loom_stream_from_fd(parent[i], NULL, &p->io[i]);
    if (rc == 0) parent[i] = -1;
  }
  close_fds(parent, 3);
  return rc;
}

static int watch_exit(loom_subprocess *p) {
  int fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
  if (fd < 0 || loom__sys_fault(EMFILE)) {
    int rc = fd < 0 ? -errno : -EMFILE;
    if (fd >= 0) close(fd);
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {}
    return rc;
  }
  p->pidfd = fd;
  loom__live_inc(LOOM_LIVE_PROCESSES);
  return loom_loop_add_reader(p->loop, fd, on_pidfd, p);
}

int loom_subprocess_exec(loom_loop *loop, char *const argv[],
                         const loom_subprocess_opts *opts, loom_subprocess **out) {
  static const loom_subprocess_opts dflt = {0};
  const loom_subprocess_opts *o = opts ? opts : &dflt;
  if (!loop || !argv || !argv[0] || !out || o->stdin_io == LOOM_SUBPROCESS_STDOUT ||
      o->stdout_io == LOOM_SUBPROCESS_STDOUT)
    return LOOM_EINVAL;
  loom_subprocess *p = loom__calloc(1, sizeof *p);
  if (!p) return LOOM_ENOMEM;
  p->loop = loop;
  p->pidfd = -1;
  int rc = loom_future_create(&p->exit);
  if (rc < 0) {
    loom__free(p);
    return rc;
  }
  int parent[3] = {-1, -1, -1};
  rc = spawn(p, argv, o, parent);
  if (rc < 0) {
    loom_future_release(p->exit);
    loom__free(p);
    return rc;
  }
  rc = watch_exit(p);
  if (rc == 0) rc = wrap_streams(p, parent);
  close_fds(parent, 3);
  if (rc < 0) {
    loom_subprocess_destroy(p);
    return rc;
  }
  *out = p;
  return 0;
}

pid_t loom_subprocess_pid(const loom_subprocess *p) { return p->pid; }
loom_stream *loom_subprocess_stdin(loom_subprocess *p) { return p->io[0]; }
loom_stream *loom_subprocess_stdout(loom_subprocess *p) { return p->io[1]; }
loom_stream *loom_subprocess_stderr(loom_subprocess *p) { return p->io[2]; }

int loom_subprocess_returncode(const loom_subprocess *p, int *status) {
  if (!p->exited) return 0;
  if (status) *status = p->status;
  return 1;
}

int loom_subprocess_wait(loom_subprocess *p, double timeout, int *status) {
  int rc = loom_future_wait(p->exit, timeout);
  if (rc < 0) return rc;
  if (status) *status = p->status;
  return 0;
}

int loom_subprocess_send_signal(loom_subprocess *p, int signum) {
  if (p->pidfd < 0) return LOOM_ESRCH;
  if (syscall(SYS_pidfd_send_signal, p->pidfd, signum, NULL, 0) < 0) return -errno;
  return 0;
}
int loom_subprocess_terminate(loom_subprocess *p) {
  return loom_subprocess_send_signal(p, SIGTERM);
}
int loom_subprocess_kill(loom_subprocess *p) { return loom_subprocess_send_signal(p, SIGKILL); }

/* ---- communicate --------------------------------------------------------- */

typedef struct comm_job {
  loom_stream *s;
  const void *in;
  size_t len;
  double timeout;
  void *data;
  size_t got;
} comm_job;

static int feed_task(loom_future *self, void *arg) {
  (void)self;
  comm_job *j = arg;
  int rc = j->len ? loom_stream_write(j->s, j->in, j->len, j->timeout) : 0;
  if (rc == 0) rc = loom_stream_drain(j->s, j->timeout);
  loom_stream_close(j->s);
  /* The child may exit without reading everything: not an error (asyncio
   * ignores BrokenPipeError here too). */
  return rc == LOOM_EPIPE || rc == LOOM_ECONNRESET ? 0 : rc;
}

static int drain_task(loom_future *self, void *arg) {
  (void)self;
  comm_job *j = arg;
  return loom_stream_read_all(j->s, SIZE_MAX, &j->data, &j->got, j->timeout);
}

/* Start a helper task for stream i (none when it is not a pipe). */
static int start_helper(loom_subprocess *p, loom_fn fn, comm_job *j, loom_future **f) {
  *f = NULL;
  if (!j->s) return 0;
  return loom_task_spawn(p->loop, fn, j, "subprocess-io", f);
}

/* Wait for a helper; on our own failure cancel it first.  The wait has no
 * bound of its own (the helper's I/O is bounded by the timeout, and a
 * cancelled helper ends at once) because its job lives on our stack. */
static int finish_helper(loom_future *f, int rc) {
  if (!f) return rc;
  if (rc < 0) loom_future_cancel(f);
  int wrc = loom_future_wait(f, LOOM_FOREVER);
  int hrc = loom_future_result(f, 0, NULL);
  loom_future_release(f);
  if (rc < 0) return rc;
  return wrc < 0 ? wrc : hrc;
}

static void hand_out(comm_job *j, char **out, size_t *len) {
  if (out) *out = j->data;
  else free(j->data);
  if (len) *len = j->got;
}

int loom_subprocess_communicate(loom_subprocess *p, const void *input, size_t len,
                                double timeout, char **out, size_t *out_len,
                                char **err, size_t *err_len) {
  if (p->communicating) return LOOM_EBUSY;
  p->communicating = true;
  comm_job j[3] = {{.s = p->io[0], .in = input, .len = len, .timeout = timeout},
                   {.s = p->io[1], .timeout = timeout},
                   {.s = p->io[2], .timeout = timeout}};
  loom_future *f[3] = {NULL, NULL, NULL};
  int rc = start_helper(p, feed_task, &j[0], &f[0]);
  if (rc == 0) rc = start_helper(p, drain_task, &j[2], &f[2]);
  if (rc == 0 && j[1].s) rc = drain_task(NULL, &j[1]);
  rc = finish_helper(f[0], rc);
  rc = finish_helper(f[2], rc);
  if (rc == 0) rc = loom_subprocess_wait(p, timeout, NULL);
  if (rc == 0) {
    hand_out(&j[1], out, out_len);
    hand_out(&j[2], err, err_len);
  } else {
    free(j[1].data);
    free(j[2].data);
  }
  p->communicating = false;
  return rc;
}

void loom_subprocess_destroy(loom_subprocess *p) {
  if (!p) return;
  if (p->pidfd >= 0) {
    syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
    try_reap(p, true);
  }
  for (int i = 0; i < 3; i++) loom_stream_destroy(p->io[i]);
  loom_future_release(p->exit);
  loom__free(p);
}
