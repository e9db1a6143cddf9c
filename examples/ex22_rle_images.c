/* ex22_rle_images - run-length compression of 1-bit images in a pool.
 *
 * Images of W x H pixels, one bit each (packed 8 per byte, rows padded to a
 * byte), are compressed row by row: each row becomes its run lengths,
 * alternating white and black and starting with white, each run a LEB128
 * varint.  The work is split two ways - one job per row, or one job per
 * image - and run on a process pool and on a thread pool, with a timing
 * table.  Every compressed image is then decompressed and compared with the
 * original, bit for bit.
 *
 *   ex22_rle_images [--images N] [--size W] [--workers W] [--seed S]
 */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct image {
  int w, h;
  unsigned char *bits; /* h rows of (w + 7) / 8 bytes */
} image;

static size_t row_bytes(int w) { return (size_t)(w + 7) / 8; }

static int get_bit(const unsigned char *row, int x) { return (row[x >> 3] >> (7 - (x & 7))) & 1; }

static void put_varint(unsigned char **p, unsigned v) {
  do {
    unsigned char b = v & 0x7f;
    v >>= 7;
    *(*p)++ = (unsigned char)(b | (v ? 0x80 : 0));
  } while (v);
}

/* Compress one row of w pixels into out (room for 5 * (w + 1) bytes). */
static size_t rle_row(const unsigned char *row, int w, unsigned char *out) {
  unsigned char *p = out;
  int colour = 0, run = 0;
  for (int x = 0; x < w; x++) {
    if (get_bit(row, x) != colour) {
      put_varint(&p, (unsigned)run);
      colour ^= 1;
      run = 0;
    }
    run++;
  }
  put_varint(&p, (unsigned)run);
  return (size_t)(p - out);
}

/* Job argument: [int32 w][int32 h][h packed rows]; result: the rows'
 * encodings, each preceded by its byte length as a varint. */
static int rle_job(loom_future *self, void *arg) {
  size_t size = loom_future_arg_size(self);
  int wh[2];
  if (size < sizeof wh) return LOOM_EINVAL;
  memcpy(wh, arg, sizeof wh);
  const unsigned char *rows = (const unsigned char *)arg + sizeof wh;
  if (wh[0] <= 0 || wh[1] <= 0 || size != sizeof wh + (size_t)wh[1] * row_bytes(wh[0]))
    return loom_future_set_error(self, LOOM_EINVAL, "malformed image");
  unsigned char *out = malloc((size_t)wh[1] * (5 * ((size_t)wh[0] + 1) + 5)), *p = out;
  unsigned char *tmp = malloc(5 * ((size_t)wh[0] + 1));
  for (int y = 0; y < wh[1]; y++) {
    size_t n = rle_row(rows + (size_t)y * row_bytes(wh[0]), wh[0], tmp);
    put_varint(&p, (unsigned)n);
    memcpy(p, tmp, n);
    p += n;
  }
  int rc = loom_future_set_result_bytes(self, out, (size_t)(p - out));
  free(out);
  free(tmp);
  return rc;
}

static unsigned get_varint(const unsigned char **p, const unsigned char *end) {
  unsigned v = 0;
  for (int shift = 0; *p < end && shift < 35; shift += 7) {
    unsigned char b = *(*p)++;
    v |= (unsigned)(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  return v;
}

/* Decode `nrows` encoded rows into bits (already zeroed); false if malformed. */
static bool unrle(const unsigned char *p, size_t len, int w, int nrows, unsigned char *bits) {
  const unsigned char *end = p + len;
  for (int y = 0; y < nrows; y++) {
    unsigned n = get_varint(&p, end);
    const unsigned char *rend = p + n;
    if (rend > end) return false;
    int x = 0, colour = 0;
    while (p < rend) {
      unsigned run = get_varint(&p, rend);
      if (x + (int)run > w) return false;
      for (unsigned i = 0; i < run; i++, x++)
        if (colour) bits[(size_t)y * row_bytes(w) + (size_t)(x >> 3)] |= (unsigned char)(0x80 >> (x & 7));
      colour ^= 1;
    }
    if (x != w) return false;
  }
  return p == end;
}

/* Discs of random centres and radii: long runs, like scanned drawings. */
static image make_image(int w, int h, unsigned *seed) {
  image im = {w, h, calloc((size_t)h * row_bytes(w), 1)};
  for (int d = 0; d < 12; d++) {
    int cx = rand_r(seed) % w, cy = rand_r(seed) % h, r = 5 + rand_r(seed) % (w / 6 + 1);
    for (int y = cy - r; y <= cy + r; y++)
      for (int x = cx - r; x <= cx + r; x++)
        if (x >= 0 && y >= 0 && x < w && y < h && (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r)
          im.bits[(size_t)y * row_bytes(w) + (size_t)(x >> 3)] ^= (unsigned char)(0x80 >> (x & 7));
  }
  return im;
}

/* Pack rows [y0, y0 + n) of an image as a job argument. */
static unsigned char *pack(const image *im, int y0, int n, size_t *size) {
  int wh[2] = {im->w, n};
  *size = sizeof wh + (size_t)n * row_bytes(im->w);
  unsigned char *b = malloc(*size);
  memcpy(b, wh, sizeof wh);
  memcpy(b + sizeof wh, im->bits + (size_t)y0 * row_bytes(im->w), (size_t)n * row_bytes(im->w));
  return b;
}

/* Compress every image on ex, per row or per image; check by decompressing.
 * Returns seconds, or -1 on a failure or a mismatch. */
static double run(loom_executor *ex, image *ims, int n_images, bool per_row, size_t *out_bytes) {
  int per = per_row ? ims[0].h : 1;
  size_t nj = (size_t)n_images * (size_t)per;
  loom_future **fs = calloc(nj, sizeof *fs);
  int64_t t0 = loom_now_ns();
  for (int i = 0; i < n_images; i++)
    for (int k = 0; k < per; k++) {
      size_t size;
      unsigned char *b = pack(&ims[i], per_row ? k : 0, per_row ? 1 : ims[i].h, &size);
      int rc = loom_executor_submit_bytes(ex, rle_job, b, size, &fs[(size_t)i * per + k]);
      free(b);
      if (rc < 0) return -1;
    }
  bool ok = true;
  *out_bytes = 0;
  for (int i = 0; i < n_images; i++) {
    unsigned char *back = calloc((size_t)ims[i].h * row_bytes(ims[i].w), 1);
    for (int k = 0; k < per; k++) {
      const void *data;
      size_t len;
      loom_future *f = fs[(size_t)i * per + k];
      if (loom_future_result_bytes(f, 600, &data, &len) < 0) {
        ok = false;
        continue;
      }
      *out_bytes += len;
      int rows = per_row ? 1 : ims[i].h;
      ok &= unrle(data, len, ims[i].w, rows, back + (size_t)(per_row ? k : 0) * row_bytes(ims[i].w));
    }
    ok &= memcmp(back, ims[i].bits, (size_t)ims[i].h * row_bytes(ims[i].w)) == 0;
    free(back);
  }
  double dt = (double)(loom_now_ns() - t0) / 1e9;
  for (size_t j = 0; j < nj; j++) loom_future_release(fs[j]);
  free(fs);
  return ok ? dt : -1;
}

int main(int argc, char **argv) {
  int n_images = 8, size = 512, workers = loom_cpu_count();
  unsigned seed = 22;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--images")) n_images = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) seed = (unsigned)atoi(argv[i + 1]);
  }
  if (n_images < 1 || size < 8 || size > 8192 || workers < 1) {
    fprintf(stderr, "usage: ex22_rle_images [--images N] [--size W (8..8192)] [--workers W] [--seed S]\n");
    return 2;
  }
  image *ims = calloc((size_t)n_images, sizeof *ims);
  for (int i = 0; i < n_images; i++) ims[i] = make_image(size, size, &seed);
  size_t raw = (size_t)n_images * (size_t)size * row_bytes(size);
  printf("%d images of %dx%d pixels (%zu bytes packed), %d workers\n", n_images, size, size, raw,
         workers);
  loom_executor *pp, *tp;
  if (loom_process_pool_create(&pp, &(loom_process_pool_options){.max_workers = workers}) < 0 ||
      loom_thread_pool_create(&tp, &(loom_thread_pool_options){.max_workers = workers}) < 0)
    return 1;
  size_t out = 0;
  run(pp, ims, 1, false, &out); /* start the worker processes before timing */
  printf("%-10s %-10s %10s %12s %s\n", "pool", "split", "time", "compressed", "restored");
  int bad = 0;
  const char *pools[] = {"processes", "threads"};
  loom_executor *exs[] = {pp, tp};
  for (int p = 0; p < 2; p++)
    for (int r = 1; r >= 0; r--) {
      double dt = run(exs[p], ims, n_images, r, &out);
      bad += dt < 0;
      printf("%-10s %-10s %9.3fs %12zu %s\n", pools[p], r ? "per row" : "per image",
             dt < 0 ? 0 : dt, out, dt < 0 ? "NO" : "exactly");
    }
  loom_executor_destroy(pp);
  loom_executor_destroy(tp);
  for (int i = 0; i < n_images; i++) free(ims[i].bits);
  free(ims);
  return bad != 0;
}
