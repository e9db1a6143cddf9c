/* loom/error.h - error codes shared by every loom function.
 *
 * Every loom function that can fail returns 0 (or a non-negative count) on
 * success and a negative code on failure.  System errors are reported as
 * -errno (LOOM_ENOMEM == -ENOMEM, ...).  loom's own conditions, which have no
 * faithful errno, use codes from -4000 down so they never collide with errno.
 *
 * One X-macro table (LOOM_ERRNO_MAP) produces the enum, the names and the
 * messages, so the three can never drift apart.
 */
#ifndef LOOM_ERROR_H
#define LOOM_ERROR_H

#include <errno.h>

#ifdef __cplusplus
extern "C" {
#endif

/* loom's own codes: name, value, message. */
#define LOOM_OWN_ERRNO_MAP(X)                                                  \
  X(ECANCELLED,    -4001, "operation was cancelled")                           \
  X(ESHUTDOWN,     -4002, "executor or object has been shut down")             \
  X(EBROKEN,       -4003, "executor is broken (a worker died or failed)")      \
  X(EINVALIDSTATE, -4004, "invalid state for this operation")                  \
  X(EEMPTY,        -4005, "queue is empty")                                    \
  X(EFULL,         -4006, "queue is full")                                     \
  X(ECLOSED,       -4007, "object is closed")                                  \
  X(EINCOMPLETE,   -4008, "stream ended before the expected data arrived")     \
  X(ELIMIT,        -4009, "buffer limit exceeded")                             \
  X(EBROKENBARRIER,-4010, "barrier is broken")                                 \
  X(ESTOP,         -4011, "iteration finished")                                \
  X(EFAILED,       -4012, "the callable failed")                               \
  X(ENOTASK,       -4013, "not called from inside a task")                     \
  X(EDEADLOCK,     -4014, "operation would deadlock")

/* System conditions that loom names for convenience: name, errno. */
#define LOOM_SYS_ERRNO_MAP(X)                                                  \
  X(ENOMEM, ENOMEM)                                                            \
  X(EINVAL, EINVAL)                                                            \
  X(ETIMEDOUT, ETIMEDOUT)                                                      \
  X(EAGAIN, EAGAIN)                                                            \
  X(EBUSY, EBUSY)                                                              \
  X(ENOENT, ENOENT)                                                            \
  X(EEXIST, EEXIST)                                                            \
  X(EMFILE, EMFILE)                                                            \
  X(ENFILE, ENFILE)                                                            \
  X(EPIPE, EPIPE)                                                              \
  X(ECONNRESET, ECONNRESET)                                                    \
  X(ECONNREFUSED, ECONNREFUSED)                                                \
  X(EADDRINUSE, EADDRINUSE)                                                    \
  X(ENOTCONN, ENOTCONN)                                                        \
  X(EOVERFLOW, EOVERFLOW)                                                      \
  X(ENOSYS, ENOSYS)                                                            \
  X(EPERM, EPERM)                                                              \
  X(EINTR, EINTR)                                                              \
  X(ESRCH, ESRCH)                                                              \
  X(ECHILD, ECHILD)

typedef enum loom_errno {
#define LOOM__OWN_ENUM(name, val, msg) LOOM_##name = (val),
  LOOM_OWN_ERRNO_MAP(LOOM__OWN_ENUM)
#undef LOOM__OWN_ENUM
#define LOOM__SYS_ENUM(name, e) LOOM_##name = -(e),
  LOOM_SYS_ERRNO_MAP(LOOM__SYS_ENUM)
#undef LOOM__SYS_ENUM
} loom_errno;

/* A human-readable message for `code` (0, a loom code or -errno).
 * Returns a static string; never NULL.  Unknown codes give "unknown error". */
const char *loom_strerror(int code);

/* The symbolic name of `code`, e.g. "ECANCELLED" or "ENOENT".
 * Returns a static string; never NULL. */
const char *loom_err_name(int code);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_ERROR_H */
