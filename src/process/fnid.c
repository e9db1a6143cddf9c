/* fnid.c - naming a function so that another process of the same binary can
 * find it despite ASLR: (module path, offset from the module's load address).
 * The main program's module name is "".  A one-entry cache per thread makes
 * repeated submissions of the same function cost a comparison, not a walk of
 * the loader's module list.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>

#include "proc_internal.h"

typedef struct find_ctx {
  uintptr_t addr;  /* encode: the address to find */
  const char *name; /* decode: the module to find; encode: the result */
  size_t name_len;
  uintptr_t base;
  bool found;
} find_ctx;

static int find_by_addr(struct dl_phdr_info *info, size_t size, void *p) {
  find_ctx *c = p;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    /* Only executable segments: a data address is not a function. */
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    if (c->addr >= lo && c->addr < lo + ph->p_memsz) {
      c->name = info->dlpi_name ? info->dlpi_name : "";
      c->base = info->dlpi_addr;
      c->found = true;
      return 1;
    }
  }
  return 0;
}

static __thread uintptr_t enc_addr;
static __thread const char *enc_name;
static __thread uint64_t enc_off;

int loom__fn_encode(const void *addr, const char **name, uint64_t *off) {
  uintptr_t a = (uintptr_t)addr;
  if (a && a == enc_addr) {
    *name = enc_name;
    *off = enc_off;
    return 0;
  }
  find_ctx c = {.addr = a};
  dl_iterate_phdr(find_by_addr, &c);
  if (!c.found) return LOOM_EINVAL;
  enc_addr = a;
  enc_name = c.name;
  enc_off = a - c.base;
  *name = enc_name;
  *off = enc_off;
  return 0;
}

static int find_by_name(struct dl_phdr_info *info, size_t size, void *p) {
  find_ctx *c = p;
  const char *n = info->dlpi_name ? info->dlpi_name : "";
  if (strlen(n) == c->name_len && (c->name_len == 0 || memcmp(n, c->name, c->name_len) == 0)) {
    c->base = info->dlpi_addr;
    c->found = true;
    return 1;
  }
  return 0;
}

static __thread uintptr_t dec_main_base;
static __thread bool dec_main_known;

void *loom__fn_decode(const char *name, size_t name_len, uint64_t off) {
  if (name_len == 0 && dec_main_known) return (void *)(dec_main_base + off);
  find_ctx c = {.name = name, .name_len = name_len};
  dl_iterate_phdr(find_by_name, &c);
  if (!c.found && name_len) {
    /* A library the program loaded with dlopen after start: load it too. */
    char path[4096];
    if (name_len >= sizeof path) return NULL;
    memcpy(path, name, name_len);
    path[name_len] = 0;
    if (!dlopen(path, RTLD_NOW)) return NULL;
    dl_iterate_phdr(find_by_name, &c);
  }
  if (!c.found) return NULL;
  if (name_len == 0) {
    dec_main_base = c.base;
    dec_main_known = true;
  }
  return (void *)(c.base + off);
}
