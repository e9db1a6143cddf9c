/* ex18_find_files.c - recursive file search with a thread pool and a deque
 * of futures (a breadth-first, parallel `find`).
 *
 *   ex18_find_files ROOT PATTERN [--workers N]
 *
 * Each job lists one directory and returns the matching paths and the
 * subdirectories (not following symlinks).  The main thread keeps a deque
 * of futures: it takes the oldest, waits for it, prints its matches and
 * submits a job for each subdirectory at the back.  A directory that cannot
 * be read fails its future with the error and a message; the search goes on.
 * PATTERN is a substring of the full path, or a shell glob on the file name
 * when it contains * ? or [.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *pattern;
static bool glob;

typedef struct strv {
  char **v;
  size_t n, cap;
} strv;

static int strv_push(strv *s, const char *str) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 8;
    char **v = realloc(s->v, cap * sizeof *v);
    if (!v) return -1;
    s->v = v;
    s->cap = cap;
  }
  if (!(s->v[s->n] = strdup(str))) return -1;
  s->n++;
  return 0;
}

static void strv_free(strv *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

/* A job's result: what matched in one directory, and its subdirectories. */
typedef struct listing {
  strv matches, subdirs;
} listing;

static void listing_free(void *p) {
  listing *l = p;
  strv_free(&l->matches);
  strv_free(&l->subdirs);
  free(l);
}

static bool matches(const char *path, const char *name) {
  return glob ? fnmatch(pattern, name, 0) == 0 : strstr(path, pattern) != NULL;
}

static int scan(listing *l, DIR *d, const char *dir) {
  struct dirent *e;
  char path[4096];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && strv_push(&l->subdirs, path) < 0)
      return -1;
    if (matches(path, e->d_name) && strv_push(&l->matches, path) < 0) return -1;
  }
  return 0;
}

/* The job: list one directory (arg: its path, a bytes copy). */
static int find_files(loom_future *self, void *arg) {
  const char *dir = arg;
  DIR *d = opendir(dir);
  if (!d) return loom_future_set_error(self, -errno, "cannot read %s: %s", dir, strerror(errno));
  listing *l = calloc(1, sizeof *l);
  int rc = l ? scan(l, d, dir) : -1;
  closedir(d);
  if (rc < 0) {
    if (l) listing_free(l);
    return loom_future_set_error(self, LOOM_ENOMEM, "out of memory listing %s", dir);
  }
  return loom_future_set_result(self, l, listing_free);
}

/* A deque of futures: a ring buffer that grows. */
typedef struct deque {
  loom_future **v;
  size_t head, n, cap;
} deque;

static int deque_push_back(deque *q, loom_future *f) {
  if (q->n == q->cap) {
    size_t cap = q->cap ? 2 * q->cap : 64;
    loom_future **v = malloc(cap * sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < q->n; i++) v[i] = q->v[(q->head + i) % q->cap];
    free(q->v);
    q->v = v;
    q->cap = cap;
    q->head = 0;
  }
  q->v[(q->head + q->n++) % q->cap] = f;
  return 0;
}

static loom_future *deque_pop_front(deque *q) {
  loom_future *f = q->v[q->head];
  q->head = (q->head + 1) % q->cap;
  q->n--;
  return f;
}

static int submit_dir(loom_executor *pool, deque *q, const char *dir) {
  loom_future *f;
  int rc = loom_executor_submit_bytes(pool, find_files, dir, strlen(dir) + 1, &f);
  if (rc < 0) return rc;
  if (deque_push_back(q, f) < 0) {
    loom_future_cancel(f);
    loom_future_release(f);
    return LOOM_ENOMEM;
  }
  return 0;
}

int main(int argc, char **argv) {
  int workers = 10;
  if (argc < 3) {
    fprintf(stderr, "usage: %s ROOT PATTERN [--workers N]\n", argv[0]);
    return 2;
  }
  for (int i = 3; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
  pattern = argv[2];
  glob = strpbrk(pattern, "*?[") != NULL;
  LOOM_EXECUTOR_SCOPED loom_executor *pool = NULL;
  loom_thread_pool_options o = {.max_workers = workers, .thread_name_prefix = "find"};
  int rc = loom_thread_pool_create(&pool, &o);
  if (rc < 0) {
    fprintf(stderr, "thread pool: %s\n", loom_strerror(rc));
    return 1;
  }
  deque q = {0};
  size_t found = 0, dirs = 0, errors = 0;
  rc = submit_dir(pool, &q, argv[1]);
  while (rc == 0 && q.n) {
    loom_future *f = deque_pop_front(&q);
    const char *msg;
    if (loom_future_error(f, LOOM_FOREVER, &msg) != 0) {
      fprintf(stderr, "skipped: %s\n", msg);
      errors++;
    } else {
      listing *l;
      loom_future_result(f, 0, (void **)&l);
      dirs++;
      for (size_t i = 0; i < l->matches.n; i++) puts(l->matches.v[i]);
      found += l->matches.n;
      for (size_t i = 0; i < l->subdirs.n && rc == 0; i++) rc = submit_dir(pool, &q, l->subdirs.v[i]);
    }
    loom_future_release(f);
  }
  while (q.n) { /* only after an error: drop what is left */
    loom_future *f = deque_pop_front(&q);
    loom_future_cancel(f);
    loom_future_release(f);
  }
  free(q.v);
  fprintf(stderr, "%zu matches in %zu directories, %zu unreadable\n", found, dirs, errors);
  if (rc < 0) fprintf(stderr, "stopped: %s\n", loom_strerror(rc));
  return rc < 0 ? 1 : 0;
}
