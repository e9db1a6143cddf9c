/* report.c - one-line reports of problems nobody else can be told about:
 * a failing done callback, an error never retrieved, work abandoned. */
#include <stdio.h>

#include "internal.h"

static loom_report_fn report_fn;
static void *report_ctx;
static _Atomic uint64_t report_count;

void loom_set_report_handler(loom_report_fn fn, void *ctx) {
  report_fn = fn;
  report_ctx = ctx;
}

uint64_t loom_report_count(void) { return atomic_load(&report_count); }

void loom__report(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  /* A fixed buffer: reporting must work when allocation does not. */
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  atomic_fetch_add(&report_count, 1);
  if (report_fn)
    report_fn(report_ctx, line);
  else
    fprintf(stderr, "loom: %s\n", line);
}
