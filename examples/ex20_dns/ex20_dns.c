/* ex20_dns - a small DNS server over UDP on loom's event loop (MISSION §5,
 * example 20).
 *
 * It answers A queries from a small table, and 127.0.0.1 for every other
 * name; other record types get an empty NOERROR answer.  A malformed packet
 * never crashes it: it gets a FORMERR answer when its header is readable,
 * and no answer otherwise.  The endpoint uses loom's datagram callback form
 * (asyncio's DatagramProtocol): the loop calls on_query for each datagram.
 *
 *     ex20_dns [--port 4343] [--host 127.0.0.1]
 *     dig @127.0.0.1 -p 4343 example.com
 *
 * SIGINT or SIGTERM stops it and prints what it served.
 */
#include <loom.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_msg.h"

typedef struct entry {
  const char *name;
  uint8_t ip[4];
} entry;

static const entry table[] = {
    {"example.com", {93, 184, 216, 34}},
    {"loom.test", {10, 0, 0, 1}},
    {"db.loom.test", {10, 0, 0, 2}},
    {"www.python.org", {151, 101, 0, 223}},
};
static const uint8_t fallback[4] = {127, 0, 0, 1};

typedef struct server {
  long answered, malformed;
  const char *host;
  int port;
} server;

static const uint8_t *lookup(const char *name) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].ip;
  return fallback;
}

static void on_query(loom_dgram *d, const void *data, size_t len, const loom_addr *from,
                     void *arg) {
  server *srv = arg;
  char who[LOOM_ADDR_STRLEN];
  loom_addr_format(from, who, sizeof who);
  dns_query q;
  uint8_t out[512];
  int rc = dns_parse_query(data, len, &q), n;
  if (rc < 0) {
    srv->malformed++;
    n = dns_build_error(data, len, DNS_RCODE_FORMERR, out, sizeof out);
    printf("malformed packet (%zu bytes) from %s: %s; %s\n", len, who, dns_strerror(rc),
           n > 0 ? "answered FORMERR" : "no answer");
  } else {
    const uint8_t *ip = lookup(q.name);
    n = dns_build_answer(&q, ip, 300, out, sizeof out);
    srv->answered++;
    printf("query %s type %u from %s -> ", q.name[0] ? q.name : ".", q.qtype, who);
    if (q.qtype == DNS_TYPE_A || q.qtype == DNS_TYPE_ANY)
      printf("%u.%u.%u.%u\n", ip[0], ip[1], ip[2], ip[3]);
    else
      printf("no record of that type\n");
  }
  fflush(stdout);
  if (n > 0) loom_dgram_sendto(d, out, (size_t)n, from, 0); /* never waits */
}

static loom_dgram *endpoint;

static void start(void *arg) {
  server *srv = arg;
  loom_addr local;
  int rc = loom_addr_ip(&local, srv->host, srv->port);
  loom_dgram_opts o = {.local = &local, .on_datagram = on_query, .arg = srv};
  if (rc == 0) rc = loom_dgram_open(&o, &endpoint);
  if (rc < 0) {
    fprintf(stderr, "ex20_dns: cannot listen on %s:%d: %s\n", srv->host, srv->port,
            loom_strerror(rc));
    loom_loop_stop(loom_loop_current());
    return;
  }
  printf("ex20_dns: listening on %s:%d (udp)\n", srv->host, srv->port);
  fflush(stdout);
}

static void on_signal(int signum, void *arg) { loom_loop_stop(arg); }

int main(int argc, char **argv) {
  server srv = {.host = "127.0.0.1", .port = 4343};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--port") == 0) srv.port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--host") == 0) srv.host = argv[i + 1];
  }
  loom_loop *loop;
  if (loom_loop_create(&loop, NULL) < 0) return 1;
  loom_loop_add_signal_handler(loop, SIGINT, on_signal, loop);
  loom_loop_add_signal_handler(loop, SIGTERM, on_signal, loop);
  loom_call_soon(loop, start, &srv, NULL);
  loom_loop_run_forever(loop);
  int ok = endpoint != NULL;
  loom_dgram_close(endpoint);
  loom_loop_destroy(loop);
  printf("ex20_dns: answered %ld queries, %ld malformed packets\n", srv.answered,
         srv.malformed);
  return ok ? 0 : 1;
}
