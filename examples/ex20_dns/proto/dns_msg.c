/* dns_msg.c - parse DNS queries and build answers (see dns_msg.h).
 *
 * Wire format (RFC 1035 §4.1): a 12-byte header (id, flags, four counts),
 * then the question: a name as length-prefixed labels ending in a zero byte
 * (or a 2-byte compression pointer 0b11xxxxxx...), QTYPE, QCLASS. */
#include "dns_msg.h"

#include <ctype.h>
#include <string.h>

#define QR 0x8000u
#define OPCODE(f) (((f) >> 11) & 0xfu)
#define RD 0x0100u
#define AA 0x0400u

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

/* Append one label to the text name; rejects bytes that would make the text
 * ambiguous ('.', control characters) rather than escaping them. */
static int add_label(char *name, size_t *nlen, const uint8_t *lab, size_t n) {
  if (*nlen + (*nlen ? 1 : 0) + n > DNS_NAME_MAX) return DNS_EFORMAT;
  if (*nlen) name[(*nlen)++] = '.';
  for (size_t i = 0; i < n; i++) {
    if (lab[i] == '.' || lab[i] < 0x21 || lab[i] > 0x7e) return DNS_EFORMAT;
    name[(*nlen)++] = (char)tolower(lab[i]);
  }
  name[*nlen] = '\0';
  return 0;
}

/* Decode the name at *off into q->name; *off moves past it (past the first
 * pointer if the name is compressed). */
static int read_name(const uint8_t *pkt, size_t len, size_t *off, char *name) {
  size_t pos = *off, nlen = 0, end = 0;
  size_t limit = pos; /* pointers must go strictly backwards from here */
  name[0] = '\0';
  for (;;) {
    if (pos >= len) return DNS_ETRUNC;
    uint8_t b = pkt[pos];
    if ((b & 0xc0) == 0xc0) {
      if (pos + 1 >= len) return DNS_ETRUNC;
      size_t target = (size_t)(b & 0x3f) << 8 | pkt[pos + 1];
      if (target >= limit) return DNS_EFORMAT; /* forward or self: could loop */
      if (!end) end = pos + 2;
      limit = target;
      pos = target;
      continue;
    }
    if (b & 0xc0) return DNS_EFORMAT; /* 0x40 / 0x80: reserved label types */
    if (b == 0) break;
    if (pos + 1 + b > len) return DNS_ETRUNC;
    int rc = add_label(name, &nlen, pkt + pos + 1, b);
    if (rc < 0) return rc;
    pos += 1 + (size_t)b;
  }
  *off = end ? end : pos + 1;
  return 0;
}

int dns_parse_query(const uint8_t *pkt, size_t len, dns_query *q) {
  if (!pkt || len < DNS_HEADER_LEN) return DNS_ETRUNC;
  q->id = get16(pkt);
  q->flags = get16(pkt + 2);
  if ((q->flags & QR) || OPCODE(q->flags) != 0) return DNS_ENOTQUERY;
  if (get16(pkt + 4) != 1) return DNS_EQDCOUNT;
  size_t off = DNS_HEADER_LEN;
  int rc = read_name(pkt, len, &off, q->name);
  if (rc < 0) return rc;
  if (off + 4 > len) return DNS_ETRUNC;
  q->qtype = get16(pkt + off);
  q->qclass = get16(pkt + off + 2);
  return 0;
}

/* Encode a dotted name as labels. Returns the length or a DNS_E code. */
static int put_name(const char *name, uint8_t *out, size_t cap) {
  size_t o = 0, n = strlen(name);
  if (n > DNS_NAME_MAX) return DNS_EFORMAT;
  const char *p = name;
  while (*p) {
    const char *dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    if (l == 0 || l > 63) return DNS_EFORMAT;
    if (o + 1 + l > cap) return DNS_ESPACE;
    out[o++] = (uint8_t)l;
    memcpy(out + o, p, l);
    o += l;
    p += l + (dot ? 1 : 0);
    if (dot && !*p) break; /* a final dot is allowed */
  }
  if (o + 1 > cap) return DNS_ESPACE;
  out[o++] = 0;
  return (int)o;
}

static void put_header(uint8_t *out, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an) {
  put16(out, id);
  put16(out + 2, flags);
  put16(out + 4, qd);
  put16(out + 6, an);
  put16(out + 8, 0);
  put16(out + 10, 0);
}

int dns_build_answer(const dns_query *q, const uint8_t ipv4[4], uint32_t ttl,
                     uint8_t *out, size_t cap) {
  if (cap < DNS_HEADER_LEN) return DNS_ESPACE;
  int nl = put_name(q->name, out + DNS_HEADER_LEN, cap - DNS_HEADER_LEN);
  if (nl < 0) return nl;
  size_t o = DNS_HEADER_LEN + (size_t)nl;
  if (o + 4 > cap) return DNS_ESPACE;
  put16(out + o, q->qtype);
  put16(out + o + 2, q->qclass);
  o += 4;
  uint16_t rcode = q->qclass == DNS_CLASS_IN ? DNS_RCODE_OK : DNS_RCODE_NOTIMP;
  int answer = rcode == DNS_RCODE_OK && ipv4 &&
               (q->qtype == DNS_TYPE_A || q->qtype == DNS_TYPE_ANY);
  uint16_t flags = (uint16_t)(QR | AA | (q->flags & RD) | rcode);
  put_header(out, q->id, flags, 1, answer ? 1 : 0);
  if (!answer) return (int)o;
  if (o + 16 > cap) return DNS_ESPACE;
  put16(out + o, 0xc000 | DNS_HEADER_LEN); /* the name: a pointer to the question */
  put16(out + o + 2, DNS_TYPE_A);
  put16(out + o + 4, DNS_CLASS_IN);
  put32(out + o + 6, ttl);
  put16(out + o + 10, 4);
  memcpy(out + o + 12, ipv4, 4);
  return (int)(o + 16);
}

int dns_build_error(const uint8_t *pkt, size_t len, int rcode, uint8_t *out, size_t cap) {
  if (!pkt || len < DNS_HEADER_LEN) return DNS_ETRUNC;
  uint16_t flags = get16(pkt + 2);
  if (flags & QR) return DNS_ENOTQUERY;
  if (cap < DNS_HEADER_LEN) return DNS_ESPACE;
  flags = (uint16_t)(QR | (flags & (0xfu << 11)) | (flags & RD) | (rcode & 0xf));
  put_header(out, get16(pkt), flags, 0, 0);
  return DNS_HEADER_LEN;
}

int dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out,
                    size_t cap) {
  if (cap < DNS_HEADER_LEN) return DNS_ESPACE;
  put_header(out, id, RD, 1, 0);
  int nl = put_name(name, out + DNS_HEADER_LEN, cap - DNS_HEADER_LEN);
  if (nl < 0) return nl;
  size_t o = DNS_HEADER_LEN + (size_t)nl;
  if (o + 4 > cap) return DNS_ESPACE;
  put16(out + o, qtype);
  put16(out + o + 2, DNS_CLASS_IN);
  return (int)(o + 4);
}

const char *dns_strerror(int rc) {
  switch (rc) {
  case 0: return "ok";
  case DNS_ETRUNC: return "truncated packet";
  case DNS_EFORMAT: return "malformed name";
  case DNS_ENOTQUERY: return "not a standard query";
  case DNS_EQDCOUNT: return "not exactly one question";
  case DNS_ESPACE: return "output buffer too small";
  default: return "unknown error";
  }
}
