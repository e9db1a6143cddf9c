/* test_block_fork.c - the biased lock (core/block.h) across fork().
 *
 * The child of a fork has one thread, whose token (thread pointer) is the
 * forking thread's.  A lock biased to another thread of the parent must be
 * revoked by the child's first use - the owner does not exist there, its
 * `inside` is 0, and the revocation's membarrier must work in the child
 * (heavy_barrier re-registers if the kernel asks) - and a lock biased to the
 * forking thread stays the child's.  A hang or an abort in the child fails
 * the test (the parent waits for it with a bound and kills it). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "threads_util.h"

#include "core/block.h"

typedef struct forkbias {
  loom__block theirs;       /* biased to the helper thread */
  loom__block mine;         /* biased to the forking thread */
  long counter;             /* under `theirs` */
  _Atomic bool biased, done;
} forkbias;

static void bias(loom__block *b) {
  for (unsigned i = 0; i < LOOM__BLOCK_BIAS_AFTER + 1; i++) {
    loom__block_acquire(b);
    loom__block_release(b);
  }
}

static void *bias_then_idle(void *p) {
  forkbias *f = p;
  bias(&f->theirs);
  atomic_store(&f->biased, loom__block_biased(&f->theirs));
  WAIT_UNTIL(atomic_load(&f->done), 30);
  return NULL;
}

/* The child: 0 if all went as it should, else which check failed. */
static int child(forkbias *f) {
  loom__block_acquire(&f->theirs); /* revokes: the owner is not here */
  f->counter++;
  loom__block_release(&f->theirs);
  if (!loom__block_revoked(&f->theirs)) return 2;
  for (int i = 0; i < 1000; i++) {
    loom__block_acquire(&f->theirs);
    f->counter++;
    loom__block_release(&f->theirs);
  }
  if (f->counter != 1001) return 3;
  loom__block_acquire(&f->mine); /* still ours: the fast path */
  loom__block_release(&f->mine);
  if (!loom__block_biased(&f->mine)) return 4;
  return 0;
}

/* Wait up to `secs` for pid; kill it if it is still running.  Its status,
 * or -1 if it had to be killed. */
static int reap(pid_t pid, double secs) {
  int status = 0;
  double end = loom_now() + secs;
  pid_t r;
  while ((r = waitpid(pid, &status, WNOHANG)) == 0 && loom_now() < end) sleep_ms(1);
  if (r == pid) return status;
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

LOOM_TEST(block_fork, child_revokes_a_parent_threads_bias) {
  assert_true(loom__block_biasing()); /* Linux >= 4.14: membarrier */
  forkbias f = {0};
  loom__block_init(&f.theirs);
  loom__block_init(&f.mine);
  bias(&f.mine);
  assert_true(loom__block_biased(&f.mine));
  pthread_t t = spawn(bias_then_idle, &f);
  LT_CHECK(WAIT_UNTIL(atomic_load(&f.biased), 10), "the helper's lock never biased");
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(child(&f));
  int status = reap(pid, 20);
  atomic_store(&f.done, true);
  pthread_join(t, NULL);
  LT_CHECK(status != -1, "the child hung revoking a bias");
  LT_CHECK(WIFEXITED(status), "the child died (signal %d)", WTERMSIG(status));
  LT_CHECK(WEXITSTATUS(status) == 0, "the child's check %d failed", WEXITSTATUS(status));
  /* The child's revocation was its own copy: the parent's lock is intact. */
  assert_true(loom__block_biased(&f.theirs));
  assert_int_equal(f.counter, 0);
}
