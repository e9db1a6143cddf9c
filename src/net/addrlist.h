/* addrlist.h - the layout of loom_addrlist, shared by the resolver and the
 * connection code (never installed). */
#ifndef LOOM_NET_ADDRLIST_H
#define LOOM_NET_ADDRLIST_H

#include <netdb.h>

#include "loom/net.h"

typedef struct loom__addrent {
  loom_addr addr;
  int socktype; /* SOCK_STREAM, SOCK_DGRAM... as getaddrinfo said */
  int protocol; /* IPPROTO_TCP... */
} loom__addrent;

struct loom_addrlist {
  size_t n;
  char *canon;        /* canonical name or NULL, loom__malloc'd */
  loom__addrent e[];  /* n entries */
};

/* A list of the usable entries of a getaddrinfo result (IPv4/IPv6 only).
 * Returns 0, LOOM_ENOMEM, or LOOM_ENOENT when no entry was usable. */
int loom__addrlist_from_ai(const struct addrinfo *ai, loom_addrlist **out);

/* An empty list with room for n entries (n set). NULL on ENOMEM. */
loom_addrlist *loom__addrlist_alloc(size_t n);

/* Destructor for a future's result slot. */
void loom__addrlist_dtor(void *l);

#endif
