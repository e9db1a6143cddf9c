/* test_map_process.c - the generic map over a process pool: one item per
 * job (through submit), and chunked (handed to the process pool's own
 * chunked map): results in order, per-item errors with their messages,
 * integer and bytes results, generator input, what is not supported. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom_test.h"

static int twice_or_fail(loom_future *self, void *arg) {
  long x = (long)arg;
  if (x == 7) return loom_future_set_error(self, LOOM_ENOENT, "no item %ld", x);
  return loom_future_set_result(self, (void *)(2 * x), NULL);
}

static int as_text(loom_future *self, void *arg) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "pid-%d-%ld", (int)getpid(), (long)arg);
  return loom_future_set_result_bytes(self, buf, (size_t)n);
}

static loom_executor *process_pool(void) {
  loom_executor *ex = NULL;
  loom_process_pool_options o = {.max_workers = 2};
  LT_RC(loom_process_pool_create(&ex, &o), 0);
  return ex;
}

static void check_twice(loom_executor *ex, size_t chunk) {
  void *items[20];
  for (long i = 0; i < 20; i++) items[i] = (void *)i;
  loom_map_options mo = {.chunksize = chunk};
  loom_map *m;
  LT_RC(loom_executor_map(ex, twice_or_fail, items, 20, 60.0, &mo, &m), 0);
  for (long i = 0; i < 20; i++) {
    void *v;
    int rc = loom_map_next(m, &v);
    assert_int_equal(loom_map_index(m), i);
    if (i == 7) {
      LT_RC(rc, LOOM_ENOENT);
      assert_string_equal(loom_map_message(m), "no item 7");
      continue;
    }
    LT_RC(rc, 0);
    LT_CHECK((long)v == 2 * i, "chunk %zu item %ld gave %ld", chunk, i, (long)v);
  }
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  void *v;
  LT_RC(loom_map_take_result(m, &v, NULL), LOOM_EINVALIDSTATE);
  loom_map_destroy(m);
}

LOOM_TEST(map_process, items_and_chunks_in_order_with_errors) {
  loom_executor *ex = process_pool();
  check_twice(ex, 1);
  check_twice(ex, 3);
  loom_executor_destroy(ex);
}

static int gen_upto(void *ctx, void **item) {
  long *next = ctx;
  if (*next == 9) return LOOM_ESTOP;
  *item = (void *)(*next)++;
  return 0;
}

LOOM_TEST(map_process, bytes_results_from_a_generator) {
  loom_executor *ex = process_pool();
  long next = 0;
  loom_map_options mo = {.chunksize = 4};
  loom_map *m;
  LT_RC(loom_executor_map_gen(ex, as_text, gen_upto, &next, 60.0, &mo, &m), 0);
  for (long i = 0; i < 9; i++) {
    void *v;
    LT_RC(loom_map_next(m, &v), 0);
    char want[32];
    snprintf(want, sizeof want, "-%ld", i);
    LT_CHECK(strncmp(v, "pid-", 4) == 0 && strstr(v, want), "item %ld: %s", i, (char *)v);
    LT_CHECK(atoi((char *)v + 4) != getpid(), "ran in a worker process");
  }
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  /* A buffersize with chunks is not supported on process pools yet. */
  next = 0;
  mo.buffersize = 2;
  LT_RC(loom_executor_map_gen(ex, as_text, gen_upto, &next, 60.0, &mo, &m), LOOM_EINVAL);
  loom_executor_destroy(ex);
}
