/* test_mp.c - multiprocessing: Process (exit code, join with timeout,
 * is_alive, terminate, kill), the cross-process queue (4 producer and 4
 * consumer processes lose and duplicate nothing, end of stream, timeouts,
 * sizes), and the pool's chunked map / imap_unordered. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom_test.h"
#include "pt_util.h"

static int exit_with(const void *arg, size_t len) {
  int code;
  memcpy(&code, arg, sizeof code);
  return len == sizeof code ? code : 99;
}

/* The child's exit code, or the call's error. */
static int exit_of(loom_process *p) {
  int code = 12345;
  int rc = loom_process_exitcode(p, &code);
  return rc < 0 ? rc : code;
}

static int crash(const void *arg, size_t len) {
  raise(SIGSEGV);
  return 0;
}

static int sleep_forever(const void *arg, size_t len) {
  for (;;) pause();
  return 0;
}

LOOM_TEST(mp_process, exit_code_join_alive) {
  pt_snap s = pt_begin();
  loom_process *p;
  int code = 42;
  LT_RC(loom_process_start(&p, exit_with, &code, sizeof code, NULL, 0), 0);
  LT_CHECK(loom_process_pid(p) > 0, "pid %d", (int)loom_process_pid(p));
  LT_RC(loom_process_join(p, 30), 0);
  LT_CHECK(!loom_process_is_alive(p), "still alive after join");
  LT_RC(exit_of(p), 42);
  loom_process_destroy(p);

  LT_RC(loom_process_start(&p, sleep_forever, NULL, 0, NULL, 0), 0);
  LT_CHECK(loom_process_is_alive(p), "a sleeping child is alive");
  code = 777;
  LT_RC(loom_process_exitcode(p, &code), LOOM_EAGAIN);
  LT_CHECK(code == 777, "exit code touched while running");
  int64_t t0 = loom_now_ns();
  LT_RC(loom_process_join(p, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now_ns() - t0 >= 49000000, "a 50 ms join took %lld ns",
           (long long)(loom_now_ns() - t0));
  LT_RC(loom_process_terminate(p), 0);
  LT_RC(loom_process_join(p, 30), 0);
  LT_RC(exit_of(p), -SIGTERM);
  loom_process_destroy(p);

  LT_RC(loom_process_start(&p, sleep_forever, NULL, 0, NULL, 0), 0);
  LT_RC(loom_process_kill(p), 0);
  LT_RC(loom_process_join(p, 30), 0);
  LT_RC(exit_of(p), -SIGKILL);
  LT_RC(loom_process_kill(p), 0); /* already gone: still fine */
  loom_process_destroy(p);

  /* killed by SIGSEGV: -11, not to be confused with "still running" */
  LT_RC(loom_process_start(&p, crash, NULL, 0, NULL, 0), 0);
  LT_RC(loom_process_join(p, 30), 0);
  LT_RC(exit_of(p), -SIGSEGV);
  loom_process_destroy(p);

  /* destroy kills and reaps a child still running */
  LT_RC(loom_process_start(&p, sleep_forever, NULL, 0, NULL, 0), 0);
  loom_process_destroy(p);
  PT_END(s);
}

enum { PRODUCERS = 4, CONSUMERS = 4, PER_PRODUCER = 2500 };

typedef struct msg {
  int producer, seq;
} msg;

/* shared: 0 = work queue, 1 = results queue */
static int producer(const void *arg, size_t len) {
  int id = *(const int *)arg;
  loom_mpqueue *work = loom_mpqueue_shared(0), *res = loom_mpqueue_shared(1);
  loom_mpqueue_close_writer(res);
  for (int i = 0; i < PER_PRODUCER; i++) {
    msg m = {id, i};
    if (loom_mpqueue_put(work, &m, sizeof m, 30) < 0) return 1;
  }
  return 0;
}

static int consumer(const void *arg, size_t len) {
  loom_mpqueue *work = loom_mpqueue_shared(0), *res = loom_mpqueue_shared(1);
  loom_mpqueue_close_writer(work); /* consumers never put work */
  for (;;) {
    msg m;
    size_t n;
    int rc = loom_mpqueue_get(work, &m, sizeof m, &n, 30);
    if (rc == LOOM_ESTOP) return 0;
    if (rc < 0 || n != sizeof m) return 2;
    if (loom_mpqueue_put(res, &m, sizeof m, 30) < 0) return 3;
  }
}

LOOM_TEST_T(mp_queue, four_producers_four_consumers, 120) {
  pt_snap s = pt_begin();
  loom_mpqueue *work, *res;
  LT_RC(loom_mpqueue_create(&work), 0);
  LT_RC(loom_mpqueue_create(&res), 0);
  loom_mpqueue *share[2] = {work, res};
  loom_process *ps[PRODUCERS + CONSUMERS];
  for (int i = 0; i < PRODUCERS; i++)
    LT_RC(loom_process_start(&ps[i], producer, &i, sizeof i, share, 2), 0);
  for (int i = 0; i < CONSUMERS; i++)
    LT_RC(loom_process_start(&ps[PRODUCERS + i], consumer, NULL, 0, share, 2), 0);
  loom_mpqueue_close_writer(work); /* only the producers write work now */
  loom_mpqueue_close_writer(res);  /* only the consumers write results */
  static unsigned char seen[PRODUCERS][PER_PRODUCER];
  memset(seen, 0, sizeof seen);
  int got = 0, dup = 0, bad = 0;
  for (;;) {
    msg m;
    size_t n;
    int rc = loom_mpqueue_get(res, &m, sizeof m, &n, 60);
    if (rc == LOOM_ESTOP) break;
    LT_RC(rc, 0);
    if (n != sizeof m || m.producer < 0 || m.producer >= PRODUCERS || m.seq < 0 ||
        m.seq >= PER_PRODUCER) {
      bad++;
      continue;
    }
    dup += seen[m.producer][m.seq]++ > 0;
    got++;
  }
  int lost = 0;
  for (int p = 0; p < PRODUCERS; p++)
    for (int i = 0; i < PER_PRODUCER; i++) lost += seen[p][i] == 0;
  for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
    LT_RC(loom_process_join(ps[i], 30), 0);
    LT_CHECK(exit_of(ps[i]) == 0, "child %d exit %d", i, exit_of(ps[i]));
    loom_process_destroy(ps[i]);
  }
  loom_mpqueue_destroy(work);
  loom_mpqueue_destroy(res);
  printf("mp-queue: producers=%d consumers=%d messages=%d got=%d lost=%d dup=%d bad=%d\n",
         PRODUCERS, CONSUMERS, PRODUCERS * PER_PRODUCER, got, lost, dup, bad);
  LT_CHECK(lost == 0 && dup == 0 && bad == 0 && got == PRODUCERS * PER_PRODUCER,
           "lost %d dup %d bad %d got %d", lost, dup, bad, got);
  PT_END(s);
}

LOOM_TEST(mp_queue, sizes_timeouts_and_end) {
  pt_snap s = pt_begin();
  loom_mpqueue *q;
  LT_RC(loom_mpqueue_create(&q), 0);
  char buf[LOOM_MPQUEUE_MAX];
  size_t n = 123;
  int64_t t0 = loom_now_ns();
  LT_RC(loom_mpqueue_get(q, buf, sizeof buf, &n, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now_ns() - t0 >= 49000000, "a 50 ms get returned early");
  LT_RC(loom_mpqueue_put(q, "", 0, 1), 0); /* empty message, not end of stream */
  LT_RC(loom_mpqueue_get(q, buf, sizeof buf, &n, 1), 0);
  LT_CHECK(n == 0, "empty message came back as %zu bytes", n);
  memset(buf, 'z', sizeof buf);
  LT_RC(loom_mpqueue_put(q, buf, sizeof buf, 1), 0);
  LT_RC(loom_mpqueue_put(q, buf, sizeof buf + 1, 1), LOOM_EINVAL);
  char small[10];
  LT_RC(loom_mpqueue_get(q, small, sizeof small, &n, 1), LOOM_EOVERFLOW);
  LT_CHECK(n == sizeof buf, "overflow reports the real size %zu", n);
  LT_RC(loom_mpqueue_put(q, "abc", 3, 1), 0);
  loom_mpqueue_close_writer(q);
  LT_RC(loom_mpqueue_put(q, "x", 1, 1), LOOM_ECLOSED);
  LT_RC(loom_mpqueue_get(q, buf, sizeof buf, &n, 1), 0);
  LT_CHECK(n == 3 && memcmp(buf, "abc", 3) == 0, "queued message survives close");
  LT_RC(loom_mpqueue_get(q, buf, sizeof buf, &n, 1), LOOM_ESTOP);
  loom_mpqueue_destroy(q);
  PT_END(s);
}

static int square_or_fail(loom_future *self, void *arg) {
  long x = (long)arg;
  if (x % 97 == 13) return loom_future_set_error(self, LOOM_EINVAL, "bad %ld", x);
  if (x % 101 == 7) {
    char b[32];
    int n = snprintf(b, sizeof b, "n=%ld", x);
    return loom_future_set_result_bytes(self, b, (size_t)n);
  }
  return loom_future_set_result(self, (void *)(x * x), NULL);
}

static void check_item(const loom_process_item *it, int *bad) {
  long x = (long)it->index;
  if (x % 97 == 13) {
    *bad += it->err != LOOM_EINVAL || !it->msg || strncmp(it->msg, "bad ", 4) != 0;
  } else if (x % 101 == 7) {
    char b[32];
    int n = snprintf(b, sizeof b, "n=%ld", x);
    *bad += it->err || !it->is_bytes || it->len != (size_t)n || memcmp(it->data, b, (size_t)n);
  } else {
    *bad += it->err != 0 || it->is_bytes || (long)it->value != x * x;
  }
}

LOOM_TEST(mp_pool, map_order_chunks_unordered) {
  pt_snap s = pt_begin();
  loom_executor *ex;
  LT_RC(loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}), 0);
  enum { N = 5003 };
  void **args = malloc(N * sizeof *args);
  for (long i = 0; i < N; i++) args[i] = (void *)i;
  size_t chunks[] = {1, 7, 100, 0, N + 10};
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
    loom_process_map *m;
    LT_RC(loom_process_pool_map(ex, square_or_fail, args, N, chunks[c], 60, &m), 0);
    loom_process_item it;
    int bad = 0;
    size_t k = 0;
    while (loom_process_map_next(m, &it) == 0) {
      bad += it.index != k++;
      check_item(&it, &bad);
    }
    LT_RC(loom_process_map_next(m, &it), LOOM_ESTOP);
    LT_CHECK(k == N && bad == 0, "chunksize %zu: %zu items, %d bad", chunks[c], k, bad);
    loom_process_map_destroy(m);

    LT_RC(loom_process_pool_map(ex, square_or_fail, args, N, chunks[c], 60, &m), 0);
    unsigned char *seen = calloc(N, 1);
    int dup = 0;
    k = 0;
    bad = 0;
    while (loom_process_map_next_unordered(m, &it) == 0) {
      dup += seen[it.index]++ > 0;
      check_item(&it, &bad);
      k++;
    }
    LT_CHECK(k == N && dup == 0 && bad == 0, "unordered chunksize %zu: %zu items %d dup %d bad",
             chunks[c], k, dup, bad);
    free(seen);
    loom_process_map_destroy(m);
  }
  loom_process_map *m;
  LT_RC(loom_process_pool_map(ex, square_or_fail, args, 0, 10, 1, &m), 0);
  loom_process_item it;
  LT_RC(loom_process_map_next(m, &it), LOOM_ESTOP);
  loom_process_map_destroy(m);
  free(args);
  loom_executor_destroy(ex);
  PT_END(s);
}

/* Child side of the pipe test: shared 0 = its duplex end, 1 = the read end
 * of a one-way pipe, 2 = that pipe's write end (closed here: only the parent
 * writes).  Echo upper-cased duplex messages; then count the one-way
 * messages until end of stream and send the count back. */
static int pipe_child(const void *arg, size_t len) {
  loom_mpqueue *duplex = loom_mpqueue_shared(0), *in = loom_mpqueue_shared(1);
  loom_mpqueue_close_writer(loom_mpqueue_shared(2));
  char buf[64];
  size_t n;
  for (int i = 0; i < 3; i++) {
    if (loom_mpqueue_get(duplex, buf, sizeof buf, &n, 30) < 0) return 1;
    for (size_t k = 0; k < n; k++) buf[k] = (char)(buf[k] >= 'a' && buf[k] <= 'z' ? buf[k] - 32 : buf[k]);
    if (loom_mpqueue_put(duplex, buf, n, 30) < 0) return 2;
  }
  int count = 0, rc;
  while ((rc = loom_mpqueue_get(in, buf, sizeof buf, &n, 30)) == 0) count++;
  if (rc != LOOM_ESTOP) return 3;
  return loom_mpqueue_put(duplex, &count, sizeof count, 30) < 0 ? 4 : 0;
}

LOOM_TEST(mp_pipe, duplex_and_one_way) {
  pt_snap s = pt_begin();
  loom_mpqueue *mine, *theirs, *rd, *wr;
  LT_RC(loom_mppipe_create(&mine, &theirs, true), 0);
  LT_RC(loom_mppipe_create(&rd, &wr, false), 0);
  char buf[64];
  size_t n;
  LT_RC(loom_mpqueue_put(rd, "x", 1, 1), LOOM_ECLOSED);        /* a: receive only */
  LT_RC(loom_mpqueue_get(wr, buf, sizeof buf, &n, 0), LOOM_ECLOSED); /* b: send only */
  loom_mpqueue *share[3] = {theirs, rd, wr};
  loom_process *p;
  LT_RC(loom_process_start(&p, pipe_child, NULL, 0, share, 3), 0);
  const char *words[3] = {"alpha", "beta", "gamma"}, *upper[3] = {"ALPHA", "BETA", "GAMMA"};
  for (int i = 0; i < 3; i++) {
    LT_RC(loom_mpqueue_put(mine, words[i], strlen(words[i]), 10), 0);
    LT_RC(loom_mpqueue_get(mine, buf, sizeof buf, &n, 30), 0);
    LT_CHECK(n == strlen(upper[i]) && memcmp(buf, upper[i], n) == 0, "echo %d: '%.*s'", i, (int)n, buf);
  }
  for (int i = 0; i < 50; i++) LT_RC(loom_mpqueue_put(wr, &i, sizeof i, 10), 0);
  loom_mpqueue_close_writer(wr); /* the child's copy is closed too: end of stream */
  int count = -1;
  LT_RC(loom_mpqueue_get(mine, &count, sizeof count, &n, 30), 0);
  LT_CHECK(count == 50, "the child counted %d one-way messages", count);
  LT_RC(loom_process_join(p, 30), 0);
  LT_RC(exit_of(p), 0);
  loom_process_destroy(p);
  loom_mpqueue_destroy(mine);
  loom_mpqueue_destroy(theirs);
  loom_mpqueue_destroy(rd);
  loom_mpqueue_destroy(wr);
  PT_END(s);
}
