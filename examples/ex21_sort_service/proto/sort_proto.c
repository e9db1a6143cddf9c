/* sort_proto.c - example 21's framing and JSON (with jansson, see
 * scripts/deps/net.txt for why jansson). */
#include "sort_proto.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sort_frame_header(uint8_t hdr[SORT_HEADER_LEN], uint64_t len) {
  for (int i = 7; i >= 0; i--, len >>= 8) hdr[i] = (uint8_t)len;
}

int sort_frame_length(const uint8_t hdr[SORT_HEADER_LEN], uint64_t max, size_t *len) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | hdr[i];
  if (v > max || v > SIZE_MAX) return SORT_ETOOBIG;
  *len = (size_t)v;
  return 0;
}

int sort_parse(const char *json, size_t len, sort_num **out, size_t *n) {
  json_error_t err;
  json_t *root = json_loadb(json, len, JSON_DECODE_ANY, &err);
  if (!root) return SORT_EJSON;
  int rc = 0;
  if (!json_is_array(root)) {
    rc = SORT_ENOTARRAY;
    goto done;
  }
  size_t count = json_array_size(root);
  sort_num *v = malloc((count ? count : 1) * sizeof *v);
  if (!v) {
    rc = SORT_ENOMEM;
    goto done;
  }
  for (size_t i = 0; i < count; i++) {
    json_t *e = json_array_get(root, i);
    if (json_is_integer(e)) v[i] = (sort_num){.is_int = true, .v.i = json_integer_value(e)};
    else if (json_is_real(e)) v[i] = (sort_num){.is_int = false, .v.d = json_real_value(e)};
    else {
      free(v);
      rc = SORT_ENOTNUMBER;
      goto done;
    }
  }
  *out = v;
  *n = count;
done:
  json_decref(root);
  return rc;
}

/* Exact comparison of mixed integers and doubles: long double holds every
 * int64 exactly on x86-64 (64-bit mantissa) and aarch64 (quad precision). */
static int cmp(const void *pa, const void *pb) {
  const sort_num *a = pa, *b = pb;
  if (a->is_int && b->is_int) return (a->v.i > b->v.i) - (a->v.i < b->v.i);
  long double x = a->is_int ? (long double)a->v.i : a->v.d;
  long double y = b->is_int ? (long double)b->v.i : b->v.d;
  return (x > y) - (x < y);
}

void sort_numbers(sort_num *v, size_t n) {
  if (n > 1) qsort(v, n, sizeof *v, cmp);
}

static int dump(json_t *j, char **json, size_t *len) {
  if (!j) return SORT_ENOMEM;
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  json_decref(j);
  if (!s) return SORT_ENOMEM;
  *json = s;
  *len = strlen(s);
  return 0;
}

int sort_format(const sort_num *v, size_t n, char **json, size_t *len) {
  json_t *arr = json_array();
  if (!arr) return SORT_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    json_t *e = v[i].is_int ? json_integer(v[i].v.i) : json_real(v[i].v.d);
    if (!e || json_array_append_new(arr, e) < 0) {
      json_decref(arr);
      return SORT_ENOMEM;
    }
  }
  return dump(arr, json, len);
}

int sort_handle(const char *body, size_t len, char **reply, size_t *rlen) {
  sort_num *v;
  size_t n;
  int rc = sort_parse(body, len, &v, &n);
  if (rc == 0) {
    sort_numbers(v, n);
    rc = sort_format(v, n, reply, rlen);
    free(v);
    return rc;
  }
  if (rc == SORT_ENOMEM) return rc;
  int frc = dump(json_pack("{s:s}", "error", sort_strerror(rc)), reply, rlen);
  return frc < 0 ? frc : rc;
}

const char *sort_strerror(int rc) {
  switch (rc) {
  case 0: return "ok";
  case SORT_ETOOBIG: return "request too large";
  case SORT_EJSON: return "request is not valid JSON";
  case SORT_ENOTARRAY: return "request is not a JSON array";
  case SORT_ENOTNUMBER: return "array element is not a number";
  case SORT_ENOMEM: return "out of memory";
  default: return "unknown error";
  }
}
