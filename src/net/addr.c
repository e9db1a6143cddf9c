/* addr.c - loom_addr: IPv4, IPv6 and Unix-domain socket addresses, their
 * text form ("1.2.3.4:80", "[::1]:80", "unix:/path", "unix:@abstract") and
 * comparisons.  No name lookups here: that is the resolver's job. */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom/net.h"

#include "../core/internal.h"

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static int parse_port(const char *s, int *port) {
  if (!*s || strlen(s) > 5) return LOOM_EINVAL;
  int v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return LOOM_EINVAL;
    v = v * 10 + (*p - '0');
  }
  if (v > 65535) return LOOM_EINVAL;
  *port = v;
  return 0;
}

/* IPv6 text with an optional "%scope" (interface name or number). */
static int parse_ip6(struct sockaddr_in6 *in6, const char *ip) {
  char tmp[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (strlen(ip) >= sizeof tmp) return LOOM_EINVAL;
  strcpy(tmp, ip);
  char *pct = strchr(tmp, '%');
  if (pct) *pct++ = '\0';
  if (inet_pton(AF_INET6, tmp, &in6->sin6_addr) != 1) return LOOM_EINVAL;
  if (!pct) return 0;
  char *end;
  unsigned long idx = strtoul(pct, &end, 10);
  if (*pct && !*end) {
    in6->sin6_scope_id = (uint32_t)idx;
    return 0;
  }
  if (loom__sys_fault(ENODEV)) return LOOM_EINVAL;
  unsigned named = if_nametoindex(pct);
  if (!named) return LOOM_EINVAL;
  in6->sin6_scope_id = named;
  return 0;
}

int loom_addr_ip(loom_addr *out, const char *ip, int port) {
  if (!out || !ip || port < 0 || port > 65535) return LOOM_EINVAL;
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, ip, &out->u.in4.sin_addr) == 1) {
    out->u.in4.sin_family = AF_INET;
    out->u.in4.sin_port = htons((uint16_t)port);
    out->len = sizeof out->u.in4;
    return 0;
  }
  int rc = parse_ip6(&out->u.in6, ip);
  if (rc < 0) return rc;
  out->u.in6.sin6_family = AF_INET6;
  out->u.in6.sin6_port = htons((uint16_t)port);
  out->len = sizeof out->u.in6;
  return 0;
}

int loom_addr_unix(loom_addr *out, const char *path) {
  if (!out || !path || !*path) return LOOM_EINVAL;
  size_t n = strlen(path);
  memset(out, 0, sizeof *out);
  out->u.un.sun_family = AF_UNIX;
  if (path[0] == '@') { /* abstract: leading NUL, no terminator counted */
    if (n > sizeof out->u.un.sun_path) return -ENAMETOOLONG;
    memcpy(out->u.un.sun_path + 1, path + 1, n - 1);
    out->len = (socklen_t)(SUN_OFF + n);
    return 0;
  }
  if (n >= sizeof out->u.un.sun_path) return -ENAMETOOLONG;
  memcpy(out->u.un.sun_path, path, n + 1);
  out->len = (socklen_t)(SUN_OFF + n + 1);
  return 0;
}

int loom_addr_parse(loom_addr *out, const char *text) {
  if (!out || !text) return LOOM_EINVAL;
  if (strncmp(text, "unix:", 5) == 0) return loom_addr_unix(out, text + 5);
  if (text[0] == '/') return loom_addr_unix(out, text);
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  const char *port_s;
  size_t hlen;
  if (text[0] == '[') { /* [v6]:port */
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':') return LOOM_EINVAL;
    hlen = (size_t)(close - text - 1);
    if (hlen >= sizeof host) return LOOM_EINVAL;
    memcpy(host, text + 1, hlen);
    port_s = close + 2;
  } else { /* v4:port - a bare IPv6 would be ambiguous, so it needs [] */
    const char *colon = strchr(text, ':');
    if (!colon || strchr(colon + 1, ':')) return LOOM_EINVAL;
    hlen = (size_t)(colon - text);
    if (hlen >= sizeof host) return LOOM_EINVAL;
    memcpy(host, text, hlen);
    port_s = colon + 1;
  }
  host[hlen] = '\0';
  int port;
  if (parse_port(port_s, &port) < 0) return LOOM_EINVAL;
  int rc = loom_addr_ip(out, host, port);
  if (rc == 0 && text[0] == '[' && out->u.sa.sa_family != AF_INET6) return LOOM_EINVAL;
  if (rc == 0 && text[0] != '[' && out->u.sa.sa_family != AF_INET) return LOOM_EINVAL;
  return rc;
}

int loom_addr_from_sockaddr(loom_addr *out, const struct sockaddr *sa, socklen_t len) {
  if (!out || !sa || len < (socklen_t)sizeof(sa_family_t) ||
      len > (socklen_t)sizeof out->u)
    return LOOM_EINVAL;
  switch (sa->sa_family) {
  case AF_INET: if (len < (socklen_t)sizeof(struct sockaddr_in)) return LOOM_EINVAL; break;
  case AF_INET6: if (len < (socklen_t)sizeof(struct sockaddr_in6)) return LOOM_EINVAL; break;
  case AF_UNIX: break;
  default: return LOOM_EINVAL;
  }
  memset(out, 0, sizeof *out);
  memcpy(&out->u, sa, len);
  out->len = len;
  return 0;
}

/* snprintf that maps truncation to LOOM_EOVERFLOW. */
static int put(char *buf, size_t cap, int n) {
  if (n < 0) return LOOM_EINVAL;
  if ((size_t)n >= cap) return LOOM_EOVERFLOW;
  return n;
}

static int format_unix(const loom_addr *a, char *buf, size_t cap) {
  size_t plen = a->len > SUN_OFF ? a->len - SUN_OFF : 0;
  const char *p = a->u.un.sun_path;
  if (plen == 0) return put(buf, cap, snprintf(buf, cap, "unix:"));
  if (p[0] == '\0') /* abstract: bytes after the NUL, may hold no NUL */
    return put(buf, cap, snprintf(buf, cap, "unix:@%.*s", (int)(plen - 1), p + 1));
  return put(buf, cap, snprintf(buf, cap, "unix:%.*s", (int)strnlen(p, plen), p));
}

static int format_ip6(const loom_addr *a, char *buf, size_t cap) {
  char ip[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 12] = "";
  inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof ip);
  uint32_t id = a->u.in6.sin6_scope_id;
  if (id) {
    char name[IF_NAMESIZE];
    if (if_indextoname(id, name)) snprintf(scope, sizeof scope, "%%%s", name);
    else snprintf(scope, sizeof scope, "%%%u", id);
  }
  return put(buf, cap, snprintf(buf, cap, "[%s%s]:%u", ip, scope,
                                ntohs(a->u.in6.sin6_port)));
}

int loom_addr_format(const loom_addr *a, char *buf, size_t cap) {
  if (!a || (!buf && cap)) return LOOM_EINVAL;
  if (cap == 0) return LOOM_EOVERFLOW;
  char ip[INET_ADDRSTRLEN];
  switch (a->u.sa.sa_family) {
  case AF_INET:
    inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof ip);
    return put(buf, cap, snprintf(buf, cap, "%s:%u", ip, ntohs(a->u.in4.sin_port)));
  case AF_INET6: return format_ip6(a, buf, cap);
  case AF_UNIX: return format_unix(a, buf, cap);
  default: buf[0] = '\0'; return LOOM_EINVAL;
  }
}

int loom_addr_family(const loom_addr *a) { return a ? a->u.sa.sa_family : AF_UNSPEC; }

int loom_addr_port(const loom_addr *a) {
  if (!a) return LOOM_EINVAL;
  if (a->u.sa.sa_family == AF_INET) return ntohs(a->u.in4.sin_port);
  if (a->u.sa.sa_family == AF_INET6) return ntohs(a->u.in6.sin6_port);
  return LOOM_EINVAL;
}

int loom_addr_set_port(loom_addr *a, int port) {
  if (!a || port < 0 || port > 65535) return LOOM_EINVAL;
  if (a->u.sa.sa_family == AF_INET) a->u.in4.sin_port = htons((uint16_t)port);
  else if (a->u.sa.sa_family == AF_INET6) a->u.in6.sin6_port = htons((uint16_t)port);
  else return LOOM_EINVAL;
  return 0;
}

bool loom_addr_equal(const loom_addr *a, const loom_addr *b) {
  if (!a || !b || a->u.sa.sa_family != b->u.sa.sa_family) return false;
  switch (a->u.sa.sa_family) {
  case AF_INET:
    return a->u.in4.sin_port == b->u.in4.sin_port &&
           a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
  case AF_INET6:
    return a->u.in6.sin6_port == b->u.in6.sin6_port &&
           a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
           memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16) == 0;
  case AF_UNIX:
    return a->len == b->len && memcmp(a->u.un.sun_path, b->u.un.sun_path,
                                      a->len > SUN_OFF ? a->len - SUN_OFF : 0) == 0;
  default: return false;
  }
}
