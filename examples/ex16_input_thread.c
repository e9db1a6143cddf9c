/* ex16_input_thread.c - a thread reads a line of input while the main
 * thread keeps computing.
 *
 * The reader is a loom_thread whose result is the line (a heap string the
 * future owns).  The main thread counts primes in small chunks and, between
 * chunks, asks the reader's future whether it is done - it never blocks on
 * the keyboard.  When the line arrives (or input ends) it reports how much it
 * computed meanwhile, then joins the reader.
 *
 *   ex16_input_thread            type a line and press Enter
 *   echo hello | ex16_input_thread
 */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_line(loom_future *self, void *arg) {
  (void)arg;
  char buf[512];
  if (!fgets(buf, sizeof buf, stdin))
    return loom_future_set_error(self, LOOM_EPIPE, "end of input before a line");
  buf[strcspn(buf, "\n")] = 0;
  char *line = strdup(buf);
  if (!line) return LOOM_ENOMEM;
  return loom_future_set_result(self, line, free);
}

static bool is_prime(long n) {
  if (n < 2) return false;
  for (long d = 2; d * d <= n; d++)
    if (n % d == 0) return false;
  return true;
}

int main(void) {
  loom_thread *reader;
  int rc = loom_thread_start(&reader, "reader", read_line, NULL);
  if (rc < 0) {
    fprintf(stderr, "cannot start the reader: %s\n", loom_strerror(rc));
    return 1;
  }
  loom_future *line = loom_thread_future(reader);
  printf("Type a line; the main thread counts primes until it arrives.\n");
  fflush(stdout);

  /* Compute in chunks of 2,000 numbers, polling the reader in between;
   * give up waiting after 60 s so the program always ends. */
  long n = 2, primes = 0, chunks = 0;
  double deadline = loom_now() + 60.0;
  while (!loom_future_done(line) && loom_now() < deadline) {
    for (long end = n + 2000; n < end; n++) primes += is_prime(n);
    chunks++;
  }
  printf("While waiting, the main thread checked %ld numbers in %ld chunks and found "
         "%ld primes.\n", n - 2, chunks, primes);

  void *text = NULL;
  const char *msg = NULL;
  rc = loom_future_result(line, 0, &text);
  if (rc == 0)
    printf("The reader thread read: \"%s\"\n", (char *)text);
  else if (rc == LOOM_ETIMEDOUT)
    printf("No input within 60 s.\n");
  else if (loom_future_error(line, 0, &msg) < 0)
    printf("The reader thread failed: %s\n", msg);
  /* A reader still blocked on the terminal is detached by destroy. */
  if (loom_future_done(line)) loom_thread_join(reader, 5.0);
  loom_thread_destroy(reader);
  return rc == 0 || rc == LOOM_EPIPE ? 0 : 1;
}
