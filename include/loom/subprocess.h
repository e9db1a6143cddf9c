/* loom/subprocess.h - child programs on the event loop (asyncio's
 * create_subprocess_exec).
 *
 * A child is started with posix_spawnp (never fork: the parent may have
 * threads), every descriptor loom opens is close-on-exec, and the child's
 * exit is watched through a pidfd registered as a reader on the loop: loom
 * never calls waitpid(-1) and installs no SIGCHLD handler, so children
 * started by others are left alone.  Each standard stream of the child is
 * inherited, /dev/null, or a pipe wrapped as a loom_stream (see loom/net.h).
 * All functions run on the loop's thread (inside a task for the waiting ones).
 */
#ifndef LOOM_SUBPROCESS_H
#define LOOM_SUBPROCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "loom/loop.h"
#include "loom/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_subprocess loom_subprocess;

/* Where a standard stream of the child goes. */
typedef enum loom_subprocess_io {
  LOOM_SUBPROCESS_INHERIT = 0, /* the parent's descriptor */
  LOOM_SUBPROCESS_PIPE,        /* a pipe: loom_subprocess_stdin/stdout/stderr */
  LOOM_SUBPROCESS_DEVNULL,     /* /dev/null */
  LOOM_SUBPROCESS_STDOUT       /* stderr only: wherever stdout goes */
} loom_subprocess_io;

typedef struct loom_subprocess_opts {
  loom_subprocess_io stdin_io, stdout_io, stderr_io;
} loom_subprocess_opts;

/* Start argv[0] (searched in PATH) with arguments argv (NULL-terminated) on
 * `loop`, which must be the loop running on this thread.  opts may be NULL
 * (all inherited).  *out gets the process; free it with
 * loom_subprocess_destroy.  Returns 0, LOOM_EINVAL (NULL or empty argv,
 * STDOUT for stdin/stdout, not on loop's thread), LOOM_ENOMEM, -ENOENT /
 * -EACCES (the program cannot be run: no child is left behind), -EMFILE,
 * -EAGAIN, or another -errno from pipe2/posix_spawn/pidfd_open. */
int loom_subprocess_exec(loom_loop *loop, char *const argv[],
                         const loom_subprocess_opts *opts, loom_subprocess **out);

/* The child's pid (still valid after exit until destroy). */
pid_t loom_subprocess_pid(const loom_subprocess *p);

/* The pipe streams (owned by the process: do not destroy them; NULL when
 * that stream is not a PIPE). */
loom_stream *loom_subprocess_stdin(loom_subprocess *p);
loom_stream *loom_subprocess_stdout(loom_subprocess *p);
loom_stream *loom_subprocess_stderr(loom_subprocess *p);

/* Wait (suspending the task) until the child exits; *status (may be NULL)
 * gets its exit status, or minus the signal number that killed it (like
 * Python's returncode).  Returns 0, LOOM_ETIMEDOUT (still running),
 * LOOM_ECANCELLED (the waiting task was cancelled). */
int loom_subprocess_wait(loom_subprocess *p, double timeout, int *status);

/* The exit status if the child has exited: returns 1 and sets *status, or 0
 * while it runs.  Never waits. */
int loom_subprocess_returncode(const loom_subprocess *p, int *status);

/* Write `len` bytes of input (if stdin is a PIPE; input may be NULL), close
 * stdin, read stdout and stderr (each if a PIPE) to end of stream
 * concurrently, then wait for the exit.  *out / *err (each may be NULL to
 * discard) get buffers the caller frees with free(), NUL-terminated, with
 * lengths in *out_len / *err_len (may be NULL); NULL when not a pipe.
 * `timeout` bounds each phase (the I/O, then the exit).  From a task.
 * Returns 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_ENOMEM, LOOM_EBUSY
 * (communicate already running), or a stream error (e.g. LOOM_EPIPE when
 * the child closed stdin early is ignored, as in asyncio). */
int loom_subprocess_communicate(loom_subprocess *p, const void *input, size_t len,
                                double timeout, char **out, size_t *out_len,
                                char **err, size_t *err_len);

/* Send a signal / SIGTERM / SIGKILL (through the pidfd: never a recycled
 * pid).  Returns 0, LOOM_ESRCH (already exited and reaped), -errno. */
int loom_subprocess_send_signal(loom_subprocess *p, int signum);
int loom_subprocess_terminate(loom_subprocess *p);
int loom_subprocess_kill(loom_subprocess *p);

/* Free the process: a child still running is killed (SIGKILL) and reaped;
 * the pipe streams are closed.  NULL is a no-op.  On the loop's thread. */
void loom_subprocess_destroy(loom_subprocess *p);

#ifdef __cplusplus
}
#endif
#endif
