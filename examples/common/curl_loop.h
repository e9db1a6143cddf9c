/* curl_loop.h - libcurl's multi interface driven by a loom loop, so that
 * tasks can await HTTP transfers (the examples' HTTP client side; not part
 * of libloom).
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when
 * to call it back (CURLMOPT_TIMERFUNCTION); the loop watches them with
 * loom_loop_add_reader/add_writer and a loop timer, and hands readiness to
 * curl_multi_socket_action.  Each transfer is a loom future, so a task
 * awaits it (suspending only the task), a plain thread can block on it, and
 * it mixes with any other future in loom_wait / as_completed.
 *
 * Call curl_global_init(CURL_GLOBAL_DEFAULT) once in main before creating a
 * curl_loop.  A curl_loop belongs to one loop and is used from that loop's
 * thread (its tasks and callbacks) only.
 */
#ifndef LOOM_EXAMPLES_CURL_LOOP_H
#define LOOM_EXAMPLES_CURL_LOOP_H

#include <stddef.h>

#include <loom.h>

typedef struct curl_loop curl_loop;

/* The result value of a finished transfer's future (owned by the future;
 * read it with loom_future_result, or take it with
 * loom_future_take_result and free it with curl_fetch_free). */
typedef struct curl_fetch {
  long status;          /* HTTP status code, e.g. 200 or 404 */
  char *body;           /* NUL-terminated (body_len bytes + NUL) */
  size_t body_len;
  double seconds;       /* total transfer time */
} curl_fetch;

void curl_fetch_free(void *fetch);

/* Create a driver on `loop` (NULL: the current one).  *out is freed with
 * curl_loop_destroy.  Returns 0, LOOM_EINVAL (no loop), LOOM_ENOMEM,
 * LOOM_EFAILED (curl_multi_init failed). */
int curl_loop_create(loom_loop *loop, curl_loop **out);

/* Start a GET of `url` with a total `timeout` in seconds (<= 0: none) and
 * return its future in *out (one reference, the caller releases it).  The
 * future finishes with a curl_fetch (any HTTP status counts as success) or
 * fails with LOOM_EFAILED and curl's message (connection refused, timeout,
 * ...).  Cancelling the future aborts the transfer.
 * Returns 0, LOOM_EINVAL, LOOM_ENOMEM, LOOM_EFAILED (curl refused it). */
int curl_loop_fetch(curl_loop *cl, const char *url, double timeout, loom_future **out);

/* In a task: fetch and await.  *out (freed with curl_fetch_free) receives
 * the result.  A cancel of the calling task aborts the transfer.
 * Returns 0, LOOM_EFAILED (the transfer failed: refused, timed out...; use
 * curl_loop_fetch to read curl's message from the future), LOOM_ECANCELLED,
 * or as curl_loop_fetch. */
int curl_loop_get(curl_loop *cl, const char *url, double timeout, curl_fetch **out);

/* Transfers in flight. */
int curl_loop_active(const curl_loop *cl);

/* Abort every transfer still in flight (their futures end cancelled) and
 * free the driver.  NULL is ignored. */
void curl_loop_destroy(curl_loop *cl);

#endif /* LOOM_EXAMPLES_CURL_LOOP_H */
