/* wire.h -- DNS wire-format constants and bounds-free get/put helpers.
 *
 *                                 1  1  1  1  1  1
 *   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 * |                    QDCOUNT                    |
 * |                    ANCOUNT                    |
 * |                    NSCOUNT                    |
 * |                    ARCOUNT                    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+   (RFC 1035 4.1.1)
 *
 * The helpers do no bounds checks: callers check lengths first. */
#ifndef POOLDNS_WIRE_H
#define POOLDNS_WIRE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define DNS_HDR_LEN 12
#define DNS_MAX_NAME 255
#define DNS_MAX_LABEL 63
#define DNS_MAX_LABELS 128

/* Byte 2 of the header. */
#define DNS_F_QR 0x80
#define DNS_F_OPCODE 0x78
#define DNS_F_AA 0x04
#define DNS_F_TC 0x02
#define DNS_F_RD 0x01
/* Byte 3 of the header. */
#define DNS_F_RA 0x80
#define DNS_F_Z 0x40
#define DNS_F_AD 0x20
#define DNS_F_CD 0x10
#define DNS_RCODE_MASK 0x0f

enum dns_rcode {
    DNS_RCODE_NOERROR = 0,
    DNS_RCODE_FORMERR = 1,
    DNS_RCODE_SERVFAIL = 2,
    DNS_RCODE_NXDOMAIN = 3,
    DNS_RCODE_NOTIMP = 4,
    DNS_RCODE_REFUSED = 5,
    DNS_RCODE_BADVERS = 16, /* extended: needs OPT */
};

enum dns_type {
    DNS_T_A = 1,
    DNS_T_NS = 2,
    DNS_T_CNAME = 5,
    DNS_T_SOA = 6,
    DNS_T_TXT = 16,
    DNS_T_AAAA = 28,
    DNS_T_OPT = 41,
    DNS_T_IXFR = 251,
    DNS_T_AXFR = 252,
    DNS_T_MAILB = 253,
    DNS_T_MAILA = 254,
    DNS_T_ANY = 255,
};

#define DNS_C_IN 1
#define DNS_C_CH 3
#define DNS_C_ANY 255

#define EDNS_OPT_ECS 8
#define EDNS_F_DO 0x8000

/* Big-endian loads and stores: one (byte-swapping) move each, whatever the
 * alignment. */
static inline uint16_t wire_get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return be16toh(v);
}
static inline uint32_t wire_get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return be32toh(v);
}
static inline void wire_put16(uint8_t *p, uint16_t v)
{
    v = htobe16(v);
    memcpy(p, &v, sizeof v);
}
static inline void wire_put32(uint8_t *p, uint32_t v)
{
    v = htobe32(v);
    memcpy(p, &v, sizeof v);
}

/* Header field offsets. */
#define DNS_OFF_ID 0
#define DNS_OFF_FLAGS1 2
#define DNS_OFF_FLAGS2 3
#define DNS_OFF_QD 4
#define DNS_OFF_AN 6
#define DNS_OFF_NS 8
#define DNS_OFF_AR 10

/* Lower-case an ASCII byte (DNS compares names ASCII-case-insensitively). */
static inline uint8_t wire_lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c; }

#endif
