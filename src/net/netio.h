/* netio.h - internal helpers shared by the socket, stream, server and
 * datagram files of src/net. */
#ifndef LOOM_NET_NETIO_H
#define LOOM_NET_NETIO_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/internal.h"

/* Suspend the calling task until fd is readable (or writable), `deadline`
 * (absolute monotonic ns, INT64_MAX never) passes, or the task is
 * cancelled.  Uses a one-shot reader/writer registration on the current
 * loop (so one waiter per fd and direction at a time).
 * Returns 0 (ready), LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_ENOTASK (not in a
 * task on a loop), or the loop's add_reader/add_writer error. */
int loom__net_wait_fd(int fd, bool write, int64_t deadline);

/* Happy Eyeballs over an address list, in the calling task (connect.c):
 * *fd gets the first socket that connected; the other attempts are closed.
 * Returns 0, the last attempt's error, LOOM_ETIMEDOUT, LOOM_ECANCELLED. */
struct loom_addrlist;
struct loom_stream_opts;
int loom__net_connect_list(const struct loom_addrlist *l, const struct loom_stream_opts *o,
                           int64_t deadline, int *fd);

/* loom_stream_from_fd for a descriptor known to be a non-blocking socket
 * (accepted with SOCK_NONBLOCK, or from loom_socket): no probing, two
 * system calls fewer per connection.  Same returns. */
struct loom_stream;
int loom__stream_from_sock(int fd, const struct loom_stream_opts *opts, struct loom_stream **out);

/* Resolve on a detached thread of its own (numeric input inline), for
 * callers that gave no loom_resolver.  Same contract as loom_resolve. */
struct loom_resolve_opts;
int loom__resolve_detached(const char *host, const char *service,
                           const struct loom_resolve_opts *opts, struct loom_future **out);

#endif
