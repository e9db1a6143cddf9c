/* cities.h - example 16's ten cities: the table, the value formula the
 * endpoint serves, and the endpoint itself (an http_server route). */
#ifndef EX16_CITIES_H
#define EX16_CITIES_H

#include <stdint.h>

#include "http_server.h"

#define NCITIES 10
extern const char *const cities[NCITIES];

/* The endpoint's formula, deterministic from the name (FNV-1a 32-bit hash
 * h): temperature = ((h % 451) - 100) / 10 degrees C, population =
 * 100000 + (h / 451) % 9900000.  The test recomputes it independently. */
void city_value(const char *name, double *temperature, long *population);

/* Add the routes GET /city/<name>[?delay=S] (a JSON object; 404 JSON for an
 * unknown city; 400 for a bad delay, which is capped at 10 s) and GET / (the
 * list of cities) to srv. */
int cities_routes(http_server *srv);

#endif
