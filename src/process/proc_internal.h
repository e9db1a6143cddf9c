/* proc_internal.h - what the process area's files share: the wire format
 * between a pool and its workers, function identity across processes,
 * spawning a worker by exec, and the worker-mode entry points.
 *
 * The parent and a worker talk over one AF_UNIX stream socket.  Every
 * message is a fixed header, then `name_len` bytes (module name of a job's
 * function, or an error message), then `len` payload bytes - unless the
 * MEMFD flag says the payload travels in a memfd passed with SCM_RIGHTS on
 * the same sendmsg as the header (large payloads are not copied through the
 * socket).  A per-worker shared page tells the parent which job the worker
 * is running right now, so a death blames exactly that job.
 */
#ifndef LOOM_PROCESS_INTERNAL_H
#define LOOM_PROCESS_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "loom/process.h"

#include "../core/internal.h"

#define LOOM__MEMFD_MIN (64 * 1024) /* payloads from this size go through shared memory */
#define LOOM__ENV "LOOM_WORKER_SPEC"  /* worker marker in the environment */

enum loom__msg_type {
  LOOM__MSG_INIT = 1,  /* parent -> worker: run the initializer */
  LOOM__MSG_INIT_OK,   /* worker -> parent */
  LOOM__MSG_INIT_FAIL, /* worker -> parent: a = code, text = message */
  LOOM__MSG_JOB,       /* parent -> worker */
  LOOM__MSG_RESULT,    /* worker -> parent */
  LOOM__MSG_QUIT,      /* parent -> worker: exit once the jobs before it are done */
};

enum loom__msg_flags {
  LOOM__F_BYTES = 1u << 0, /* JOB: bytes argument; RESULT: bytes result */
  LOOM__F_MEMFD = 1u << 1, /* the payload is in a memfd sent with the header */
  LOOM__F_ERROR = 1u << 2, /* RESULT: failed, a = code, text = message */
};

typedef struct loom__msg {
  uint32_t type;
  uint32_t flags;
  uint64_t id;       /* job id, echoed in its RESULT */
  uint64_t fn_off;   /* JOB/INIT: function offset in its module */
  uint64_t arg;      /* JOB/INIT: integer argument; RESULT: integer value */
  int64_t a;         /* RESULT/INIT_FAIL: error code; RESULT: run time in ns */
  uint64_t len;      /* payload bytes */
  uint32_t name_len; /* bytes of text following the header */
  uint32_t pad;
} loom__msg;

/* Bytes a message takes in the stream: header, text, inline payload,
 * padded to 8 so that every header in a buffer is aligned. */
static inline size_t loom__msg_total(const loom__msg *h) {
  size_t t = sizeof *h + h->name_len + ((h->flags & 2u) ? 0 : h->len);
  return (t + 7) & ~(size_t)7;
}

/* The page a worker shares with its parent. */
typedef struct loom__shared_page {
  _Atomic uint64_t running;   /* id of the job running now, 0 between jobs */
  _Atomic uint64_t finished;  /* jobs this worker has finished (results may be unsent) */
  _Atomic uint64_t out_base;  /* stream offset of the result buffer's first byte */
  _Atomic uint64_t out_len;   /* complete messages in the result buffer */
  _Atomic uint64_t skip[16];  /* jobs the parent cancelled: skip them, or
                               * abandon them on SIGUSR1 if running */
} loom__shared_page;

/* The shared mapping: the page, then the worker's result buffer.  Results
 * are written there before they are sent, so the ones a dying worker had
 * not sent yet are recovered by the parent instead of being lost. */
#define LOOM__PAGE_SIZE 4096
#define LOOM__SHBUF_SIZE (1024 * 1024)
#define LOOM__SHARED_SIZE (LOOM__PAGE_SIZE + LOOM__SHBUF_SIZE)
#define LOOM__TEXT_MAX 4000 /* longest error message carried */

/* ---- function identity (fnid.c) ----------------------------------------- */

/* Find the module whose code holds `addr`: *name gets its path ("" for the
 * main program; static storage of the loader, valid while loaded), *off the
 * offset.  Returns 0 or LOOM_EINVAL (not in an executable segment of any
 * loaded module). */
int loom__fn_encode(const void *addr, const char **name, uint64_t *off);
/* The address of (name, off) in this process, or NULL. */
void *loom__fn_decode(const char *name, size_t name_len, uint64_t off);

/* ---- spawning (spawn.c) -------------------------------------------------- */

typedef struct loom__child {
  pid_t pid;
  int pidfd;
} loom__child;

/* exec /proc/self/exe in worker mode with `spec` in the environment; the
 * descriptors in keep[] (n_keep) stay open in the child, same numbers.
 * Returns 0 (child counted in LOOM_LIVE_PROCESSES) or a negative code. */
int loom__spawn(const char *spec, const int *keep, int n_keep, loom__child *out);
/* Reap a child (block: wait until it ends): store its Python-style exit
 * code (status, or -signal) and close the pidfd.  Returns 0, LOOM_EAGAIN
 * (not block and still running) or -errno. */
int loom__reap(loom__child *c, int *exitcode, bool block);
/* Has the child ended (block: wait until it has)?  Does not reap.
 * Returns 0, LOOM_EAGAIN (still running) or -errno. */
int loom__reap_prepare(loom__child *c, bool block);
/* "exit status 3", "killed by signal 9 (SIGKILL)" into buf. */
void loom__describe_exit(int exitcode, char *buf, size_t cap);
/* Send a signal through the pidfd.  Returns 0 or -errno. */
int loom__child_signal(const loom__child *c, int sig);

/* ---- worker side --------------------------------------------------------- */

/* The pool worker main loop (worker.c); never returns. */
__attribute__((noreturn)) void loom__pool_worker_main(int sock, loom__shared_page *page);
/* A loom_process child (proc.c); never returns. */
__attribute__((noreturn)) void loom__proc_child_main(const char *spec);

/* ---- io helpers (wire.c) ------------------------------------------------- */

/* Write all of buf to a blocking fd.  Returns 0 or -errno. */
int loom__write_all(int fd, const void *buf, size_t len);
/* sendmsg the whole buffer with `fd` attached (fd < 0: none). Blocking fd. */
int loom__send_with_fd(int sock, const void *buf, size_t len, int fd);

/* Attach `fd` as SCM_RIGHTS ancillary data to `mh`, using `cbuf` (at least
 * CMSG_SPACE(sizeof(int)) bytes) as the control buffer. */
struct msghdr;
void loom__msg_attach_fd(struct msghdr *mh, char *cbuf, size_t cbuf_len, int fd);
/* A memfd holding a copy of data.  Returns the fd or -errno. */
int loom__memfd_from(const void *data, size_t len);
/* Map a memfd of `len` bytes read-only (len 0: returns a static empty
 * buffer).  Returns the mapping or NULL (errno set). */
void *loom__memfd_map(int fd, size_t len);
void loom__memfd_unmap(void *p, size_t len);

#endif
