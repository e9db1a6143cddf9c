/* ex_echo - an echo server and client on loom's streams (asyncio's
 * tcp_echo_server / tcp_echo_client).
 *
 *     ex_echo server [--port 8888] [--host 127.0.0.1]
 *     ex_echo client [--port 8888] [--host 127.0.0.1] [--clients K] MESSAGE...
 *
 * The server runs one task per connection and sends every line back.  The
 * client runs K concurrent client tasks; each sends every MESSAGE as a line,
 * prints what came back, and closes.  The server's main task awaits SIGINT
 * or SIGTERM (a loom_signal_watch) and then closes the server cleanly.
 */
#include <loom.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct opts {
  const char *host;
  int port, clients, nmsg;
  char **msgs;
  long lines, failures;
} opts;

static int echo(loom_stream *s, void *arg) {
  opts *o = arg;
  loom_addr peer;
  char who[LOOM_ADDR_STRLEN] = "?", line[4096];
  if (loom_stream_peername(s, &peer) == 0) loom_addr_format(&peer, who, sizeof who);
  ssize_t n;
  while ((n = loom_stream_readline(s, line, sizeof line, LOOM_FOREVER)) > 0) {
    o->lines++;
    int rc = loom_stream_write(s, line, (size_t)n, 30.0);
    if (rc < 0) return rc;
  }
  printf("server: %s disconnected\n", who);
  fflush(stdout);
  return n < 0 && n != LOOM_ELIMIT ? (int)n : 0;
}

static int serve(loom_future *self, void *arg) { return loom_server_serve_forever(arg); }

/* The main task listens, serves in a second task, and itself just awaits
 * SIGINT or SIGTERM (loom/signal.h); then it stops the server in order. */
static int server_main(loom_future *self, void *arg) {
  opts *o = arg;
  static const int stop_sigs[] = {SIGINT, SIGTERM};
  loom_signal_watch *watch;
  int rc = loom_signal_watch_create(NULL, stop_sigs, 2, &watch);
  if (rc < 0) return rc;
  loom_server *srv;
  rc = loom_start_server(echo, o, o->host, o->port, NULL, &srv);
  if (rc < 0) {
    fprintf(stderr, "ex_echo: cannot listen on %s:%d: %s\n", o->host, o->port,
            loom_strerror(rc));
    loom_signal_watch_destroy(watch);
    return rc;
  }
  loom_future *server_task;
  loom_task_spawn(loom_task_loop(self), serve, srv, "serve", &server_task);
  printf("server: listening on %s:%d\n", o->host, o->port);
  fflush(stdout);
  int signo = 0;
  rc = loom_signal_watch_wait(watch, LOOM_FOREVER, &signo);
  printf("server: got %s, stopping\n", signo == SIGINT ? "SIGINT" : "SIGTERM");
  loom_server_close(srv);           /* serve_forever returns */
  loom_server_close_clients(srv);
  loom_future_wait(server_task, 10.0);
  loom_future_release(server_task);
  loom_server_wait_closed(srv, 10.0);
  loom_server_destroy(srv);
  loom_signal_watch_destroy(watch);
  printf("server: echoed %ld lines\n", o->lines);
  return rc;
}

static int one_client(loom_future *self, void *arg) {
  opts *o = arg;
  loom_stream *s;
  int rc = loom_open_connection(o->host, o->port, NULL, 10.0, &s);
  if (rc < 0) {
    fprintf(stderr, "client: cannot connect: %s\n", loom_strerror(rc));
    o->failures++;
    return 0;
  }
  for (int i = 0; i < o->nmsg && rc == 0; i++) {
    char line[4096];
    int len = snprintf(line, sizeof line, "%s\n", o->msgs[i]);
    rc = loom_stream_write(s, line, (size_t)len, 10.0);
    ssize_t n = rc < 0 ? rc : loom_stream_readline(s, line, sizeof line, 10.0);
    if (n <= 0) rc = n < 0 ? (int)n : LOOM_EINCOMPLETE;
    else printf("%s: echo: %.*s", loom_task_name(self), (int)n, line);
  }
  if (rc < 0) o->failures++;
  loom_stream_destroy(s);
  return 0;
}

static int client_main(loom_future *self, void *arg) {
  opts *o = arg;
  loom_future **ts = calloc((size_t)o->clients, sizeof *ts);
  for (int i = 0; i < o->clients; i++) {
    char name[32];
    snprintf(name, sizeof name, "client-%d", i + 1);
    loom_task_spawn(loom_task_loop(self), one_client, o, name, &ts[i]);
  }
  for (int i = 0; i < o->clients; i++) {
    loom_future_wait(ts[i], LOOM_FOREVER);
    loom_future_release(ts[i]);
  }
  free(ts);
  printf("client: %d clients done, %ld failed\n", o->clients, o->failures);
  return o->failures ? LOOM_EFAILED : 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
    fprintf(stderr, "usage: ex_echo server|client [--port P] [--host H] [--clients K] MSG...\n");
    return 2;
  }
  opts o = {.host = "127.0.0.1", .port = 8888, .clients = 1};
  int i = 2;
  for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    if (strcmp(argv[i], "--port") == 0) o.port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--host") == 0) o.host = argv[i + 1];
    else if (strcmp(argv[i], "--clients") == 0) o.clients = atoi(argv[i + 1]);
  }
  o.msgs = argv + i;
  o.nmsg = argc - i;
  bool server = strcmp(argv[1], "server") == 0;
  int rc = loom_run(server ? server_main : client_main, &o, NULL, NULL);
  return rc < 0 ? 1 : 0;
}
