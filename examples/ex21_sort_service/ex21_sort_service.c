/* ex21_sort_service - a sort service over TCP on loom (MISSION §5, example 21).
 *
 * Request: an 8-byte big-endian length, then that many bytes of JSON, an
 * array of numbers.  Reply: the same framing around the sorted array, or
 * around {"error": "..."} for a bad request.  A connection may carry many
 * requests.  Each connection is a task (loom_start_server); the parsing and
 * sorting run on a thread pool (the task submits the job and awaits its
 * future, which suspends only the task - asyncio's run_in_executor), so a
 * big sort never blocks the loop.
 *
 *     ex21_sort_service [--port 2015] [--host 127.0.0.1] [--workers N]
 *
 * SIGINT or SIGTERM stops it.
 */
#include <loom.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sort_proto.h"

typedef struct service {
  loom_executor *pool;
  long requests, bad, connections;
} service;

/* Runs on a pool thread: the request body is a private copy (submit_bytes). */
static int sort_job(loom_future *self, void *arg) {
  char *reply;
  size_t len;
  int rc = sort_handle(arg, loom_future_arg_size(self), &reply, &len);
  if (rc == SORT_ENOMEM) return LOOM_ENOMEM;
  loom_future_set_result(self, reply, free); /* a bad request gets its error reply */
  return 0;
}

static int send_frame(loom_stream *s, const char *body, size_t len) {
  uint8_t hdr[SORT_HEADER_LEN];
  sort_frame_header(hdr, len);
  struct iovec v[2] = {{hdr, sizeof hdr}, {(void *)body, len}};
  return loom_stream_writev(s, v, 2, 30.0);
}

/* One request: read the body, sort it on the pool, send the reply. */
static int one_request(service *svc, loom_stream *s, size_t len) {
  char *body = malloc(len ? len : 1);
  if (!body) return LOOM_ENOMEM;
  int rc = loom_stream_readexactly(s, body, len, NULL, 30.0);
  loom_future *f = NULL;
  if (rc == 0) rc = loom_executor_submit_bytes(svc->pool, sort_job, body, len, &f);
  free(body);
  void *reply = NULL;
  if (rc == 0) rc = loom_future_result(f, 60.0, &reply); /* suspends this task only */
  if (rc == 0) {
    svc->requests++;
    if (strncmp(reply, "{\"error\"", 8) == 0) svc->bad++;
    rc = send_frame(s, reply, strlen(reply));
  }
  loom_future_release(f);
  return rc;
}

static int on_connection(loom_stream *s, void *arg) {
  service *svc = arg;
  svc->connections++;
  for (;;) {
    uint8_t hdr[SORT_HEADER_LEN];
    size_t got, len;
    int rc = loom_stream_readexactly(s, hdr, sizeof hdr, &got, 300.0);
    if (rc == LOOM_EINCOMPLETE && got == 0) return 0; /* the client is done */
    if (rc < 0) return rc;
    if (sort_frame_length(hdr, SORT_DEFAULT_MAX, &len) < 0) { /* refuse, then hang up */
      const char *msg = "{\"error\":\"request too large\"}";
      svc->bad++;
      send_frame(s, msg, strlen(msg));
      loom_stream_close(s);
      return loom_stream_wait_closed(s, 10.0);
    }
    rc = one_request(svc, s, len);
    if (rc < 0) return rc;
  }
}

typedef struct args {
  const char *host;
  int port;
  service *svc;
} args;

static void on_signal(int signum, void *arg) { loom_task_cancel(arg, "signal"); }

static int main_task(loom_future *self, void *arg) {
  args *a = arg;
  loom_server *srv;
  int rc = loom_start_server(on_connection, a->svc, a->host, a->port, NULL, &srv);
  if (rc < 0) {
    fprintf(stderr, "ex21_sort_service: cannot listen on %s:%d: %s\n", a->host, a->port,
            loom_strerror(rc));
    return rc;
  }
  loom_loop *loop = loom_task_loop(self);
  loom_loop_add_signal_handler(loop, SIGINT, on_signal, self);
  loom_loop_add_signal_handler(loop, SIGTERM, on_signal, self);
  printf("ex21_sort_service: listening on %s:%d\n", a->host, a->port);
  fflush(stdout);
  rc = loom_server_serve_forever(srv); /* until a signal cancels this task */
  loom_server_destroy(srv);
  return rc == LOOM_ECANCELLED ? 0 : rc;
}

int main(int argc, char **argv) {
  service svc = {0};
  args a = {.host = "127.0.0.1", .port = 2015, .svc = &svc};
  loom_thread_pool_options po = {.thread_name_prefix = "sort"};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) a.port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--host") == 0) a.host = argv[i + 1];
    else if (strcmp(argv[i], "--workers") == 0) po.max_workers = atoi(argv[i + 1]);
  }
  if (loom_thread_pool_create(&svc.pool, &po) < 0) return 1;
  int rc = loom_run(main_task, &a, NULL, NULL); /* asyncio.run(main()) */
  loom_executor_destroy(svc.pool);
  printf("ex21_sort_service: %ld connections, %ld requests, %ld bad\n", svc.connections,
         svc.requests, svc.bad);
  return rc < 0 ? 1 : 0;
}
