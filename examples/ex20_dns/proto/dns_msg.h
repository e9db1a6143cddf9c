/* dns_msg.h - the small DNS message codec of example 20 (RFC 1035 §4):
 * parse a query, build an A-record answer or an error answer.
 *
 * Everything works on caller buffers, allocates nothing, and treats the
 * packet as hostile: every length and offset is checked before it is read,
 * compression pointers may only point backwards (so they cannot loop), and a
 * malformed packet gives a negative DNS_E... code, never a crash.
 */
#ifndef LOOM_EX20_DNS_MSG_H
#define LOOM_EX20_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>

enum {
  DNS_ETRUNC = -1,   /* the packet ends inside a field */
  DNS_EFORMAT = -2,  /* bad label, name too long, bad compression pointer */
  DNS_ENOTQUERY = -3, /* a response (QR set) or an opcode other than QUERY */
  DNS_EQDCOUNT = -4, /* not exactly one question */
  DNS_ESPACE = -5,   /* the output buffer is too small */
};

enum { DNS_TYPE_A = 1, DNS_TYPE_AAAA = 28, DNS_TYPE_ANY = 255, DNS_CLASS_IN = 1 };
enum { DNS_RCODE_OK = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_NXDOMAIN = 3, DNS_RCODE_NOTIMP = 4 };

#define DNS_HEADER_LEN 12
#define DNS_NAME_MAX 255 /* text form, without the terminating NUL */

typedef struct dns_query {
  uint16_t id;
  uint16_t flags;              /* as received */
  char name[DNS_NAME_MAX + 1]; /* "www.example.com", lower case, no final dot;
                                * "" for the root */
  uint16_t qtype, qclass;
} dns_query;

/* Parse a query of `len` bytes.  Returns 0, or DNS_ETRUNC, DNS_EFORMAT,
 * DNS_ENOTQUERY, DNS_EQDCOUNT.  Sections after the question (EDNS OPT
 * records...) are ignored. */
int dns_parse_query(const uint8_t *pkt, size_t len, dns_query *q);

/* Build the answer to q: with `ipv4` non-NULL and an A (or ANY) question,
 * one A record with that address and `ttl`; for other types a NOERROR answer
 * without records; for a class other than IN, NOTIMP.  The question is
 * re-encoded from q.  Returns the length written, or DNS_ESPACE. */
int dns_build_answer(const dns_query *q, const uint8_t ipv4[4], uint32_t ttl,
                     uint8_t *out, size_t cap);

/* A header-only answer with `rcode` to a packet that could not be parsed:
 * echoes its id (and opcode, RD).  Returns the length written, DNS_ETRUNC
 * (shorter than a header: no answer possible), DNS_ENOTQUERY (the packet is
 * itself a response: never answer those, or two servers could loop), or
 * DNS_ESPACE. */
int dns_build_error(const uint8_t *pkt, size_t len, int rcode, uint8_t *out, size_t cap);

/* Encode a query (for tests and clients): returns the length or DNS_ESPACE,
 * DNS_EFORMAT (bad name). */
int dns_build_query(uint16_t id, const char *name, uint16_t qtype, uint8_t *out,
                    size_t cap);

/* A static message for a DNS_E... code. */
const char *dns_strerror(int rc);

#endif
