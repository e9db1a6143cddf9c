/* loom/net.h - network I/O: addresses, name resolution, streams, servers,
 * datagrams and low-level socket awaitables (asyncio's streams, transports
 * and loop.sock_* for C).
 *
 * Layers, bottom up:
 *  - Addresses (loom_addr): a value type holding an IPv4, IPv6 or Unix-domain
 *    socket address, parsed from and formatted to text.  Works anywhere.
 *  - Name resolution (loom_resolver): getaddrinfo on a private pool of
 *    threads, so slow DNS never starves file or CPU work; each lookup is a
 *    loom_future (a thread blocks on it with a timeout, a task awaits it).
 *    Works anywhere.  RFC 8305 ordering with loom_addrlist_interleave().
 *  - Socket awaitables (loom_sock_*): one operation on a non-blocking socket,
 *    suspending the calling task until the socket is ready.
 *  - Streams (loom_stream) and servers (loom_server): buffered byte streams
 *    with asyncio's reader and writer operations, one object per connection.
 *  - Datagram endpoints (loom_dgram): UDP or Unix datagram sockets.
 *
 * Tasks: every function that waits for the network (sock_*, stream, server
 * and dgram operations) must be called from inside a loom task and returns
 * LOOM_ENOTASK otherwise.  It suspends only the task.  It takes a `timeout`
 * in seconds (LOOM_FOREVER for none), which combines with the task's timeout
 * scopes (the earlier deadline wins), and it is cancellable: a cancelled task
 * gets LOOM_ECANCELLED from the call.  docs/net.md has the table of what each
 * operation guarantees when it is cancelled or times out.
 *
 * Errors: system errors are -errno (LOOM_ECONNREFUSED, LOOM_ECONNRESET,
 * LOOM_EPIPE, -EHOSTUNREACH, ...); loom's own: LOOM_EINCOMPLETE (the peer
 * closed before readexactly/readuntil got what it needed), LOOM_ELIMIT (a
 * buffer limit was hit), LOOM_ECLOSED (the object was closed).
 *
 * The sections marked [needs the loop] run on loom's event loop
 * (loom/loop.h) and tasks (loom/task.h).  docs/net.md is the guide.
 */
#ifndef LOOM_NET_H
#define LOOM_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ====================================================================== */
/* Addresses                                                               */
/* ====================================================================== */

/* A socket address: a plain value (copy it with `=`), the one exception to
 * loom's opaque types because C networking code passes sockaddrs around by
 * value.  `len` is the meaningful length of `u` (what bind/connect take). */
typedef struct loom_addr {
  union {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
    struct sockaddr_un un;
    struct sockaddr_storage ss;
  } u;
  socklen_t len;
} loom_addr;

/* Room for any text loom_addr_format() produces, terminator included. */
#define LOOM_ADDR_STRLEN 128

/* A numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "fe80::1%lo") address and a
 * port.  No name lookup.
 * Returns 0, or LOOM_EINVAL (NULL out or ip, not a numeric address, port
 * outside 0..65535, unknown IPv6 scope name). */
int loom_addr_ip(loom_addr *out, const char *ip, int port);

/* A Unix-domain address.  A path starting with '@' names a Linux abstract
 * socket (the '@' becomes the leading NUL).
 * Returns 0, LOOM_EINVAL (NULL or empty path), or -ENAMETOOLONG (longer than
 * sun_path allows). */
int loom_addr_unix(loom_addr *out, const char *path);

/* Parse the text form loom_addr_format() writes: "1.2.3.4:80",
 * "[::1]:80", "[fe80::1%eth0]:80", "unix:/run/x.sock", "unix:@abstract".
 * A bare path starting with '/' is also a Unix address.
 * Returns 0, LOOM_EINVAL (malformed; *out is then unspecified), or
 * -ENAMETOOLONG. */
int loom_addr_parse(loom_addr *out, const char *text);

/* Copy a sockaddr of `len` bytes (as returned by accept, getpeername...).
 * Returns 0, or LOOM_EINVAL (NULL, unsupported family, bad length). */
int loom_addr_from_sockaddr(loom_addr *out, const struct sockaddr *sa, socklen_t len);

/* Write the text form into buf (always NUL-terminated when cap > 0).
 * An unnamed Unix socket formats as "unix:".
 * Returns the length written (without the NUL), LOOM_EINVAL (NULL or
 * unsupported family), or LOOM_EOVERFLOW (cap too small; buf then holds a
 * truncated string).  LOOM_ADDR_STRLEN is always enough. */
int loom_addr_format(const loom_addr *a, char *buf, size_t cap);

/* AF_INET, AF_INET6 or AF_UNIX (AF_UNSPEC for a zeroed address). */
int loom_addr_family(const loom_addr *a);

/* The port (0..65535) of an IPv4/IPv6 address; LOOM_EINVAL for others. */
int loom_addr_port(const loom_addr *a);

/* Set the port of an IPv4/IPv6 address. Returns 0 or LOOM_EINVAL. */
int loom_addr_set_port(loom_addr *a, int port);

/* Same family, address, port (and scope id), or same Unix path. */
bool loom_addr_equal(const loom_addr *a, const loom_addr *b);

/* ====================================================================== */
/* Name resolution                                                         */
/* ====================================================================== */

/* The addresses a lookup found, in getaddrinfo's order (RFC 6724). */
typedef struct loom_addrlist loom_addrlist;

/* Number of addresses (at least 1 in a successful lookup). */
size_t loom_addrlist_count(const loom_addrlist *l);

/* The i-th address (borrowed from the list); NULL if i is out of range. */
const loom_addr *loom_addrlist_get(const loom_addrlist *l, size_t i);

/* The socket type and protocol getaddrinfo gave the i-th entry
 * (SOCK_STREAM / IPPROTO_TCP ...); LOOM_EINVAL if i is out of range. */
int loom_addrlist_socktype(const loom_addrlist *l, size_t i);

/* The canonical name when LOOM_RESOLVE_CANONNAME was asked, else NULL.
 * Owned by the list. */
const char *loom_addrlist_canonname(const loom_addrlist *l);

/* Reorder for Happy Eyeballs (RFC 8305 section 4): keep the first address
 * family of the list first, put `first_family_count` addresses of it first
 * (RFC default 1), then alternate families, keeping each family's own order.
 * Returns 0, LOOM_EINVAL (NULL list or first_family_count == 0), or
 * LOOM_ENOMEM (the list is then unchanged). */
int loom_addrlist_interleave(loom_addrlist *l, size_t first_family_count);

/* Free a list (NULL is ignored).  Lists inside a future belong to it. */
void loom_addrlist_free(loom_addrlist *l);

/* Flags for loom_resolve_opts.flags. */
#define LOOM_RESOLVE_PASSIVE   0x1 /* NULL host means the wildcard (for bind) */
#define LOOM_RESOLVE_CANONNAME 0x2 /* fill loom_addrlist_canonname */
#define LOOM_RESOLVE_NUMERIC   0x4 /* host must be numeric: never a DNS query */
#define LOOM_RESOLVE_ADDRCONFIG 0x8 /* only families configured on this host */

/* Lookup options; a zeroed struct (or NULL) means AF_UNSPEC, any socket
 * type, no flags. */
typedef struct loom_resolve_opts {
  int family;   /* AF_UNSPEC, AF_INET or AF_INET6 */
  int socktype; /* 0, SOCK_STREAM or SOCK_DGRAM */
  int protocol; /* 0 or IPPROTO_* */
  int flags;    /* LOOM_RESOLVE_* */
} loom_resolve_opts;

/* A resolver: its own small pool of threads running getaddrinfo(3). */
typedef struct loom_resolver loom_resolver;

/* Create a resolver with at most `max_threads` lookups in flight (0 means
 * the default, 4).  Threads start on demand and stay for reuse.
 * *out gets the resolver, freed with loom_resolver_destroy().
 * Returns 0, LOOM_EINVAL (NULL out, max_threads < 0 or > 256), LOOM_ENOMEM. */
int loom_resolver_create(loom_resolver **out, int max_threads);

/* Cancel the lookups still queued (their futures become CANCELLED), wait
 * for the running ones to finish, stop the threads and free the resolver.
 * Futures handed out stay valid.  NULL is ignored. */
void loom_resolver_destroy(loom_resolver *r);

/* Resolve host and service (a port number or a service name; either may be
 * NULL, not both).  Numeric hosts are answered at once without a thread.
 * *out gets a future (the caller releases it) whose result, once done, is a
 * loom_addrlist * owned by the future (take it with
 * loom_future_take_result to keep it; free it with loom_addrlist_free).
 * Lookup failures finish the future with an error and getaddrinfo's
 * message: LOOM_ENOENT (name or service not known, no address of the
 * wanted family), LOOM_EAGAIN (temporary DNS failure), LOOM_EINVAL (bad
 * family, socket type or flags), LOOM_ENOMEM, or -errno.
 * Cancelling the future before a thread picks the lookup up cancels it; a
 * lookup already running finishes and its result is dropped.
 * Returns 0, LOOM_EINVAL (NULL r or out, host and service both NULL),
 * LOOM_ENOMEM, LOOM_ESHUTDOWN (the resolver is being destroyed), or -EAGAIN
 * (no thread could be started and none is running). */
int loom_resolve(loom_resolver *r, const char *host, const char *service,
                 const loom_resolve_opts *opts, loom_future **out);

/* ====================================================================== */
/* Socket awaitables  [needs the loop]                                     */
/* ====================================================================== */
/* Like asyncio's loop.sock_*: `fd` must be a non-blocking socket.  Each call
 * tries the operation first and suspends the task only on EAGAIN, until the
 * loop reports the socket ready.  Called outside a task: LOOM_ENOTASK.
 * Every call may also return LOOM_ETIMEDOUT or LOOM_ECANCELLED (nothing was
 * transferred) and -errno from the system call. */

/* A non-blocking, close-on-exec socket. Returns the fd or -errno. */
int loom_socket(int family, int type, int protocol);

/* Accept one connection: returns its fd (non-blocking, close-on-exec;
 * the caller closes it) and stores the peer in *peer (may be NULL). */
int loom_sock_accept(int fd, loom_addr *peer, double timeout);

/* Connect; returns 0 once connected, or LOOM_ECONNREFUSED, -ENETUNREACH...
 * On timeout or cancel the socket is left mid-connect: close it. */
int loom_sock_connect(int fd, const loom_addr *addr, double timeout);

/* Receive up to n bytes: returns the count, 0 at end of stream. */
ssize_t loom_sock_recv(int fd, void *buf, size_t n, double timeout);

/* Send some bytes: returns how many the kernel took (at least 1). */
ssize_t loom_sock_send(int fd, const void *buf, size_t n, double timeout);

/* Send all n bytes.  Returns 0; on error or timeout *sent (may be NULL)
 * tells how many bytes went out before it. */
int loom_sock_sendall(int fd, const void *buf, size_t n, size_t *sent, double timeout);

/* Receive one datagram: returns its full length (bytes past n are lost and
 * a return > n says it was truncated) and its sender in *from (may be NULL). */
ssize_t loom_sock_recvfrom(int fd, void *buf, size_t n, loom_addr *from, double timeout);

/* Send one datagram to `to` (NULL on a connected socket). Returns n. */
ssize_t loom_sock_sendto(int fd, const void *buf, size_t n, const loom_addr *to,
                         double timeout);

/* ====================================================================== */
/* Streams  [needs the loop]                                               */
/* ====================================================================== */
/* One loom_stream is both of asyncio's StreamReader and StreamWriter: a
 * connected socket (TCP or Unix) with a read buffer and a write buffer.
 * A stream belongs to one loop; its operations may be called by several
 * tasks of that loop (two concurrent readers get LOOM_EBUSY, like asyncio's
 * "already waiting" error; several writers and drainers are fine). */
typedef struct loom_stream loom_stream;

/* Stream options; a zeroed struct (or NULL) gives the defaults. */
typedef struct loom_stream_opts {
  size_t limit;             /* read buffer limit for readline/readuntil
                             * (default 65536, asyncio's) */
  size_t high_water;        /* write buffer high watermark (default 65536) */
  size_t low_water;         /* low watermark (default high_water / 4) */
  double happy_eyeballs_delay; /* RFC 8305 connection attempt delay in s;
                                * 0 = default 0.25, < 0 = one at a time */
  int family;               /* restrict open_connection to AF_INET/AF_INET6 */
  const loom_addr *local;   /* bind before connecting (NULL: any) */
  loom_resolver *resolver;  /* NULL: the loop's resolver */
  bool no_nodelay;          /* keep Nagle (TCP_NODELAY is set by default) */
} loom_stream_opts;

/* Open a TCP connection: resolve host (numeric or a name), try the
 * addresses Happy-Eyeballs style (RFC 8305: interleaved families, a new
 * attempt every delay, first success wins, the others closed).  The timeout
 * covers resolution and connection.  *out gets the stream (destroy it).
 * Returns 0, LOOM_EINVAL, LOOM_ENOMEM, LOOM_ENOTASK, LOOM_ETIMEDOUT,
 * LOOM_ECANCELLED, a resolution error (see loom_resolve), or the error of
 * the last connection attempt (LOOM_ECONNREFUSED, -ENETUNREACH, ...). */
int loom_open_connection(const char *host, int port, const loom_stream_opts *opts,
                         double timeout, loom_stream **out);

/* Connect to a Unix-domain socket (path or "@abstract").  Same returns,
 * plus LOOM_ENOENT when nothing listens at path. */
int loom_open_unix_connection(const char *path, const loom_stream_opts *opts,
                              double timeout, loom_stream **out);

/* Wrap a connected stream socket (TCP or Unix; not a pipe) on the current
 * loop (made non-blocking; the stream owns and closes it from now on; on
 * failure the caller still owns it).  Returns 0, LOOM_EINVAL (bad fd or
 * watermarks), LOOM_ENOMEM, LOOM_ENOTASK (no loop runs on this thread). */
int loom_stream_from_fd(int fd, const loom_stream_opts *opts, loom_stream **out);

/* -- reading.  Data the peer sent stays in the stream until a read takes
 * it; a read that times out or is cancelled takes nothing. -- */

/* Up to n bytes (at least 1) as soon as any are available; 0 at end of
 * stream.  Returns the count, or LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_EBUSY
 * (another task is reading), LOOM_ECONNRESET, -errno. */
ssize_t loom_stream_read(loom_stream *s, void *buf, size_t n, double timeout);

/* Everything until end of stream.  *data gets a buffer the caller frees
 * with free() (NUL-terminated for convenience, *len excludes it).
 * Returns 0, LOOM_ELIMIT (more than `max` bytes; nothing taken), or the
 * errors of loom_stream_read. */
int loom_stream_read_all(loom_stream *s, size_t max, void **data, size_t *len,
                         double timeout);

/* Exactly n bytes into buf.  Returns 0, or LOOM_EINCOMPLETE when the stream
 * ends first: the partial data is in buf and *got (may be NULL) says how
 * much.  On timeout or cancel nothing is taken (*got = 0). */
int loom_stream_readexactly(loom_stream *s, void *buf, size_t n, size_t *got,
                            double timeout);

/* Bytes up to and including `sep` (seplen >= 1) into buf; *got gets the
 * length.  Returns 0, or LOOM_ELIMIT when no separator ends within
 * min(limit, cap) bytes (the data stays in the stream, as with asyncio's
 * LimitOverrunError: read it with loom_stream_read or a bigger buffer), or
 * LOOM_EINCOMPLETE when the stream ends before a separator (the partial data
 * is taken into buf and *got says how much), or the errors of
 * loom_stream_read.  On timeout or cancel nothing is taken (*got = 0). */
int loom_stream_readuntil(loom_stream *s, const void *sep, size_t seplen, void *buf,
                          size_t cap, size_t *got, double timeout);

/* One line ending in '\n' (included); returns its length.  At end of stream
 * the last partial line is returned as is, and then 0.  A line longer than
 * min(limit, cap) gives LOOM_ELIMIT and is discarded (asyncio's readline). */
ssize_t loom_stream_readline(loom_stream *s, void *buf, size_t cap, double timeout);

/* True once the peer closed its side and the buffer is empty. */
bool loom_stream_at_eof(const loom_stream *s);

/* -- writing.  Backpressure by default: loom_stream_write waits (suspends
 * the task) while the write buffer is over the high watermark, until it
 * falls to the low watermark, and then buffers all of `data` - so a peer
 * that never reads cannot make memory grow without bound.  A write that
 * times out or is cancelled wrote nothing. -- */

/* Returns 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_ECLOSED (after close or
 * write_eof), LOOM_EPIPE / LOOM_ECONNRESET (the connection failed; the
 * same error on every later write), LOOM_ENOMEM. */
int loom_stream_write(loom_stream *s, const void *data, size_t len, double timeout);

/* Same for a gather list (all or nothing). Returns as loom_stream_write,
 * plus LOOM_EINVAL for a negative iovcnt. */
int loom_stream_writev(loom_stream *s, const struct iovec *iov, int iovcnt,
                       double timeout);

/* asyncio's writer.write(): buffer without waiting (the caller must drain).
 * Returns 0, LOOM_ECLOSED, LOOM_EPIPE, LOOM_ECONNRESET, LOOM_ENOMEM. */
int loom_stream_write_nowait(loom_stream *s, const void *data, size_t len);

/* Wait until the write buffer is at or below the low watermark.  Several
 * tasks may drain at once; all are woken.  Returns 0, LOOM_ETIMEDOUT,
 * LOOM_ECANCELLED, or the connection's error. */
int loom_stream_drain(loom_stream *s, double timeout);

/* Bytes buffered and not yet sent. */
size_t loom_stream_write_buffer_size(const loom_stream *s);

/* Change the watermarks (low 0 = high / 4). Returns 0 or LOOM_EINVAL
 * (low > high). */
int loom_stream_set_write_limits(loom_stream *s, size_t high, size_t low);

/* Half-close: send FIN after the buffered data; reading goes on.
 * Returns 0, LOOM_ECLOSED, LOOM_EINVAL (not a socket). */
int loom_stream_write_eof(loom_stream *s);

/* Start closing: buffered data is still sent, then the socket is closed.
 * Idempotent. Returns 0. */
int loom_stream_close(loom_stream *s);

/* Close now, dropping unsent data (asyncio's transport.abort()). */
void loom_stream_abort(loom_stream *s);

/* Wait until a started close has finished.  Returns 0, LOOM_ETIMEDOUT,
 * LOOM_ECANCELLED, LOOM_EINVALIDSTATE (close was not called), LOOM_ENOTASK
 * (it would have to wait outside a task), or the error that lost buffered
 * data (LOOM_EPIPE...). */
int loom_stream_wait_closed(loom_stream *s, double timeout);

/* Abort if still open, then free.  NULL is ignored.  Must not be called
 * while another task is inside an operation on s. */
void loom_stream_destroy(loom_stream *s);

/* Peer and local addresses. Return 0, LOOM_ECLOSED, -errno. */
int loom_stream_peername(const loom_stream *s, loom_addr *out);
int loom_stream_sockname(const loom_stream *s, loom_addr *out);

/* The socket, for setsockopt and the like (the stream still owns it). */
int loom_stream_fd(const loom_stream *s);

/* ====================================================================== */
/* Servers  [needs the loop]                                               */
/* ====================================================================== */
typedef struct loom_server loom_server;

/* Runs in its own task for each accepted connection.  The stream is
 * borrowed: when the handler returns, the server sends what is still
 * buffered (for at most 30 s), then closes and frees the stream.
 * A negative return is reported (loom/debug.h) with the peer's address. */
typedef int (*loom_conn_fn)(loom_stream *s, void *arg);

typedef struct loom_server_opts {
  int backlog;                  /* listen() backlog (default 100) */
  bool no_reuse_address;        /* SO_REUSEADDR is set unless this is true */
  bool reuse_port;              /* SO_REUSEPORT: one loop per core on one port */
  int family;                   /* AF_UNSPEC (all), AF_INET or AF_INET6 */
  const loom_stream_opts *stream; /* options of the accepted streams */
} loom_server_opts;

/* Listen on host:port (NULL host: every interface, IPv4 and IPv6; port 0:
 * a free port, see loom_server_addr) and start accepting, one task per
 * connection, on the current loop.  A host name (not a numeric address)
 * is looked up first, which needs a task to wait in.  Accepting goes on when descriptors run out (EMFILE/ENFILE):
 * a spare descriptor sheds the backlog and accepting backs off before
 * trying again.  *out gets the server (destroy it).
 * Returns 0, LOOM_EINVAL, LOOM_ENOMEM, LOOM_ENOTASK, LOOM_EADDRINUSE,
 * a resolution error, -errno. */
int loom_start_server(loom_conn_fn fn, void *arg, const char *host, int port,
                      const loom_server_opts *opts, loom_server **out);

/* Same on a Unix-domain path (an existing socket file is replaced). */
int loom_start_unix_server(loom_conn_fn fn, void *arg, const char *path,
                           const loom_server_opts *opts, loom_server **out);

/* Number of listening sockets, and the address of the i-th. */
size_t loom_server_naddrs(const loom_server *srv);
int loom_server_addr(const loom_server *srv, size_t i, loom_addr *out);

/* Wait until the server is closed (returns 0) or the task is cancelled
 * (LOOM_ECANCELLED; the server is then closed too, as in asyncio).
 * LOOM_ENOTASK outside a task. */
int loom_server_serve_forever(loom_server *srv);

/* Stop listening; connections already accepted go on. Idempotent. */
int loom_server_close(loom_server *srv);

/* Cancel every connection handler task (after close). Returns how many. */
int loom_server_close_clients(loom_server *srv);

/* Wait until closed and every handler has returned. Returns 0,
 * LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_EINVALIDSTATE (not closed),
 * LOOM_ENOTASK (it would have to wait outside a task). */
int loom_server_wait_closed(loom_server *srv, double timeout);

/* Close, cancel the handlers and free.  In a task it waits (up to 5 s) for
 * the handlers to finish; otherwise, or if some are still running, the
 * memory is released when the last handler ends.  NULL is ignored. */
void loom_server_destroy(loom_server *srv);

/* ====================================================================== */
/* Datagram endpoints  [needs the loop]                                    */
/* ====================================================================== */
typedef struct loom_dgram loom_dgram;

/* The callback (protocol) form: runs on the loop for each datagram, with
 * borrowed data and sender. */
typedef void (*loom_dgram_fn)(loom_dgram *d, const void *data, size_t len,
                              const loom_addr *from, void *arg);

typedef struct loom_dgram_opts {
  const loom_addr *local;  /* bind here (NULL: an ephemeral port) */
  const loom_addr *remote; /* connect here (NULL: unconnected) */
  bool reuse_port;         /* SO_REUSEPORT */
  bool broadcast;          /* SO_BROADCAST */
  loom_dgram_fn on_datagram; /* NULL: use loom_dgram_recvfrom */
  void *arg;
} loom_dgram_opts;

/* Open a UDP (or Unix datagram) endpoint on the current loop (call it from a
 * task or a loop callback).  At least one of local and remote is needed; the
 * socket's family is theirs.  With on_datagram set, the loop calls it for
 * every datagram (callback form) and recvfrom is not available.
 * *out gets the endpoint, freed by loom_dgram_close().
 * Returns 0, LOOM_EINVAL, LOOM_ENOMEM, LOOM_ENOTASK (no current loop),
 * LOOM_EADDRINUSE, -errno. */
int loom_dgram_open(const loom_dgram_opts *opts, loom_dgram **out);

/* One datagram, as loom_sock_recvfrom (its full length; > cap means it was
 * truncated).  Returns also LOOM_EINVALIDSTATE (callback form), LOOM_EBUSY
 * (another task is receiving), LOOM_ECLOSED. */
ssize_t loom_dgram_recvfrom(loom_dgram *d, void *buf, size_t cap, loom_addr *from,
                            double timeout);

/* One datagram to `to` (NULL when connected). Returns len, LOOM_EINVAL,
 * LOOM_ECLOSED, LOOM_ETIMEDOUT, LOOM_ECANCELLED, -EMSGSIZE, -errno.  With
 * timeout 0 it never waits, so loop callbacks (the callback form) can send:
 * a full socket buffer then gives LOOM_ETIMEDOUT. */
ssize_t loom_dgram_sendto(loom_dgram *d, const void *data, size_t len,
                          const loom_addr *to, double timeout);

/* The local address. Returns 0, LOOM_EINVAL, -errno. */
int loom_dgram_sockname(const loom_dgram *d, loom_addr *out);

/* Close and free (deferred until the callback returns when called from
 * on_datagram).  Must not be called while a task is inside recvfrom or
 * sendto on d.  NULL is ignored. */
void loom_dgram_close(loom_dgram *d);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_NET_H */
