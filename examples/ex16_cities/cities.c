/* cities.c - the local JSON endpoint of example 16: GET /city/<name> answers
 * {"city": ..., "temperature": ..., "population": ...} computed from the
 * name, after an optional ?delay=S awaited in the connection's task (so many
 * slow requests overlap, which is what the clients' timings show). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cities.h"

const char *const cities[NCITIES] = {"Amsterdam", "Berlin", "Cairo",  "Delhi",  "Lagos",
                                     "Lima",      "Oslo",   "Paris",  "Sydney", "Tokyo"};

void city_value(const char *name, double *temperature, long *population) {
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 16777619u;
  }
  *temperature = ((int)(h % 451) - 100) / 10.0;
  *population = 100000 + (long)((h / 451) % 9900000);
}

static const char *known(const char *name) {
  for (int i = 0; i < NCITIES; i++)
    if (strcasecmp(cities[i], name) == 0) return cities[i];
  return NULL;
}

static int reply_json(http_response *res, int status, json_t *obj) {
  char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
  json_decref(obj);
  if (!text) return LOOM_ENOMEM;
  int rc = http_response_send(res, status, "application/json", text, strlen(text));
  free(text);
  return rc;
}

/* Parse ?delay=S: 0 when absent, -1 when malformed. */
static double parse_delay(const char *query) {
  char buf[32];
  int n = http_query_param(query, "delay", buf, sizeof buf);
  if (n < 0) return n == -1 ? 0 : -1;
  char *end;
  double d = strtod(buf, &end);
  if (n == 0 || *end || !(d >= 0)) return -1;
  return d > 10 ? 10 : d;
}

static int city_handler(const http_request *req, http_response *res, void *arg) {
  const char *name = req->path + strlen("/city/");
  double delay = parse_delay(req->query);
  if (delay < 0)
    return reply_json(res, 400, json_pack("{s:s}", "error", "bad delay"));
  if (delay > 0) {
    int rc = loom_sleep(delay); /* only this connection's task waits */
    if (rc < 0) return rc;
  }
  const char *city = known(name);
  if (!city)
    return reply_json(res, 404, json_pack("{s:s, s:s}", "error", "unknown city", "city", name));
  double t;
  long pop;
  city_value(city, &t, &pop);
  return reply_json(res, 200,
                    json_pack("{s:s, s:f, s:I}", "city", city, "temperature", t,
                              "population", (json_int_t)pop));
}

static int index_handler(const http_request *req, http_response *res, void *arg) {
  if (strcmp(req->path, "/") != 0)
    return reply_json(res, 404, json_pack("{s:s}", "error", "not found"));
  json_t *list = json_array();
  for (int i = 0; list && i < NCITIES; i++) json_array_append_new(list, json_string(cities[i]));
  return reply_json(res, 200, json_pack("{s:o}", "cities", list));
}

int cities_routes(http_server *srv) {
  int rc = http_server_route(srv, "GET", "/city/", city_handler, NULL);
  return rc ? rc : http_server_route(srv, "GET", "/", index_handler, NULL);
}
