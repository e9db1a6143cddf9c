/* sort_proto.h - example 21's wire protocol: a request is an 8-byte
 * big-endian length followed by that many bytes of JSON, an array of
 * numbers; the reply is framed the same way and holds the sorted array (or
 * {"error": "..."} for a bad request).
 *
 * Numbers keep their JSON kind: integers stay exact 64-bit integers (a
 * double cannot hold 9007199254740993), reals stay doubles, and mixed arrays
 * sort by numeric value.
 */
#ifndef LOOM_EX21_SORT_PROTO_H
#define LOOM_EX21_SORT_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
  SORT_ETOOBIG = -1,    /* frame length over the server's limit */
  SORT_EJSON = -2,      /* not valid JSON */
  SORT_ENOTARRAY = -3,  /* valid JSON, but not an array */
  SORT_ENOTNUMBER = -4, /* an element is not a number */
  SORT_ENOMEM = -5,
};

#define SORT_HEADER_LEN 8
#define SORT_DEFAULT_MAX (64u << 20) /* largest request body accepted */

typedef struct sort_num {
  bool is_int;
  union {
    int64_t i;
    double d;
  } v;
} sort_num;

/* Encode / decode the 8-byte big-endian length. */
void sort_frame_header(uint8_t hdr[SORT_HEADER_LEN], uint64_t len);
/* Returns 0 with *len, or SORT_ETOOBIG when the length exceeds max. */
int sort_frame_length(const uint8_t hdr[SORT_HEADER_LEN], uint64_t max, size_t *len);

/* Parse a JSON array of numbers.  *out gets a malloc'd array (free()) of *n
 * numbers.  Returns 0, SORT_EJSON, SORT_ENOTARRAY, SORT_ENOTNUMBER,
 * SORT_ENOMEM. */
int sort_parse(const char *json, size_t len, sort_num **out, size_t *n);

/* Sort ascending by value (stable for equal values is not promised). */
void sort_numbers(sort_num *v, size_t n);

/* Compact JSON for the numbers; *json is malloc'd (free()), *len its length.
 * Returns 0 or SORT_ENOMEM. */
int sort_format(const sort_num *v, size_t n, char **json, size_t *len);

/* The whole service for one request body: parse, sort, format.  On a bad
 * request the reply is {"error": "<message>"} and the code is returned;
 * *reply is always set (malloc'd) unless SORT_ENOMEM. */
int sort_handle(const char *body, size_t len, char **reply, size_t *rlen);

const char *sort_strerror(int rc);

#endif
