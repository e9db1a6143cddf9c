/* pt_util.h - helpers for the process tests: count this process's open
 * descriptors and its live children (zombies included), so every test can
 * check it leaked neither. */
#ifndef PT_UTIL_H
#define PT_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline int pt_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n - 1; /* the directory's own descriptor */
}

/* Children of every thread of this process (a child is listed under the
 * thread that started it). */
static inline int pt_children(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[512], buf[4096];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n")) n++;
  }
  closedir(d);
  return n;
}

/* Snapshot at the start of a test; PT_END checks nothing leaked. */
typedef struct pt_snap {
  int fds, kids;
} pt_snap;

static inline pt_snap pt_begin(void) {
  pt_snap s = {pt_fd_count(), pt_children()};
  return s;
}

#define PT_END(s)                                                              \
  do {                                                                         \
    int fds_ = pt_fd_count(), kids_ = pt_children();                           \
    LT_CHECK(fds_ == (s).fds, "descriptors: %d before, %d after", (s).fds, fds_); \
    LT_CHECK(kids_ == (s).kids, "children: %d before, %d after", (s).kids, kids_); \
    LT_CHECK(loom_live_count(LOOM_LIVE_PROCESSES) == 0, "live processes %ld",  \
             loom_live_count(LOOM_LIVE_PROCESSES));                            \
  } while (0)

#endif
