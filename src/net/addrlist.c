/* addrlist.c - loom_addrlist, the result of a lookup, and its Happy
 * Eyeballs ordering (RFC 8305 section 4, as asyncio's
 * _interleave_addrinfos does it: group by family in order of first
 * appearance, take `first_family_count` of the first family, then take one
 * of each family in turn). */
#include <string.h>

#include "../core/internal.h"
#include "addrlist.h"

loom_addrlist *loom__addrlist_alloc(size_t n) {
  if (n > (SIZE_MAX - sizeof(loom_addrlist)) / sizeof(loom__addrent)) return NULL;
  loom_addrlist *l = loom__calloc(1, sizeof *l + n * sizeof(loom__addrent));
  if (!l) return NULL;
  l->n = n;
  loom__live_inc(LOOM_LIVE_OTHER);
  return l;
}

void loom_addrlist_free(loom_addrlist *l) {
  if (!l) return;
  loom__free(l->canon);
  loom__free(l);
  loom__live_dec(LOOM_LIVE_OTHER);
}

void loom__addrlist_dtor(void *l) { loom_addrlist_free(l); }

int loom__addrlist_from_ai(const struct addrinfo *ai, loom_addrlist **out) {
  size_t n = 0;
  for (const struct addrinfo *p = ai; p; p = p->ai_next)
    if (p->ai_family == AF_INET || p->ai_family == AF_INET6) n++;
  if (n == 0) return LOOM_ENOENT;
  loom_addrlist *l = loom__addrlist_alloc(n);
  if (!l) return LOOM_ENOMEM;
  if (ai->ai_canonname && !(l->canon = loom__strdup(ai->ai_canonname))) {
    loom_addrlist_free(l);
    return LOOM_ENOMEM;
  }
  size_t i = 0;
  for (const struct addrinfo *p = ai; p; p = p->ai_next) {
    if (p->ai_family != AF_INET && p->ai_family != AF_INET6) continue;
    if (loom_addr_from_sockaddr(&l->e[i].addr, p->ai_addr, p->ai_addrlen) < 0) continue;
    l->e[i].socktype = p->ai_socktype;
    l->e[i].protocol = p->ai_protocol;
    i++;
  }
  l->n = i;
  if (i == 0) {
    loom_addrlist_free(l);
    return LOOM_ENOENT;
  }
  *out = l;
  return 0;
}

size_t loom_addrlist_count(const loom_addrlist *l) { return l ? l->n : 0; }

const loom_addr *loom_addrlist_get(const loom_addrlist *l, size_t i) {
  return l && i < l->n ? &l->e[i].addr : NULL;
}

int loom_addrlist_socktype(const loom_addrlist *l, size_t i) {
  return l && i < l->n ? l->e[i].socktype : LOOM_EINVAL;
}

const char *loom_addrlist_canonname(const loom_addrlist *l) { return l ? l->canon : NULL; }

/* Index of the next entry of family `fam` at or after *cur, or n. */
static size_t next_of(const loom_addrlist *l, int fam, size_t *cur) {
  while (*cur < l->n && l->e[*cur].addr.u.sa.sa_family != fam) (*cur)++;
  return (*cur)++;
}

int loom_addrlist_interleave(loom_addrlist *l, size_t first_family_count) {
  if (!l || first_family_count == 0) return LOOM_EINVAL;
  if (l->n < 2) return 0;
  int fams[8];
  size_t nf = 0, cur[8] = {0};
  for (size_t i = 0; i < l->n; i++) { /* families in order of appearance */
    int f = l->e[i].addr.u.sa.sa_family;
    size_t k = 0;
    while (k < nf && fams[k] != f) k++;
    if (k == nf && nf < LOOM__ARRAY_LEN(fams)) fams[nf++] = f;
  }
  loom__addrent *tmp = loom__malloc(l->n * sizeof *tmp);
  if (!tmp) return LOOM_ENOMEM;
  size_t out = 0;
  /* The first family's head start: first_family_count - 1 extra entries. */
  for (size_t k = 1; k < first_family_count; k++) {
    size_t i = next_of(l, fams[0], &cur[0]);
    if (i >= l->n) break;
    tmp[out++] = l->e[i];
  }
  while (out < l->n) { /* round robin over the families */
    size_t before = out;
    for (size_t f = 0; f < nf && out < l->n; f++) {
      size_t i = next_of(l, fams[f], &cur[f]);
      if (i < l->n) tmp[out++] = l->e[i];
    }
    if (out == before) { /* more families than fams[] holds: leave as is */
      loom__free(tmp);
      return LOOM_EINVAL;
    }
  }
  memcpy(l->e, tmp, l->n * sizeof *tmp);
  loom__free(tmp);
  return 0;
}
