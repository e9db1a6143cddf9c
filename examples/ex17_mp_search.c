/* ex17_mp_search - a multiprocess search engine.
 *
 * The files under DIR are split into one slice per worker process.  Each
 * worker loads its slice into memory once, then takes queries from its own
 * queue and answers on a shared results queue: one message per matching line
 * ("path:line:text"), then a done marker per query.  The main process sends
 * every query to every worker, gathers the answers, and prints them sorted.
 * When the queries run out the main process closes the query queues: each
 * worker sees the end of stream on its queue and exits.
 *
 *   ex17_mp_search DIR [--workers N] QUERY...
 */
#include <dirent.h>
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_WORKERS 8
#define LINE_MAX_LEN 4000

typedef struct strv {
  char **v;
  size_t n, cap;
} strv;

static void strv_push(strv *s, char *str) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = str;
}

static void strv_free(strv *s) {
  for (size_t i = 0; i < s->n; i++) free(s->v[i]);
  free(s->v);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_files(const char *dir, strv *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) list_files(path, out);
    else if (S_ISREG(st.st_mode)) strv_push(out, strdup(path));
  }
  closedir(d);
}

/* ---- the worker process ------------------------------------------------ */

/* arg: "index\npath\npath\n..."; shared queues: 0 results, 1.. queries. */
static int search_worker(const void *arg, size_t len) {
  char *spec = strndup(arg, len), *save = NULL;
  int me = atoi(strtok_r(spec, "\n", &save));
  strv lines = {0}, where = {0};
  for (char *path; (path = strtok_r(NULL, "\n", &save));) {
    FILE *f = fopen(path, "r");
    if (!f) continue;
    char buf[LINE_MAX_LEN];
    for (int no = 1; fgets(buf, sizeof buf, f); no++) {
      buf[strcspn(buf, "\n")] = 0;
      char *w = malloc(strlen(path) + 16);
      sprintf(w, "%s:%d", path, no);
      strv_push(&lines, strdup(buf));
      strv_push(&where, w);
    }
    fclose(f);
  }
  free(spec);
  loom_mpqueue *results = loom_mpqueue_shared(0), *mine = loom_mpqueue_shared((size_t)me + 1);
  for (size_t i = 1; loom_mpqueue_shared(i); i++) loom_mpqueue_close_writer(loom_mpqueue_shared(i));
  char q[LOOM_MPQUEUE_MAX + 1], msg[LOOM_MPQUEUE_MAX];
  size_t qlen;
  int rc;
  while ((rc = loom_mpqueue_get(mine, q, sizeof q - 1, &qlen, LOOM_FOREVER)) == 0) {
    q[qlen] = 0;
    for (size_t i = 0; i < lines.n; i++) {
      if (!strstr(lines.v[i], q)) continue;
      int n = snprintf(msg, sizeof msg, "R%s\t%s:%s", q, where.v[i], lines.v[i]);
      loom_mpqueue_put(results, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, 30);
    }
    int n = snprintf(msg, sizeof msg, "D%s", q);
    loom_mpqueue_put(results, msg, (size_t)n, 30);
  }
  strv_free(&lines);
  strv_free(&where);
  return rc == LOOM_ESTOP ? 0 : 1; /* the end of stream is the normal way out */
}

/* ---- the main process ---------------------------------------------------- */

static int ask(loom_mpqueue **queues, int workers, loom_mpqueue *results, const char *query) {
  for (int w = 0; w < workers; w++)
    if (loom_mpqueue_put(queues[w], query, strlen(query), 30) < 0) return 1;
  strv hits = {0};
  char msg[LOOM_MPQUEUE_MAX + 1];
  size_t len;
  for (int done = 0; done < workers;) {
    if (loom_mpqueue_get(results, msg, sizeof msg - 1, &len, 60) < 0) return 1;
    msg[len] = 0;
    size_t ql = strlen(query);
    if (strncmp(msg + 1, query, ql) != 0) continue;
    if (msg[0] == 'D' && msg[1 + ql] == 0) done++;
    else if (msg[0] == 'R' && msg[1 + ql] == '\t') strv_push(&hits, strdup(msg + 2 + ql));
  }
  if (hits.n) qsort(hits.v, hits.n, sizeof *hits.v, cmp_str);
  printf("query '%s': %zu lines\n", query, hits.n);
  for (size_t i = 0; i < hits.n; i++) printf("  %s\n", hits.v[i]);
  strv_free(&hits);
  return 0;
}

static char *slice_spec(int w, int workers, const strv *files) {
  size_t cap = 32;
  for (size_t i = (size_t)w; i < files->n; i += (size_t)workers) cap += strlen(files->v[i]) + 1;
  char *s = malloc(cap);
  size_t len = (size_t)sprintf(s, "%d\n", w);
  for (size_t i = (size_t)w; i < files->n; i += (size_t)workers)
    len += (size_t)sprintf(s + len, "%s\n", files->v[i]);
  return s;
}

int main(int argc, char **argv) {
  int workers = 2, first_query = 2;
  if (argc > 3 && !strcmp(argv[2], "--workers")) {
    workers = atoi(argv[3]);
    first_query = 4;
  }
  if (argc <= first_query || workers < 1 || workers > MAX_WORKERS) {
    fprintf(stderr, "usage: ex17_mp_search DIR [--workers N (1..%d)] QUERY...\n", MAX_WORKERS);
    return 2;
  }
  strv files = {0};
  list_files(argv[1], &files);
  if (files.n) qsort(files.v, files.n, sizeof *files.v, cmp_str);
  printf("%zu files, %d worker processes\n", files.n, workers);
  loom_mpqueue *share[1 + MAX_WORKERS];
  for (int i = 0; i <= workers; i++)
    if (loom_mpqueue_create(&share[i]) < 0) return 1;
  loom_process *ps[MAX_WORKERS];
  for (int w = 0; w < workers; w++) {
    char *spec = slice_spec(w, workers, &files);
    int rc = loom_process_start(&ps[w], search_worker, spec, strlen(spec), share,
                                (size_t)workers + 1);
    free(spec);
    if (rc < 0) return 1;
  }
  int rc = 0;
  for (int i = first_query; i < argc && !rc; i++) rc = ask(share + 1, workers, share[0], argv[i]);
  for (int w = 0; w < workers; w++) loom_mpqueue_close_writer(share[w + 1]); /* end of stream */
  for (int w = 0; w < workers; w++) {
    loom_process_join(ps[w], 30);
    int code = -1;
    loom_process_exitcode(ps[w], &code);
    printf("worker %d exited with %d\n", w, code);
    rc |= code != 0;
    loom_process_destroy(ps[w]);
  }
  for (int i = 0; i <= workers; i++) loom_mpqueue_destroy(share[i]);
  strv_free(&files);
  return rc;
}
