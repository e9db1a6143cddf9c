/* ex13_cpu_bench - CPU-bound work in a pool of 1..N workers, processes and
 * threads side by side: RC4 encrypt + decrypt of byte arrays, and SHA-256 of
 * 1 MB buffers (OpenSSL's libcrypto).  Python needs processes for this; in C
 * threads scale too, and the table shows both.
 *
 * Every job builds its buffer from its seed with a 64-bit LCG
 * (x = x * 6364136223846793005 + 1442695040888963407, byte = x >> 56), so the
 * parent and any checker can reproduce it without shipping the data.
 *
 *   ex13_cpu_bench [--jobs J] [--size BYTES] [--max-workers N] [--only rc4|sha256]
 */
#include <loom.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t buf_size = 1 << 20;

/* The job argument: seed in the low 32 bits, buffer size above. */
static void *job_arg(long seed) { return (void *)(((long)buf_size << 32) | seed); }

static unsigned char *make_buffer(void *arg, size_t *len) {
  long a = (long)arg;
  uint64_t x = (uint64_t)(a & 0xffffffffL);
  *len = (size_t)(a >> 32);
  unsigned char *b = malloc(*len ? *len : 1);
  for (size_t i = 0; i < *len; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    b[i] = (unsigned char)(x >> 56);
  }
  return b;
}

/* RC4: key schedule, then the keystream XORed over the buffer. */
static void rc4(const unsigned char *key, size_t klen, unsigned char *data, size_t len) {
  unsigned char s[256];
  for (int i = 0; i < 256; i++) s[i] = (unsigned char)i;
  for (int i = 0, j = 0; i < 256; i++) {
    j = (j + s[i] + key[i % klen]) & 255;
    unsigned char t = s[i];
    s[i] = s[j];
    s[j] = t;
  }
  for (size_t k = 0, i = 0, j = 0; k < len; k++) {
    i = (i + 1) & 255;
    j = (j + s[i]) & 255;
    unsigned char t = s[i];
    s[i] = s[j];
    s[j] = t;
    data[k] ^= s[(s[i] + s[j]) & 255];
  }
}

/* Encrypt, decrypt, compare: result 1 if the round trip restored the data. */
static int rc4_job(loom_future *self, void *arg) {
  size_t len;
  unsigned char *b = make_buffer(arg, &len), *copy = malloc(len ? len : 1);
  memcpy(copy, b, len);
  static const unsigned char key[] = "loom-ex13-key";
  rc4(key, sizeof key - 1, b, len);
  int changed = len == 0 || memcmp(b, copy, len) != 0;
  rc4(key, sizeof key - 1, b, len);
  int ok = changed && memcmp(b, copy, len) == 0;
  free(b);
  free(copy);
  return loom_future_set_result(self, (void *)(long)ok, NULL);
}

/* SHA-256 of the buffer, returned as 64 hex digits. */
static int sha_job(loom_future *self, void *arg) {
  size_t len;
  unsigned char *b = make_buffer(arg, &len), md[32];
  unsigned int mdlen = 0;
  int ok = EVP_Digest(b, len, md, &mdlen, EVP_sha256(), NULL);
  free(b);
  if (!ok || mdlen != 32) return loom_future_set_error(self, LOOM_EFAILED, "EVP_Digest failed");
  char hex[65];
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  return loom_future_set_result_bytes(self, hex, 64);
}

/* Run `jobs` jobs of fn on ex; check each; return seconds (or -1). */
static double run(loom_executor *ex, loom_fn fn, int jobs, char first_hex[65]) {
  loom_future **fs = calloc((size_t)jobs, sizeof *fs);
  int64_t t0 = loom_now_ns();
  for (int i = 0; i < jobs; i++)
    if (loom_executor_submit(ex, fn, job_arg(i + 1), &fs[i]) < 0) return -1;
  int bad = 0;
  for (int i = 0; i < jobs; i++) {
    const void *data;
    size_t len;
    void *v;
    if (fn == sha_job) {
      if (loom_future_result_bytes(fs[i], 600, &data, &len) < 0 || len != 64) bad++;
      else if (i == 0) snprintf(first_hex, 65, "%.*s", 64, (const char *)data);
    } else if (loom_future_result(fs[i], 600, &v) < 0 || (long)v != 1) {
      bad++;
    }
    loom_future_release(fs[i]);
  }
  double dt = (double)(loom_now_ns() - t0) / 1e9;
  free(fs);
  return bad ? -1 : dt;
}

static int table(const char *name, loom_fn fn, int jobs, int max_workers) {
  printf("\n%s: %d jobs of %zu bytes\n", name, jobs, buf_size);
  printf("%-8s %10s %8s %10s %8s\n", "workers", "processes", "speedup", "threads", "speedup");
  double base_p = 0, base_t = 0;
  char hex_p[65] = "", hex_t[65] = "";
  for (int w = 1; w <= max_workers; w++) {
    loom_executor *pp, *tp;
    if (loom_process_pool_create(&pp, &(loom_process_pool_options){.max_workers = w}) < 0 ||
        loom_thread_pool_create(&tp, &(loom_thread_pool_options){.max_workers = w}) < 0)
      return 1;
    run(pp, fn, w, hex_p); /* start the workers before timing */
    double tp_s = run(pp, fn, jobs, hex_p), tt_s = run(tp, fn, jobs, hex_t);
    loom_executor_destroy(pp);
    loom_executor_destroy(tp);
    if (tp_s < 0 || tt_s < 0) {
      printf("%s: a job failed\n", name);
      return 1;
    }
    if (w == 1) {
      base_p = tp_s;
      base_t = tt_s;
    }
    printf("%-8d %9.3fs %7.2fx %9.3fs %7.2fx\n", w, tp_s, base_p / tp_s, tt_s, base_t / tt_s);
  }
  if (fn == sha_job) {
    printf("%s: job 1 digest %s\n", name, hex_p);
    if (strcmp(hex_p, hex_t) != 0) {
      printf("%s: processes and threads disagree\n", name);
      return 1;
    }
  } else {
    printf("%s: every buffer restored after encrypt + decrypt\n", name);
  }
  return 0;
}

int main(int argc, char **argv) {
  int jobs = 8, max_workers = loom_cpu_count();
  const char *only = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--jobs")) jobs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--size")) buf_size = (size_t)atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--max-workers")) max_workers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  if (jobs < 1 || max_workers < 1 || buf_size > ((size_t)1 << 30)) {
    fprintf(stderr, "usage: ex13_cpu_bench [--jobs J] [--size BYTES] [--max-workers N] [--only rc4|sha256]\n");
    return 2;
  }
  int rc = 0;
  if (!only || !strcmp(only, "rc4")) rc |= table("rc4", rc4_job, jobs, max_workers);
  if (!only || !strcmp(only, "sha256")) rc |= table("sha256", sha_job, jobs, max_workers);
  return rc;
}
