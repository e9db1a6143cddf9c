/* loom_test.h - what every loom test uses on top of cmocka.
 *
 *   LOOM_TEST(suite, name) { ... }         registers a test; it runs with a
 *                                          hang watchdog, and ends with a
 *                                          check that every live-object
 *                                          counter is back to zero
 *   LOOM_TEST_T(suite, name, seconds)      same with a longer watchdog
 *
 * Assertions are cmocka's (assert_true, assert_int_equal, ...); LT_CHECK adds
 * a printf-style message.  The watchdog dumps every thread's state and stack
 * and aborts, so a hang in CI explains itself instead of timing out.
 * A test program takes an optional argument: run only tests whose
 * "suite.name" contains it.
 */
#ifndef LOOM_TEST_H
#define LOOM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first. */
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>

#include <loom.h>

#ifndef LOOM_TEST_WATCHDOG_S
#define LOOM_TEST_WATCHDOG_S 60
#endif

typedef void (*loom_test_fn)(void);
void loom_test_register(const char *name, loom_test_fn fn, double watchdog_s);

#define LOOM_TEST_T(suite, name, seconds)                                      \
  static void suite##__##name(void);                                           \
  __attribute__((constructor)) static void suite##__##name##__reg(void) {      \
    loom_test_register(#suite "." #name, suite##__##name, (seconds));          \
  }                                                                            \
  static void suite##__##name(void)

#define LOOM_TEST(suite, name) LOOM_TEST_T(suite, name, LOOM_TEST_WATCHDOG_S)

/* Assert with a message: LT_CHECK(n == 3, "got %d", n).  cmocka's fail()
 * never returns (it longjmps out of the test or exits) but is not declared
 * so: the __builtin_unreachable says it, or the optimiser follows the failed
 * path on (e.g. with a NULL result) and, under link-time optimisation, warns
 * about what it would do there. */
#define LT_CHECK(cond, ...)                                                    \
  do {                                                                         \
    if (!(cond)) {                                                             \
      print_error("%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);     \
      print_error(__VA_ARGS__);                                                \
      print_error("\n");                                                       \
      loom_test_fail_in_task();                                                \
      fail();                                                                  \
      __builtin_unreachable();                                                 \
    }                                                                          \
  } while (0)

/* On a task's stack, ends the test's process (status 1) instead of letting
 * cmocka's fail() longjmp across stacks, which sanitizers then misreport
 * (ASan: a bogus stack-buffer-overflow in the teardown).  Elsewhere: no-op. */
void loom_test_fail_in_task(void);

/* Assert a loom return code, printing both names on mismatch. */
#define LT_RC(expr, want)                                                      \
  do {                                                                         \
    int lt_rc_ = (expr), lt_want_ = (want);                                    \
    LT_CHECK(lt_rc_ == lt_want_, "%s returned %d (%s), expected %d (%s)", #expr, \
             lt_rc_, loom_err_name(lt_rc_), lt_want_, loom_err_name(lt_want_)); \
  } while (0)

void loom_test_watchdog_start(double seconds);
void loom_test_watchdog_stop(void);
/* Print every thread of this process: name, state, kernel wait channel and a
 * backtrace.  Used by the watchdog; callable by tests. */
void loom_test_dump_threads(void);
/* Snapshot / compare live counters (for sweeps inside one test). */
void loom_test_live_snapshot(long out[LOOM_LIVE__COUNT]);
bool loom_test_live_equal(const long snap[LOOM_LIVE__COUNT], double wait_s);

/* Fault sweep: for n = 1, 2, ... arm the nth fault point of `mask` and run
 * fn(ctx); each run must return 0 or a negative code and leave the live
 * counters as they were.  Stops when a run passes every point without a
 * fault (or after max_n).  Returns the number of runs in which a fault
 * fired. */
typedef int (*loom_test_fault_fn)(void *ctx);
int loom_test_fault_sweep(loom_test_fault_fn fn, void *ctx, unsigned mask, int max_n);

/* Death tests: run fn(arg) in a forked child whose stderr is captured into
 * err (NUL-terminated, at most cap - 1 bytes); the child exits 0 if fn
 * returns.  Returns the child's wait status. */
int loom_test_run_child(void (*fn)(void *arg), void *arg, char *err, size_t cap);

#endif
