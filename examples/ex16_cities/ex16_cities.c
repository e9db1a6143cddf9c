/* ex16_cities - threads (and coroutines) fetching a value for ten cities
 * concurrently from a local JSON endpoint (MISSION.md §5, example 16).
 *
 *     ex16_cities [--delay 0.2] [--url http://127.0.0.1:PORT] [--timeout 10]
 *     ex16_cities --serve [--port 8016]     (0: a free port, printed)
 *
 * Without --url it starts the endpoint (GET /city/<name>?delay=S, cities.c,
 * on examples/common/http_server) on a free loopback port in a thread of its
 * own running its own loop.  Then it fetches the ten cities three ways and
 * prints each value and each style's time:
 *   sequential  - one libcurl easy handle, one city after another;
 *   threads     - a loom thread pool of ten, one easy handle per job (map);
 *   coroutines  - ten tasks on one loop, each awaiting its transfer's future
 *                 (libcurl's multi interface driven by the loop:
 *                 examples/common/curl_loop).
 * With a delay, the last two take about one delay, the first ten.
 * --serve only runs the endpoint, until SIGINT or SIGTERM (awaited with a
 * loom_signal_watch).
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <loom.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cities.h"
#include "curl_loop.h"

typedef struct opts {
  double delay, timeout;
  const char *url;
  int port;
  char base[256];
} opts;

/* One city's answer. */
typedef struct value {
  char city[64];
  double temperature;
  long population;
} value;

/* ---- the endpoint ---------------------------------------------------------- */

typedef struct endpoint {
  int port;
  bool serve_only;
  loom_event *ready, *stop;
  int rc;
} endpoint;

static int serve_task(loom_future *self, void *arg) { return http_server_serve_forever(arg); }

/* Until SIGINT/SIGTERM (--serve; the watch exists before the port is
 * announced, so no signal sent after that is lost) or the stop event. */
static int wait_for_stop(endpoint *ep, loom_signal_watch *watch, http_server *srv) {
  if (!watch) return loom_event_wait(ep->stop, LOOM_FOREVER); /* set by main */
  printf("endpoint: serving on 127.0.0.1:%d (GET /city/<name>?delay=S)\n", ep->port);
  fflush(stdout);
  int signo = 0;
  int rc = loom_signal_watch_wait(watch, LOOM_FOREVER, &signo);
  printf("endpoint: %s, %llu requests served\n", signo == SIGINT ? "SIGINT" : "SIGTERM",
         (unsigned long long)http_server_requests(srv));
  return rc;
}

static int endpoint_main(loom_future *self, void *arg) {
  endpoint *ep = arg;
  static const int sigs[] = {SIGINT, SIGTERM};
  loom_signal_watch *watch = NULL;
  http_server *srv = NULL;
  http_server_opts o = {.port = ep->port};
  int rc = ep->serve_only ? loom_signal_watch_create(NULL, sigs, 2, &watch) : 0;
  if (rc == 0) rc = http_server_create(&o, &srv);
  if (rc == 0) rc = cities_routes(srv);
  if (rc == 0) rc = http_server_start(srv);
  ep->rc = rc;
  ep->port = rc ? -1 : http_server_port(srv);
  loom_event_set(ep->ready);
  loom_future *server = NULL;
  if (rc == 0) rc = loom_task_spawn(loom_task_loop(self), serve_task, srv, "serve", &server);
  if (rc == 0) rc = wait_for_stop(ep, watch, srv);
  http_server_close(srv, 5.0);
  if (server) loom_future_wait(server, 5.0);
  loom_future_release(server);
  http_server_destroy(srv);
  loom_signal_watch_destroy(watch);
  return rc;
}

static int endpoint_thread(loom_future *self, void *arg) {
  return loom_run(endpoint_main, arg, NULL, NULL);
}

/* ---- parsing a reply ------------------------------------------------------- */

static int parse_value(const char *body, value *v) {
  json_error_t err;
  json_t *j = json_loads(body, 0, &err);
  const char *city;
  json_int_t pop;
  int rc = j && json_unpack(j, "{s:s, s:F, s:I}", "city", &city, "temperature",
                            &v->temperature, "population", &pop) == 0 ? 0 : -EPROTO;
  if (rc == 0) {
    snprintf(v->city, sizeof v->city, "%s", city);
    v->population = (long)pop;
  }
  json_decref(j);
  return rc;
}

static void city_url(const opts *o, const char *city, char *url, size_t cap) {
  snprintf(url, cap, "%s/city/%s?delay=%g", o->base, city, o->delay);
}

static void print_value(const char *style, const value *v) {
  printf("  [%s] %-10s %6.1f C  population %ld\n", style, v->city, v->temperature,
         v->population);
}

/* ---- sequential and threads: libcurl easy handles ----------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *arg) {
  char **buf = arg;
  size_t old = *buf ? strlen(*buf) : 0, add = size * n;
  char *nb = realloc(*buf, old + add + 1);
  if (!nb) return 0;
  memcpy(nb + old, p, add);
  nb[old + add] = '\0';
  *buf = nb;
  return add;
}

/* GET url with `easy` and parse the city it returns. */
static int easy_fetch(CURL *easy, const char *url, double timeout, value *v) {
  char *body = NULL;
  long status = 0;
  curl_easy_setopt(easy, CURLOPT_URL, url);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
  CURLcode c = curl_easy_perform(easy);
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  int rc = c != CURLE_OK ? LOOM_EFAILED : status != 200 ? -EPROTO : 0;
  if (rc == 0) rc = parse_value(body, v);
  else fprintf(stderr, "%s: %s (HTTP %ld)\n", url, curl_easy_strerror(c), status);
  free(body);
  return rc;
}

static int run_sequential(const opts *o, value *out) {
  CURL *easy = curl_easy_init(); /* reused: one kept-alive connection */
  if (!easy) return LOOM_ENOMEM;
  int rc = 0;
  for (int i = 0; i < NCITIES && rc == 0; i++) {
    char url[512];
    city_url(o, cities[i], url, sizeof url);
    rc = easy_fetch(easy, url, o->timeout, &out[i]);
  }
  curl_easy_cleanup(easy);
  return rc;
}

typedef struct job {
  const opts *o;
  int i;
} job;

static int fetch_job(loom_future *self, void *arg) {
  job *j = arg;
  value *v = calloc(1, sizeof *v);
  CURL *easy = curl_easy_init();
  char url[512];
  city_url(j->o, cities[j->i], url, sizeof url);
  int rc = v && easy ? easy_fetch(easy, url, j->o->timeout, v) : LOOM_ENOMEM;
  curl_easy_cleanup(easy);
  if (rc < 0) {
    free(v);
    return loom_future_set_error(self, rc, "%s failed", cities[j->i]);
  }
  return loom_future_set_result(self, v, free);
}

static int run_threads(const opts *o, value *out) {
  loom_executor *pool;
  loom_thread_pool_options po = {.max_workers = NCITIES, .thread_name_prefix = "city"};
  int rc = loom_thread_pool_create(&pool, &po);
  if (rc < 0) return rc;
  job jobs[NCITIES];
  void *items[NCITIES];
  for (int i = 0; i < NCITIES; i++) {
    jobs[i] = (job){o, i};
    items[i] = &jobs[i];
  }
  loom_map *it = NULL;
  rc = loom_executor_map(pool, fetch_job, items, NCITIES, o->timeout * 2, NULL, &it);
  for (int i = 0; rc == 0; i++) {
    value *v;
    int r = loom_map_next(it, (void **)&v);
    if (r == LOOM_ESTOP) break;
    if (r < 0) rc = r;
    else out[i] = *v; /* results come in input order */
  }
  loom_map_destroy(it);
  loom_executor_shutdown(pool, true, true);
  loom_executor_destroy(pool);
  return rc;
}

/* ---- coroutines: curl multi on the loop ------------------------------------ */

typedef struct coro_ctx {
  const opts *o;
  curl_loop *cl;
  value *out;
  int failures;
} coro_ctx;

typedef struct city_task {
  coro_ctx *c;
  int i;
} city_task;

static int city_coro(loom_future *self, void *arg) {
  city_task *t = arg;
  char url[512];
  city_url(t->c->o, cities[t->i], url, sizeof url);
  curl_fetch *r;
  int rc = curl_loop_get(t->c->cl, url, t->c->o->timeout, &r);
  if (rc == 0) {
    rc = r->status == 200 ? parse_value(r->body, &t->c->out[t->i]) : -EPROTO;
    curl_fetch_free(r);
  }
  if (rc < 0) t->c->failures++;
  return rc;
}

static int coro_main(loom_future *self, void *arg) {
  coro_ctx *c = arg;
  int rc = curl_loop_create(NULL, &c->cl);
  if (rc < 0) return rc;
  city_task ts[NCITIES];
  loom_future *fs[NCITIES];
  for (int i = 0; i < NCITIES; i++) {
    ts[i] = (city_task){c, i};
    rc = loom_task_spawn(loom_task_loop(self), city_coro, &ts[i], cities[i], &fs[i]);
    if (rc < 0) return rc; /* cannot happen short of memory; tasks are cancelled by loom_run */
  }
  loom_future *all;
  rc = loom_gather(loom_task_loop(self), fs, NCITIES, 0, &all);
  if (rc == 0) {
    rc = loom_future_wait(all, LOOM_FOREVER);
    if (rc == 0) rc = loom_future_error(all, 0, NULL);
    loom_future_release(all);
  }
  for (int i = 0; i < NCITIES; i++) loom_future_release(fs[i]);
  curl_loop_destroy(c->cl);
  return rc < 0 ? rc : c->failures ? LOOM_EFAILED : 0;
}

static int run_coroutines(const opts *o, value *out) {
  coro_ctx c = {.o = o, .out = out};
  return loom_run(coro_main, &c, NULL, NULL);
}

/* ---- main -------------------------------------------------------------------- */

typedef int (*style_fn)(const opts *o, value *out);

static int run_style(const opts *o, const char *name, style_fn fn, double *secs) {
  value vals[NCITIES] = {0};
  double t0 = loom_now();
  int rc = fn(o, vals);
  *secs = loom_now() - t0;
  if (rc < 0) {
    fprintf(stderr, "%s: failed: %s\n", name, loom_strerror(rc));
    return rc;
  }
  for (int i = 0; i < NCITIES; i++) print_value(name, &vals[i]);
  return 0;
}

static int parse_args(int argc, char **argv, opts *o, bool *serve) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--serve") == 0) { *serve = true; continue; }
    if (!v) return -1;
    if (strcmp(a, "--delay") == 0) o->delay = atof(v);
    else if (strcmp(a, "--timeout") == 0) o->timeout = atof(v);
    else if (strcmp(a, "--url") == 0) o->url = v;
    else if (strcmp(a, "--port") == 0) o->port = atoi(v);
    else return -1;
    i++;
  }
  return o->delay < 0 || o->delay > 10 || o->timeout <= 0 ? -1 : 0;
}

static int serve_only(opts *o) {
  endpoint ep = {.port = o->port >= 0 ? o->port : 8016, .serve_only = true};
  loom_event_create(&ep.ready);
  loom_event_create(&ep.stop);
  int rc = loom_run(endpoint_main, &ep, NULL, NULL);
  if (ep.rc < 0) fprintf(stderr, "endpoint: cannot listen: %s\n", loom_strerror(ep.rc));
  loom_event_destroy(ep.ready);
  loom_event_destroy(ep.stop);
  return rc < 0 ? 1 : 0;
}

static int fetch_all(opts *o) {
  const char *names[] = {"sequential", "threads", "coroutines"};
  style_fn fns[] = {run_sequential, run_threads, run_coroutines};
  double secs[3];
  printf("endpoint: %s (delay %.2f s per request)\n", o->base, o->delay);
  for (int s = 0; s < 3; s++) {
    if (run_style(o, names[s], fns[s], &secs[s]) < 0) return 1;
    if (s == 0) printf("%s: %d cities in %.3f s\n", names[s], NCITIES, secs[s]);
    else printf("%s: %d cities in %.3f s (%.1fx faster than sequential)\n", names[s],
                NCITIES, secs[s], secs[0] / secs[s]);
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  opts o = {.delay = 0.2, .timeout = 10.0, .port = -1};
  bool serve = false;
  if (parse_args(argc, argv, &o, &serve) < 0) {
    fprintf(stderr, "usage: ex16_cities [--delay S] [--url BASE] [--timeout S]\n"
                    "       ex16_cities --serve [--port P]\n");
    return 2;
  }
  if (serve) return serve_only(&o);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  endpoint ep = {0};
  loom_thread *th = NULL;
  int rc = 0;
  if (o.url) {
    snprintf(o.base, sizeof o.base, "%s", o.url);
  } else {
    loom_event_create(&ep.ready);
    loom_event_create(&ep.stop);
    rc = loom_thread_start(&th, "endpoint", endpoint_thread, &ep);
    if (rc == 0) rc = loom_event_wait(ep.ready, 10.0);
    if (rc == 0) rc = ep.rc;
    snprintf(o.base, sizeof o.base, "http://127.0.0.1:%d", ep.port);
  }
  if (rc < 0) fprintf(stderr, "endpoint: cannot start: %s\n", loom_strerror(rc));
  int status = rc < 0 ? 1 : fetch_all(&o);
  if (th) {
    loom_event_set(ep.stop);
    loom_thread_join(th, 10.0);
    loom_thread_destroy(th);
  }
  loom_event_destroy(ep.ready);
  loom_event_destroy(ep.stop);
  curl_global_cleanup();
  return status;
}
