/* ex01_encrypt - encrypt every file under a directory with AES-256-CBC
 * (OpenSSL's libcrypto), three ways, on a process pool:
 *
 *   map     a map over the file indices (the workers list the directory
 *           themselves: they inherit the environment, not main's memory)
 *   submit  one job per path (the path crosses as bytes), printing each path
 *           as it finishes with as_completed; a failing job is reported and
 *           the others go on
 *   loop    from a coroutine task on the event loop: run_in_executor on the
 *           process pool for each file index, then as_completed in the task -
 *           only the task suspends (a ticker task keeps running meanwhile)
 *
 * Each FILE becomes FILE.<way>.enc in the format of `openssl enc
 * -aes-256-cbc -pbkdf2` ("Salted__", 8 random salt bytes, then the
 * ciphertext; key and IV from PBKDF2-HMAC-SHA256, 10000 rounds), so
 *   openssl enc -d -aes-256-cbc -pbkdf2 -pass pass:PW -in FILE.map.enc
 * gives the file back.  The password reaches the workers through the
 * environment (EX01_PASSWORD), like the directory.
 *
 *   ex01_encrypt DIR --password PW [--way map|submit|loop|all] [--workers N]
 */
#include <dirent.h>
#include <loom.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct paths {
  char **v;
  size_t n, cap;
} paths;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files under dir, sorted, leaving out our own outputs. */
static void list_files(const char *dir, paths *out) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || strstr(e->d_name, ".enc")) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat st;
    if (lstat(path, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      list_files(path, out);
    } else if (S_ISREG(st.st_mode)) {
      if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 32;
        out->v = realloc(out->v, out->cap * sizeof *out->v);
      }
      out->v[out->n++] = strdup(path);
    }
  }
  closedir(d);
}

static void sorted_files(const char *dir, paths *out) {
  list_files(dir, out);
  if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_str);
}

/* ---- the work, in a worker process ------------------------------------------ */

/* Encrypt path into path.<way>.enc.  Returns 0 or a message in err. */
static int encrypt_file(const char *path, const char *way, char *err, size_t cap) {
  const char *pw = getenv("EX01_PASSWORD");
  char out_path[4200];
  snprintf(out_path, sizeof out_path, "%s.%s.enc", path, way);
  unsigned char salt[8], keyiv[48], in[65536], out[65536 + 32];
  FILE *fi = fopen(path, "rb"), *fo = fi ? fopen(out_path, "wb") : NULL;
  if (!pw || !fi || !fo) {
    snprintf(err, cap, "%s", !pw ? "no password" : !fi ? "cannot read the file" : "cannot write the output");
    if (fi) fclose(fi);
    return -1;
  }
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int ok = RAND_bytes(salt, sizeof salt) == 1 &&
           PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, sizeof salt, 10000, EVP_sha256(),
                             sizeof keyiv, keyiv) == 1 &&
           EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, keyiv, keyiv + 32) == 1 &&
           fwrite("Salted__", 1, 8, fo) == 8 && fwrite(salt, 1, 8, fo) == 8;
  size_t n;
  int m;
  while (ok && (n = fread(in, 1, sizeof in, fi)) > 0)
    ok = EVP_EncryptUpdate(ctx, out, &m, in, (int)n) == 1 && fwrite(out, 1, (size_t)m, fo) == (size_t)m;
  ok = ok && !ferror(fi) && EVP_EncryptFinal_ex(ctx, out, &m) == 1 &&
       fwrite(out, 1, (size_t)m, fo) == (size_t)m;
  EVP_CIPHER_CTX_free(ctx);
  fclose(fi);
  ok = (fclose(fo) == 0) && ok;
  if (!ok) snprintf(err, cap, "encryption failed");
  return ok ? 0 : -1;
}

/* Ways 1 and 3 job: arg = (way << 32) | i, way 0 map, 1 loop: the i-th file
 * of EX01_DIR (listed once per worker). */
static int encrypt_index(loom_future *self, void *arg) {
  static paths files;
  static bool listed;
  if (!listed) {
    sorted_files(getenv("EX01_DIR") ? getenv("EX01_DIR") : ".", &files);
    listed = true;
  }
  size_t i = (size_t)arg & 0xffffffffu;
  const char *way = ((size_t)arg >> 32) ? "loop" : "map";
  char err[128];
  if (i >= files.n) return loom_future_set_error(self, LOOM_ENOENT, "no file %zu", i);
  if (encrypt_file(files.v[i], way, err, sizeof err) < 0)
    return loom_future_set_error(self, LOOM_EFAILED, "%s", err);
  return 0;
}

/* Way 2 job: the path arrives as bytes. */
static int encrypt_path(loom_future *self, void *arg) {
  char path[4096], err[128];
  snprintf(path, sizeof path, "%.*s", (int)loom_future_arg_size(self), (const char *)arg);
  if (encrypt_file(path, "submit", err, sizeof err) < 0)
    return loom_future_set_error(self, LOOM_EFAILED, "%s", err);
  return 0;
}

/* ---- the three ways, in the main process ------------------------------------ */

static int way_map(loom_executor *pool, const paths *files) {
  void **idx = calloc(files->n + 1, sizeof *idx);
  for (size_t i = 0; i < files->n; i++) idx[i] = (void *)i;
  loom_process_map *m;
  int bad = 0;
  if (loom_process_pool_map(pool, encrypt_index, idx, files->n, 4, 600, &m) < 0) return 1;
  loom_process_item it;
  while (loom_process_map_next(m, &it) == 0) {
    if (it.err) {
      printf("map: %s: FAILED: %s\n", files->v[it.index], it.msg ? it.msg : loom_strerror(it.err));
      bad++;
    } else {
      printf("map: %s\n", files->v[it.index]);
    }
  }
  loom_process_map_destroy(m);
  free(idx);
  return bad;
}

static int submit_all(loom_executor *pool, const paths *files, loom_future **fs) {
  for (size_t i = 0; i < files->n; i++)
    if (loom_executor_submit_bytes(pool, encrypt_path, files->v[i], strlen(files->v[i]), &fs[i]) < 0)
      return -1;
  return 0;
}

/* as_completed over the jobs, printing each path as it finishes. */
static int report(const char *way, const paths *files, loom_future **fs) {
  loom_as_completed *ac;
  if (loom_as_completed_create(fs, files->n, 600, &ac) < 0) return 1;
  loom_future *f;
  int bad = 0;
  while (loom_as_completed_next(ac, &f) == 0) {
    size_t i = 0;
    while (fs[i] != f) i++;
    const char *msg = NULL;
    if (loom_future_error(f, 0, &msg) != 0) {
      printf("%s: %s: FAILED: %s\n", way, files->v[i], msg ? msg : "?");
      bad++;
    } else {
      printf("%s: %s\n", way, files->v[i]);
    }
  }
  loom_as_completed_destroy(ac);
  return bad;
}

static int way_submit(loom_executor *pool, const paths *files) {
  loom_future **fs = calloc(files->n + 1, sizeof *fs);
  int bad = submit_all(pool, files, fs) < 0 ? 1 : report("submit", files, fs);
  for (size_t i = 0; i < files->n; i++) loom_future_release(fs[i]);
  free(fs);
  return bad;
}

typedef struct loop_ctx {
  loom_executor *pool;
  const paths *files;
  int bad;
  int ticks;
  bool done;
} loop_ctx;

static int ticker(loom_future *self, void *arg) {
  loop_ctx *c = arg;
  while (!c->done) {
    c->ticks++;
    if (loom_sleep(0.001) < 0) break;
  }
  return 0;
}

static int loop_main(loom_future *self, void *arg) {
  loop_ctx *c = arg;
  loom_future *tick;
  if (loom_task_spawn(loom_task_loop(self), ticker, c, "ticker", &tick) < 0) return LOOM_ENOMEM;
  loom_future **fs = calloc(c->files->n + 1, sizeof *fs);
  int rc = 0;
  for (size_t i = 0; i < c->files->n && rc == 0; i++)
    rc = loom_run_in_executor(loom_task_loop(self), c->pool, encrypt_index,
                              (void *)(((size_t)1 << 32) | i), &fs[i]);
  c->bad = rc < 0 ? 1 : report("loop", c->files, fs);
  for (size_t i = 0; i < c->files->n; i++) loom_future_release(fs[i]);
  free(fs);
  c->done = true;
  loom_future_wait(tick, 5);
  loom_future_release(tick);
  return 0;
}

static int way_loop(loom_executor *pool, const paths *files) {
  loom_loop *loop;
  if (loom_loop_create(&loop, NULL) < 0) return 1;
  loop_ctx c = {.pool = pool, .files = files};
  loom_future *main_task;
  int rc = loom_task_spawn(loop, loop_main, &c, "main", &main_task);
  if (rc == 0) rc = loom_loop_run_until_complete(loop, main_task);
  loom_future_release(main_task);
  loom_loop_destroy(loop);
  printf("loop: the ticker task ran %s while the files were encrypted\n",
         c.ticks > 0 ? "on" : "NOT");
  return rc < 0 ? 1 : c.bad;
}

int main(int argc, char **argv) {
  const char *password = NULL, *way = "all";
  int workers = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--password")) password = argv[i + 1];
    else if (!strcmp(argv[i], "--way")) way = argv[i + 1];
    else if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
  }
  if (argc < 2 || !password || workers < 0) {
    fprintf(stderr, "usage: ex01_encrypt DIR --password PW [--way map|submit|loop|all] [--workers N]\n");
    return 2;
  }
  /* Before the pool exists: workers inherit the environment. */
  setenv("EX01_DIR", argv[1], 1);
  setenv("EX01_PASSWORD", password, 1);
  paths files = {0};
  sorted_files(argv[1], &files);
  printf("%zu files under %s\n", files.n, argv[1]);
  LOOM_EXECUTOR_SCOPED loom_executor *pool = NULL;
  if (loom_process_pool_create(&pool, &(loom_process_pool_options){.max_workers = workers}) < 0)
    return 1;
  int bad = 0;
  bool all = !strcmp(way, "all");
  if (all || !strcmp(way, "map")) bad += way_map(pool, &files);
  if (all || !strcmp(way, "submit")) bad += way_submit(pool, &files);
  if (all || !strcmp(way, "loop")) bad += way_loop(pool, &files);
  printf("%d failed\n", bad);
  for (size_t i = 0; i < files.n; i++) free(files.v[i]);
  free(files.v);
  return bad ? 1 : 0;
}
