/* registry.c - a process-wide table of named job functions, for backends that
 * cannot ship addresses (a remote worker) and for diagnostics.  Names are
 * registered by constructors so they exist in every worker as well. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proc_internal.h"

typedef struct reg_entry {
  struct reg_entry *next;
  loom_fn fn;
  char name[];
} reg_entry;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static reg_entry *reg_head;

loom_fn loom_process_lookup(const char *name) {
  if (!name) return NULL;
  loom_fn fn = NULL;
  pthread_mutex_lock(&reg_lock);
  for (reg_entry *e = reg_head; e && !fn; e = e->next)
    if (strcmp(e->name, name) == 0) fn = e->fn;
  pthread_mutex_unlock(&reg_lock);
  return fn;
}

int loom_process_register(const char *name, loom_fn fn) {
  if (!name || !*name || !fn) return LOOM_EINVAL;
  if (loom_process_lookup(name)) return LOOM_EEXIST;
  size_t n = strlen(name);
  /* Plain malloc: entries live for the whole process (not counted). */
  reg_entry *e = malloc(sizeof *e + n + 1);
  if (!e) return LOOM_ENOMEM;
  memcpy(e->name, name, n + 1);
  e->fn = fn;
  pthread_mutex_lock(&reg_lock);
  e->next = reg_head;
  reg_head = e;
  pthread_mutex_unlock(&reg_lock);
  return 0;
}
