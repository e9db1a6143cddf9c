/* test_pool_idle.c - the thread pool's fast paths keep their promises:
 * workers that spin for work park when there is none (an idle pool costs no
 * CPU), a cancel racing the lock-free PENDING -> RUNNING step has exactly
 * one winner, and a shutdown racing submitters (the submit gate) lets every
 * accepted job finish and refuses the rest. */
#include "pool_util.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

/* ---- idle workers are parked ---------------------------------------------- */

/* Threads of this process other than the caller that are running ('R'). */
static int running_threads(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return -1;
  char self[32];
  snprintf(self, sizeof self, "%ld", (long)gettid());
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, self)) continue;
    char path[300], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    const char *close = strrchr(buf, ')'); /* the name may hold spaces */
    if (close && close[1] == ' ' && close[2] == 'R') n++;
  }
  closedir(d);
  return n;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

LOOM_TEST(pool_idle, idle_workers_park_and_use_no_cpu) {
  loom_executor *ex = pool_new(4);
  enum { N = 20000 };
  loom_future **fs = calloc(N, sizeof *fs);
  for (long i = 0; i < N; i++) fs[i] = submit(ex, job_ident, (void *)i);
  for (long i = 0; i < N; i++) {
    LT_RC(loom_future_wait(fs[i], 30.0), 0);
    loom_future_release(fs[i]);
  }
  free(fs);
  /* Then a lone job after a pause: the worker that runs it finds nobody
   * else looking for work when it is done, so it spins before parking. */
  sleep_ms(20);
  loom_future *f = submit(ex, job_ident, NULL);
  LT_RC(loom_future_wait(f, 30.0), 0);
  loom_future_release(f);
  /* Spinning ends within microseconds (milliseconds under sanitizers):
   * every worker is asleep well within this bound. */
  int running = -1;
  for (int i = 0; i < 500 && running != 0; i++) {
    sleep_ms(10);
    running = running_threads();
  }
  LT_CHECK(running == 0, "%d worker(s) still running long after the last job", running);
  /* A resource check, not a timing one: over 200 ms of idleness the whole
   * process (the sleeping test thread, four parked workers) uses a sliver
   * of CPU; a worker that kept spinning would use about 200 ms. */
  double before = cpu_seconds();
  sleep_ms(200);
  double used = cpu_seconds() - before;
  LT_CHECK(used < 0.02, "idle pool used %.1f ms of CPU in 200 ms", used * 1e3);
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  LT_CHECK(st.idle == st.workers, "%d idle of %d workers", st.idle, st.workers);
  loom_executor_destroy(ex);
}

/* After parking, the pool still wakes for new work. */
LOOM_TEST(pool_idle, parked_workers_wake_for_new_work) {
  loom_executor *ex = pool_new(2);
  for (int round = 0; round < 3; round++) {
    loom_future *f = submit(ex, job_mul2, (void *)(intptr_t)round);
    void *v;
    LT_RC(loom_future_result(f, 10.0, &v), 0);
    assert_int_equal((intptr_t)v, 2 * round);
    loom_future_release(f);
    sleep_ms(50); /* long past the spin: the workers are asleep */
  }
  loom_executor_destroy(ex);
}

/* ---- cancel against the lock-free start ----------------------------------- */

static atomic_long ran;

static int job_count(loom_future *self, void *arg) {
  atomic_fetch_add(&ran, 1);
  return loom_future_set_result(self, arg, NULL);
}

LOOM_TEST(pool_idle, cancel_races_start_with_one_winner) {
  loom_executor *ex = pool_new(2);
  enum { N = 20000 };
  loom_future **fs = calloc(N, sizeof *fs);
  bool *won = calloc(N, sizeof *won);
  atomic_store(&ran, 0);
  for (long i = 0; i < N; i++) {
    fs[i] = submit(ex, job_count, (void *)i);
    if (i >= 2) won[i - 2] = loom_future_cancel(fs[i - 2]); /* often mid-start */
  }
  long cancelled = 0;
  for (long i = 0; i < N; i++) {
    LT_RC(loom_future_wait(fs[i], 30.0), 0);
    if (won[i]) {
      LT_CHECK(loom_future_cancelled(fs[i]), "cancel of %ld returned true, not cancelled", i);
      cancelled++;
    } else {
      void *v = NULL;
      LT_RC(loom_future_result(fs[i], 0, &v), 0);
      LT_CHECK((long)v == i, "job %ld gave %ld", i, (long)v);
    }
    loom_future_release(fs[i]);
  }
  loom_executor_shutdown(ex, true, false);
  /* Each job either ran or was cancelled, never both. */
  LT_CHECK(atomic_load(&ran) + cancelled == N, "%ld ran + %ld cancelled != %d",
           atomic_load(&ran), cancelled, N);
  free(won);
  free(fs);
  loom_executor_destroy(ex);
}

/* ---- shutdown against concurrent submitters (the gate) -------------------- */

typedef struct racer {
  loom_executor *ex;
  loom_future **fs;
  int n, cap;     /* accepted */
  int refused;    /* LOOM_ESHUTDOWN */
  int other;      /* any other code */
} racer;

static void *submit_until_refused(void *arg) {
  racer *r = arg;
  for (;;) {
    loom_future *f;
    int rc = loom_executor_submit(r->ex, job_ident, (void *)(intptr_t)r->n, &f);
    if (rc == LOOM_ESHUTDOWN) {
      r->refused++;
      break;
    }
    if (rc < 0) {
      r->other++;
      break;
    }
    if (r->n == r->cap) {
      r->cap = r->cap ? 2 * r->cap : 1024;
      r->fs = realloc(r->fs, (size_t)r->cap * sizeof *r->fs);
    }
    r->fs[r->n++] = f;
  }
  return NULL;
}

static void shutdown_race(bool cancel_futures) {
  loom_executor *ex = pool_new(2);
  enum { T = 3 };
  racer *rs = calloc(T, sizeof *rs);
  pthread_t th[T];
  for (int i = 0; i < T; i++) {
    rs[i].ex = ex;
    pthread_create(&th[i], NULL, submit_until_refused, &rs[i]);
  }
  sleep_ms(2);
  LT_RC(loom_executor_shutdown(ex, true, cancel_futures), 0);
  for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < T; i++) {
    LT_CHECK(rs[i].other == 0, "submitter %d got an unexpected code", i);
    LT_CHECK(rs[i].refused == 1, "submitter %d was never refused", i);
    for (int k = 0; k < rs[i].n; k++) {
      loom_future *f = rs[i].fs[k];
      /* Accepted before the gate closed: done once shutdown(wait) returned
       * (finished, or cancelled if cancel_futures), even when the push
       * came after the close. */
      LT_CHECK(loom_future_done(f), "accepted job %d/%d not done after shutdown", i, k);
      if (!cancel_futures) {
        void *v = NULL;
        LT_RC(loom_future_result(f, 0, &v), 0);
        LT_CHECK((intptr_t)v == k, "job %d/%d gave %ld", i, k, (long)(intptr_t)v);
      }
      loom_future_release(f);
    }
    free(rs[i].fs);
  }
  loom_future *late;
  LT_RC(loom_executor_submit(ex, job_ident, NULL, &late), LOOM_ESHUTDOWN);
  free(rs);
  loom_executor_destroy(ex);
}

LOOM_TEST(pool_idle, shutdown_racing_submitters_runs_every_accepted_job) {
  for (int i = 0; i < 20; i++) shutdown_race(false);
}

LOOM_TEST(pool_idle, shutdown_cancel_racing_submitters_settles_every_accepted_job) {
  for (int i = 0; i < 20; i++) shutdown_race(true);
}
