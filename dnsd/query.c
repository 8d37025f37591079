/* query.c -- the hot path: parse a query in place, answer into the same
 * buffer.  See query.h for the contract.
 *
 * DESIGN
 * A query is handled in three steps, each a function below:
 *   parse_query()   header, question (lower-cased copy of the name), OPT
 *                   with its Client Subnet option; anything malformed ends
 *                   here with FORMERR (or a drop when there is no header);
 *   answer()        decides what goes in each section: pool names pick
 *                   servers from the snapshot, other names come from the
 *                   zone's wire fragments;
 *   finish()        writes the OPT record and the header.
 * Records are appended after the question with put_*() helpers that check
 * the size limit; when an answer does not fit, everything after the question
 * is dropped and TC is set, so a UDP client retries over TCP.  Owner names
 * are compression pointers into the question (the query name, or its apex
 * suffix), so nothing is ever copied name by name.  Nothing here allocates,
 * locks or calls the kernel: the snapshot is read through an RCU pointer the
 * caller's read-side section protects, and randomness comes from the
 * context's own generator. */
#include "dnsd/query.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <urcu.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "dnsd/base/alloc.h"
#include "dnsd/base/wire.h"
#include "dnsd/dataset.h"

/* Largest EDNS payload we advertise and accept for UDP responses. */
#define EDNS_OUR_PAYLOAD DNSD_UDP_MAX
/* RFC 7871 11.1: never use more of the client's address than this. */
#define ECS_MAX_V4 24
#define ECS_MAX_V6 56


/* Where the client is, as far as the answer is concerned. */
typedef struct {
    geo_req_t req;          /* family (4, 6, or 0: unknown), address, bits
                             * of it used, and what the database says */
    bool from_ecs;
    area_t area;            /* the most specific zone known: country, continent or @ */
} client_loc_t;

/* Everything known about the query being answered. */
typedef struct {
    uint8_t *buf;
    size_t len;             /* query length */
    size_t cap;             /* buffer size */
    size_t limit;           /* response may not go past this (OPT excluded) */
    size_t w;               /* write position */
    size_t qend;            /* end of the question; 0 if not parsed */
    /* Query name, lower case, wire, zero-padded to a multiple of 8 bytes
     * (zones_name_hash and zones_lookup read it 8 bytes at a time). */
    uint8_t lname[256 + 8] __attribute__((aligned(8)));
    unsigned name_len;
    bool name_ok;           /* name_len is known to be the name's: its labels
                             * were walked, or it is in the name index */
    uint16_t qtype, qclass;
    uint16_t an, ns;        /* records written */
    unsigned rcode;         /* may be extended (BADVERS) */
    bool aa, tc;
    bool tcp;
    bool edns;
    bool do_bit;
    uint16_t udp_size;
    bool ecs;               /* query carried a Client Subnet option */
    uint8_t ecs_source;     /* SOURCE PREFIX-LENGTH as sent */
    uint8_t ecs_scope;      /* SCOPE PREFIX-LENGTH we answer with */
    uint16_t ecs_family;    /* 1 = IPv4, 2 = IPv6 */
    uint8_t ecs_addr[16];   /* address, zero-padded */
    uint8_t ecs_addrlen;    /* bytes of address sent */

    /* Between query_begin() and query_end(). */
    enum { TX_DROP, TX_DONE, TX_ANSWER } state;
    size_t max;             /* response size limit, OPT included */
    const struct sockaddr *client;
    const dnsd_dataset_t *d;
    const qname_info_t *qi; /* the name, as the zones see it */
    qname_info_t slow;      /* where qi points for names not in the index */
    uint64_t hash;          /* of lname (zones_name_hash) */
    bool need_geo;          /* loc.req is to be looked up before query_end() */
    client_loc_t loc;
    /* A pool answer drawn from the snapshot (query_choose()). */
    int fam;                /* WSNAP_V4 or WSNAP_V6, or -1: not from the snapshot */
    const wtable_t *tab;    /* the table, or NULL: no servers */
    uint64_t r;             /* the draw's random word */
} txn_t;

/* Queries a context takes through dnsd_query_batch() at once. */
#define QBATCH GEO_BATCH_MAX

struct dnsd_qctx {
    const dnsd_server_t *srv;
    rng_t rng;
    dnsd_qstats_t st;
    txn_t batch[QBATCH];    /* for dnsd_query_batch() */
    bool in_arena;          /* dnsd_qctx_new_in(): not ours to free */
    bool general_only;      /* dnsd_qctx_general_parse() */
};

static dnsd_qctx_t *qctx_init(dnsd_qctx_t *c, const dnsd_server_t *srv, uint64_t seed)
{
    c->srv = srv;
    if (seed)
        rng_seed(&c->rng, seed);
    else
        rng_seed_random(&c->rng);
    return c;
}

dnsd_qctx_t *dnsd_qctx_new(const dnsd_server_t *srv, uint64_t seed)
{
    return qctx_init(xcalloc(1, sizeof(dnsd_qctx_t)), srv, seed);
}

dnsd_qctx_t *dnsd_qctx_new_in(const dnsd_server_t *srv, uint64_t seed, harena_t *arena)
{
    dnsd_qctx_t *c = harena_alloc(arena, sizeof *c, 64);
    c->in_arena = true;
    return qctx_init(c, srv, seed);
}

void dnsd_qctx_free(dnsd_qctx_t *c)
{
    if (c && !c->in_arena)
        free(c);
}

const dnsd_qstats_t *dnsd_qctx_stats(const dnsd_qctx_t *c) { return &c->st; }

void dnsd_qctx_general_parse(dnsd_qctx_t *c, bool on) { c->general_only = on; }

/* ---- parsing ------------------------------------------------------------- */

/* Lower-case the ASCII letters of 8 bytes at once.  Label length bytes
 * (0..63) are below 'A' and stay as they are. */
static inline uint64_t lower8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t low7 = w & ~high;
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;     /* high bit: byte >= 'A' */
    uint64_t gt_z = low7 + (0x80 - 'Z' - 1) * ones; /* high bit: byte > 'Z' */
    uint64_t upper = ge_a & ~gt_z & ~w & high;
    return w | (upper >> 2);
}

#if defined(__SSE2__)
/* lower8() for 16 bytes (the constants passed in, made once).  Bytes from
 * 0x80 are negative to the signed compares, so never taken for letters. */
static inline __m128i lower16(__m128i v, __m128i before_a, __m128i after_z, __m128i case_bit)
{
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(v, before_a), _mm_cmplt_epi8(v, after_z));
    return _mm_or_si128(v, _mm_and_si128(upper, case_bit));
}
#endif

/* Copy the question name at off, lower-cased and zero-padded, into
 * t->lname, and hash it for the zones' name index (t->hash).  Returns the
 * offset after it, or 0 if malformed (compression pointers are not allowed
 * in a question: there is nothing before it to point at). */
static F_INLINE size_t parse_qname(txn_t *t, size_t off)
{
    const uint8_t *b = t->buf;
    size_t start = off;
    /* One bound for both limits: the message's end and the name's longest
     * (a label that starts before it ends at most at it). */
    size_t lim = t->len < start + DNS_MAX_NAME ? t->len : start + DNS_MAX_NAME;
    unsigned lens = 0; /* every length byte OR-ed: > 63 is checked once */
    for (;;) {
        if (off >= lim)
            return 0;
        unsigned l = b[off];
        lens |= l;
        off += l + 1;
        if (!l)
            break;
    }
    if (lens > DNS_MAX_LABEL)
        return 0; /* a compression pointer or a reserved label type */
    unsigned n = (unsigned)(off - start);
    t->name_len = n;
    t->name_ok = true;
    unsigned words = (n + 7u) / 8u;
    if (unlikely(start + words * 8u > t->cap)) {
        /* Too close to the end of the buffer to read whole words. */
        for (unsigned i = 0; i < n; i++)
            t->lname[i] = wire_lower(b[start + i]);
        memset(t->lname + n, 0, words * 8 - n);
        t->hash = zones_name_hash(t->lname, n);
        return off;
    }
    /* The last word may reach past the name: its bytes after the name are
     * cleared (the padding). */
    unsigned tail = n % 8u;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t last = tail ? ~0ull >> (64 - 8 * tail) : ~0ull;
#else
    uint64_t last = tail ? ~0ull << (64 - 8 * tail) : ~0ull;
#endif
    uint64_t h = zones_hash_start();
    for (unsigned i = 0; i < words; i++) {
        uint64_t w;
        memcpy(&w, b + start + 8 * i, 8);
        if (i + 1 == words)
            w &= last;
        w = lower8(w);
        h = zones_hash_word(h, w);
        memcpy(t->lname + 8 * i, &w, 8);
    }
    t->hash = h;
    return off;
}

/* The question name at off as parse_qname() takes it, but found by its
 * first zero byte instead of by walking its labels, in the loop that
 * copies, lower-cases and hashes it a word at a time: the walk's exit
 * depends on how many labels a name has, a branch mispredicted about once
 * a query (cachegrind's model: 1.26).  The first zero byte ends the name unless a label
 * holds a zero byte, or the labels do not add up at all; t->name_ok is
 * left false, and the name is checked (qname_walk_ok()) before anything
 * but a hit in the name index relies on its length.  A hit needs no check:
 * a name equal to one in the index has that name's labels.  Returns the
 * offset after the name, or 0 if this way cannot take it (no zero byte in
 * the longest name, or too close to the end of the buffer). */
static F_INLINE size_t parse_qname_scan(txn_t *t, size_t off)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__SSE2__)
    /* 16 bytes a step: names of 17 to 32 bytes (most pool names) all take
     * two, where in 8-byte words they take 3 or 4 (the loop's exit then
     * changes from one query to the next). */
    if (unlikely(off + DNS_MAX_NAME + 1 > t->cap))
        return 0;
    _Static_assert(sizeof t->lname >= (DNS_MAX_NAME / 16 + 1) * 16, "lname holds the chunks scanned");
    const uint8_t *p = t->buf + off;
    const __m128i zero = _mm_setzero_si128(), before_a = _mm_set1_epi8('A' - 1),
                  after_z = _mm_set1_epi8('Z' + 1), case_bit = _mm_set1_epi8(0x20);
    uint64_t h = zones_hash_start();
    __m128i v;
    unsigned i = 0, zmask;
    for (;; i++) {
        v = _mm_loadu_si128((const __m128i *)(p + 16 * i));
        zmask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, zero));
        if (zmask)
            break;
        if (unlikely(i == DNS_MAX_NAME / 16))
            return 0; /* no zero byte in the longest name's bytes */
        v = lower16(v, before_a, after_z, case_bit);
        _mm_storeu_si128((__m128i *)(t->lname + 16 * i), v);
        h = zones_hash_word(h, (uint64_t)_mm_cvtsi128_si64(v));
        h = zones_hash_word(h, (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)));
    }
    unsigned zb = (unsigned)__builtin_ctz(zmask); /* the zero's byte in v */
    /* Cleared after it: keep the bytes whose index is at most zb. */
    __m128i keep = _mm_cmpgt_epi8(_mm_set1_epi8((char)(zb + 1)),
                                  _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    v = lower16(_mm_and_si128(v, keep), before_a, after_z, case_bit);
    _mm_storeu_si128((__m128i *)(t->lname + 16 * i), v);
    h = zones_hash_word(h, (uint64_t)_mm_cvtsi128_si64(v));
    /* The second word only when the name reaches into it: chosen with a
     * mask, as that changes from one query to the next. */
    uint64_t h2 = zones_hash_word(h, (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)));
    uint64_t two = -(uint64_t)(zb >= 8);
    t->hash = (h2 & two) | (h & ~two);
    t->name_len = 16 * i + zb + 1;
    t->name_ok = false;
    return off + t->name_len;
#elif __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (unlikely(off + DNS_MAX_NAME + 1 > t->cap))
        return 0;
    _Static_assert(sizeof t->lname >= (DNS_MAX_NAME / 8 + 1) * 8, "lname holds the words scanned");
    const uint8_t *p = t->buf + off;
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t h = zones_hash_start(), w, z;
    unsigned i = 0;
    for (;; i++) {
        memcpy(&w, p + 8 * i, 8);
        z = (w - ones) & ~w & high; /* its lowest bit marks the first zero byte */
        if (z)
            break;
        if (unlikely(i == DNS_MAX_NAME / 8))
            return 0; /* no zero byte in the longest name's words */
        w = lower8(w);
        h = zones_hash_word(h, w);
        memcpy(t->lname + 8 * i, &w, 8);
    }
    unsigned zb = (unsigned)__builtin_ctzll(z) / 8u; /* the zero's byte in w */
    w = lower8(w & ~0ull >> (56 - 8 * zb));          /* cleared after it */
    t->hash = zones_hash_word(h, w);
    memcpy(t->lname + 8 * i, &w, 8);
    t->name_len = 8 * i + zb + 1;
    t->name_ok = false;
    return off + t->name_len;
#else
    return parse_qname(t, off);
#endif
}

bool dnsd_qname_scan(const uint8_t *msg, size_t len, size_t cap, uint8_t *lname, unsigned *name_len,
                     uint64_t *hash)
{
    txn_t t;
    memset(&t, 0, sizeof t);
    t.buf = (uint8_t *)(uintptr_t)msg; /* only read */
    t.len = len;
    t.cap = cap;
    if (!parse_qname_scan(&t, DNS_HDR_LEN))
        return false;
    memcpy(lname, t.lname, (t.name_len + 7u) / 8u * 8u);
    *name_len = t.name_len;
    *hash = t.hash;
    return true;
}

/* Whether the labels from the question's start end exactly where
 * parse_qname_scan() ended the name, each at most 63 bytes long. */
static bool qname_walk_ok(const txn_t *t)
{
    size_t off = DNS_HDR_LEN, end = DNS_HDR_LEN + t->name_len - 1;
    unsigned lens = 0;
    while (off < end) {
        lens |= t->buf[off];
        off += t->buf[off] + 1u;
    }
    return off == end && lens <= DNS_MAX_LABEL && t->name_len <= DNS_MAX_NAME;
}

/* Skip a possibly compressed name in the additional section. */
static size_t skip_name(const txn_t *t, size_t off)
{
    for (;;) {
        if (off >= t->len)
            return 0;
        uint8_t l = t->buf[off];
        if ((l & 0xc0) == 0xc0)
            return off + 2 <= t->len ? off + 2 : 0;
        if (l > DNS_MAX_LABEL)
            return 0;
        off += 1u + l;
        if (!l)
            return off <= t->len ? off : 0;
    }
}

/* RFC 7871 6: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS
 * truncated to the source prefix, bits beyond it zero. */
static bool parse_ecs(txn_t *t, const uint8_t *p, uint16_t olen)
{
    if (t->ecs || olen < 4)
        return false;
    uint16_t fam = wire_get16(p);
    uint8_t src = p[2], scope = p[3];
    /* Without a branch on the family: IPv4 or IPv6 is a coin toss from
     * one query to the next.  32 or 128 bits; any other family fails. */
    unsigned maxbits = 32u << (2 * (fam == 2));
    if ((fam - 1u > 1u) | (src > maxbits) | (scope != 0))
        return false;
    unsigned bytes = (src + 7u) / 8u;
    if (olen - 4u != bytes)
        return false;
    if (bytes && (src % 8) && (p[4 + bytes - 1] & (0xffu >> (src % 8))))
        return false;
    t->ecs = true;
    t->ecs_family = fam;
    t->ecs_source = src;
    t->ecs_addrlen = (uint8_t)bytes;
    if (likely(p + 4 + 16 <= t->buf + t->cap)) {
        /* Whole words, then the bytes past the address cleared. */
        uint64_t a[2];
        memcpy(a, p + 4, 16);
        unsigned lo = bytes < 8 ? bytes : 8, hi = bytes - lo;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        a[0] &= lo ? ~0ull >> (64 - 8 * lo) : 0;
        a[1] &= hi ? ~0ull >> (64 - 8 * hi) : 0;
#else
        a[0] &= lo ? ~0ull << (64 - 8 * lo) : 0;
        a[1] &= hi ? ~0ull << (64 - 8 * hi) : 0;
#endif
        memcpy(t->ecs_addr, a, 16);
    } else {
        memset(t->ecs_addr, 0, sizeof t->ecs_addr);
        memcpy(t->ecs_addr, p + 4, bytes);
    }
    return true;
}

/* The OPT record at off (after its owner name).  Returns false on FORMERR. */
static bool parse_opt(txn_t *t, size_t off, size_t rdlen, bool use_ecs)
{
    const uint8_t *p = t->buf + off;
    t->udp_size = wire_get16(p + 2);
    uint32_t ttl = wire_get32(p + 4);
    t->do_bit = (ttl & EDNS_F_DO) != 0;
    if ((ttl >> 16 & 0xff) != 0)
        t->rcode = DNS_RCODE_BADVERS;
    const uint8_t *o = p + 10, *end = o + rdlen;
    while (o < end) {
        if (end - o < 4)
            return false;
        uint16_t code = wire_get16(o), olen = wire_get16(o + 2);
        if ((size_t)(end - o - 4) < olen)
            return false;
        if (code == EDNS_OPT_ECS && use_ecs && !parse_ecs(t, o + 4, olen))
            return false;
        o += 4 + olen;
    }
    return true;
}

/* Skip count records (owner, TYPE CLASS TTL RDLEN RDATA) from off; returns
 * the offset after them, 0 if they run past the message. */
static size_t skip_rrs(const txn_t *t, size_t off, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        off = skip_name(t, off);
        if (!off || off + 10 > t->len)
            return 0;
        off += 10u + wire_get16(t->buf + off + 8);
        if (off > t->len)
            return 0;
    }
    return off;
}

/* Types that only make sense in other places of a message (FORMERR as a
 * question). */
static inline bool qtype_misplaced(uint16_t qtype)
{
    return qtype == DNS_T_OPT || qtype == 249 /* TKEY */ || qtype == 250 /* TSIG */;
}

/* The usual query, in fewer steps than parse_query(): a standard query
 * (QR and OPCODE clear) with one question, no answer or authority records,
 * and at most one additional record, an OPT of version 0 owned by the root
 * with no option or a Client Subnet alone.  Returns what parse_query()
 * would (and leaves t as it would), or PARSE_GENERAL, having changed
 * nothing parse_query() depends on, for anything else.  One difference:
 * the name is not checked (t->name_ok false; see parse_qname_scan()), and
 * if it turns out wrong the query goes to parse_query() then
 * (query_reparse()). */
#define PARSE_GENERAL (-3)
static F_INLINE int parse_simple(txn_t *t, bool use_ecs)
{
    const uint8_t *b = t->buf;
    /* QDCOUNT ANCOUNT NSCOUNT ARCOUNT = 1 0 0 0|1. */
    uint64_t counts = (uint64_t)wire_get32(b + DNS_OFF_QD) << 32 | wire_get32(b + DNS_OFF_NS);
    if ((b[DNS_OFF_FLAGS1] & (DNS_F_QR | DNS_F_OPCODE)) || (counts | 1) != ((uint64_t)1 << 48 | 1))
        return PARSE_GENERAL;
    /* Until the name is checked its length may be wrong, and so may be
     * everything read after it: what parse_query() would refuse, it
     * decides. */
    size_t off = parse_qname_scan(t, DNS_HDR_LEN);
    if (!off || off + 4 > t->len)
        return PARSE_GENERAL;
    t->qtype = wire_get16(b + off);
    if (qtype_misplaced(t->qtype))
        return PARSE_GENERAL;
    t->qclass = wire_get16(b + off + 2);
    off += 4;
    size_t qend = off; /* set at the end: parse_query() keeps t->qend on a bad name */
    if (counts & 1) {
        /* Root owner, TYPE OPT, CLASS, TTL (extended RCODE, VERSION 0,
         * flags), RDLENGTH, then the options. */
        if (off + 11 > t->len || b[off] != 0 || wire_get16(b + off + 1) != DNS_T_OPT || b[off + 6] != 0)
            return PARSE_GENERAL;
        size_t rdlen = wire_get16(b + off + 9);
        const uint8_t *o = b + off + 11;
        if (off + 11 + rdlen > t->len)
            return PARSE_GENERAL;
        if (rdlen) {
            if (!use_ecs || rdlen < 4 || wire_get16(o) != EDNS_OPT_ECS || wire_get16(o + 2) != rdlen - 4 ||
                !parse_ecs(t, o + 4, (uint16_t)(rdlen - 4)))
                return PARSE_GENERAL;
        }
        t->udp_size = wire_get16(b + off + 3);
        t->do_bit = (wire_get32(b + off + 5) & EDNS_F_DO) != 0;
        t->edns = true;
    }
    t->qend = qend;
    return -1;
}

/* Returns the rcode to answer with when the query is not answerable as
 * such (FORMERR, NOTIMP, BADVERS), -1 when it is, -2 to drop it.  The OPT
 * record is looked for even in queries refused that way, because a reply
 * to a query with OPT must carry one (RFC 6891 6.1.1, 7); only a message
 * whose sections cannot be walked gets a reply without it.  use_ecs: when
 * false the Client Subnet option is ignored altogether (RFC 7871 7.2.2). */
static int parse_query(txn_t *t, bool use_ecs)
{
    const uint8_t *b = t->buf;
    if (t->len < DNS_HDR_LEN || (b[DNS_OFF_FLAGS1] & DNS_F_QR))
        return -2;
    unsigned qd = wire_get16(b + DNS_OFF_QD);
    size_t off = DNS_HDR_LEN;
    if (qd >= 1) {
        off = parse_qname(t, off);
        if (!off || off + 4 > t->len)
            return DNS_RCODE_FORMERR;
        t->qtype = wire_get16(b + off);
        t->qclass = wire_get16(b + off + 2);
        t->qend = off + 4;
        off += 4;
        for (unsigned i = 1; i < qd; i++) {
            off = skip_name(t, off);
            if (!off || off + 4 > t->len)
                return DNS_RCODE_FORMERR;
            off += 4;
        }
    }
    /* Answer and authority records do not belong in a query, except the
     * client's SOA in the authority section of an IXFR request (RFC 1995
     * 3): walk over them to find the OPT, then refuse them below. */
    unsigned an = wire_get16(b + DNS_OFF_AN), ns = wire_get16(b + DNS_OFF_NS);
    off = skip_rrs(t, off, an + ns);
    if (!off)
        return DNS_RCODE_FORMERR;
    bool bad_opt = false;
    for (unsigned i = 0, ar = wire_get16(b + DNS_OFF_AR); i < ar; i++) {
        size_t owner = off;
        if (off < t->len && b[off] == 0)
            off++; /* the root, as an OPT's owner always is */
        else
            off = skip_name(t, off);
        if (!off || off + 10 > t->len)
            return DNS_RCODE_FORMERR;
        size_t rdlen = wire_get16(b + off + 8);
        if (off + 10 + rdlen > t->len)
            return DNS_RCODE_FORMERR;
        if (wire_get16(b + off) == DNS_T_OPT) {
            /* RFC 6891 6.1.1: one OPT, owned by the root. */
            if (t->edns || off != owner + 1 || b[owner] != 0)
                bad_opt = true;
            else if (!parse_opt(t, off, rdlen, use_ecs))
                bad_opt = true;
            t->edns = true;
        }
        off += 10 + rdlen;
    }
    if ((b[DNS_OFF_FLAGS1] & DNS_F_OPCODE) != 0)
        return DNS_RCODE_NOTIMP;
    if (qd != 1 || bad_opt || an || (ns && t->qtype != DNS_T_IXFR))
        return DNS_RCODE_FORMERR;
    if (t->rcode == DNS_RCODE_BADVERS)
        return DNS_RCODE_BADVERS;
    /* Types that only make sense in other places of a message. */
    if (qtype_misplaced(t->qtype))
        return DNS_RCODE_FORMERR;
    return -1;
}

/* ---- writing -------------------------------------------------------------- */

/* One record: owner as a pointer to ptr, then TYPE CLASS TTL RDLEN RDATA. */
static bool put_rr(txn_t *t, uint16_t ptr, const uint8_t *frag, size_t fraglen)
{
    if (t->w + 2 + fraglen > t->limit) {
        t->tc = true;
        return false;
    }
    uint8_t *p = t->buf + t->w;
    wire_put16(p, (uint16_t)(0xc000 | ptr));
    memcpy(p + 2, frag, fraglen);
    t->w += 2 + fraglen;
    return true;
}

static bool put_rrset(txn_t *t, uint16_t ptr, const zone_rrset_t *rs, uint16_t *count)
{
    const uint8_t *p = rs->wire, *end = rs->wire + rs->len;
    while (p < end) {
        size_t l = 10u + wire_get16(p + 8);
        if (!put_rr(t, ptr, p, l))
            return false;
        (*count)++;
        p += l;
    }
    return true;
}

/* n address records from the snapshot (fragments of len bytes), all
 * owned by the query name.  Written as `writes` records of `copy` bytes
 * each, len apart: n and len, or more and longer where the caller knows
 * the buffer and the fragments have room (see answer_pool()).  Inlined
 * with constant sizes so each copy is a couple of moves. */
static F_INLINE void put_addrs(txn_t *t, const uint8_t *const *rr, unsigned n, size_t len, unsigned writes,
                               size_t copy)
{
    if (t->w + n * (2 + len) > t->limit) {
        t->tc = true;
        return;
    }
    uint8_t *p = t->buf + t->w;
    for (unsigned i = 0; i < writes; i++, p += 2 + len) {
        p[0] = 0xc0;
        p[1] = DNS_HDR_LEN;
        memcpy(p + 2, rr[i], copy);
    }
    t->w += n * (2 + len);
    t->an = (uint16_t)(t->an + n);
}

/* Negative answer: the zone's SOA in the authority section. */
static void put_soa(txn_t *t, const qname_info_t *qi)
{
    const zone_t *z = qi->zone;
    if (put_rr(t, (uint16_t)(DNS_HDR_LEN + qi->apex_off), z->soa_neg, z->soa_neg_len))
        t->ns++;
}

/* ---- answering -------------------------------------------------------------- */

/* Which address the answer depends on: the Client Subnet, else the
 * source.  The database lookup is left to the caller. */
static void locate_key(const dnsd_server_t *srv, const txn_t *t, const struct sockaddr *client,
                       client_loc_t *loc)
{
    loc->from_ecs = false;
    loc->req.family = 0;
    loc->req.prefix = 0;
    if (t->ecs && srv->ecs) {
        loc->from_ecs = true;
        loc->req.family = t->ecs_family == 1 ? 4 : 6;
        unsigned cap = loc->req.family == 4 ? ECS_MAX_V4 : ECS_MAX_V6;
        loc->req.prefix = t->ecs_source < cap ? t->ecs_source : cap;
        memcpy(loc->req.addr, t->ecs_addr, 16);
    } else if (client && client->sa_family == AF_INET) {
        loc->req.family = 4;
        loc->req.prefix = 32;
        memcpy(loc->req.addr, &((const struct sockaddr_in *)client)->sin_addr, 4);
    } else if (client && client->sa_family == AF_INET6) {
        loc->req.family = 6;
        loc->req.prefix = 128;
        memcpy(loc->req.addr, &((const struct sockaddr_in6 *)client)->sin6_addr, 16);
    }
}

/* True when loc->req must go to the database; otherwise the answer (the
 * world) is filled in already. */
static bool locate_needs_db(const dnsd_dataset_t *d, client_loc_t *loc)
{
    if (d->geo && loc->req.family)
        return true;
    loc->req.ans = (geo_answer_t){ AREA_WORLD, AREA_WORLD, 0 };
    return false;
}

static void locate_area(client_loc_t *loc)
{
    const geo_answer_t *g = &loc->req.ans;
    loc->area = g->country != AREA_WORLD ? g->country : g->continent;
}

static void locate_client(const dnsd_server_t *srv, const dnsd_dataset_t *d, const txn_t *t,
                          const struct sockaddr *client, client_loc_t *loc)
{
    locate_key(srv, t, client, loc);
    if (locate_needs_db(d, loc))
        geo_lookup(d->geo, loc->req.family, loc->req.addr, loc->req.prefix, &loc->req.ans);
    locate_area(loc);
}

/* The address family a pool query asks for, or -1 when its answer is not
 * drawn from the snapshot (other types; AAAA outside aaaa-subzones). */
static int pool_family(const dnsd_qctx_t *ctx, const txn_t *t, const qname_info_t *qi)
{
    uint16_t qtype = t->qtype == DNS_T_ANY ? DNS_T_A : t->qtype;
    if (qtype == DNS_T_A)
        return WSNAP_V4;
    if (qtype == DNS_T_AAAA && qi->sub >= 0 && (ctx->srv->aaaa_mask >> qi->sub & 1))
        return WSNAP_V6;
    return -1;
}

/* Before the answer: whether the client must be located.  Whether the
 * name is answered by where the client is (qi->geo) or names its zone
 * changes at random from one query to the next, so nothing branches on it
 * here or in choose_pool(): the key is made and the answer set to the
 * world either way, and the lookup is asked for only when it counts. */
static void plan_pool(dnsd_qctx_t *ctx, txn_t *t)
{
    t->fam = pool_family(ctx, t, t->qi);
    if (t->fam >= 0) {
        locate_key(ctx->srv, t, t->client, &t->loc);
        t->loc.req.ans = (geo_answer_t){ AREA_WORLD, AREA_WORLD, 0 };
        t->need_geo = t->qi->geo & locate_needs_db(t->d, &t->loc);
    }
}

/* Once the client is located: the table, and the random word of the draw
 * (one per answer, taken in query order, so a batch draws as single
 * queries would). */
static void choose_pool(dnsd_qctx_t *ctx, txn_t *t)
{
    const qname_info_t *qi = t->qi;
    /* plan_pool() put the key in loc, and the caller its answer (the
     * world when not looked up).  When the name is located by the client,
     * the answer depends on the client's network as far as the database
     * distinguished it. */
    const geo_answer_t *g = &t->loc.req.ans;
    /* Masks, not ?: (gcc makes branches of those). */
    uint32_t known = -(uint32_t)(g->country != AREA_WORLD), located = -(uint32_t)qi->geo;
    uint32_t here = (g->country & known) | (g->continent & ~known);
    area_t area = (area_t)((here & located) | (qi->area & ~located));
    t->ecs_scope = (uint8_t)(g->scope & located);
    t->tab = wsnap_table(t->d->snap, area, t->fam, qi->sub < 0 ? WSNAP_SUB_ALL : (unsigned)qi->sub);
    if (t->tab)
        t->r = rng_next(&ctx->rng);
}

static void answer_pool(txn_t *t)
{
    const qname_info_t *qi = t->qi;
    if (t->fam < 0) {
        const zone_rrset_t *rs = NULL;
        uint16_t qtype = t->qtype == DNS_T_ANY ? DNS_T_A : t->qtype;
        if (qtype != DNS_T_A && qtype != DNS_T_AAAA && qi->node)
            rs = zone_node_rrset(qi->node, t->qtype);
        if (rs)
            put_rrset(t, DNS_HDR_LEN, rs, &t->an);
        else
            put_soa(t, qi);
        return;
    }
    if (!t->tab) {
        put_soa(t, qi);
        return;
    }
    const uint8_t *rr[WSNAP_MAX_ANSWERS];
    unsigned n = wsnap_pick_r(t->d->snap, t->tab, t->r, rr);
    /* IPv4 or IPv6 changes from one query to the next, so the usual
     * answer is written without a branch on it: 1 to 4 records (for which
     * wsnap_pick_r() fills all 4 of rr), with room in the buffer for 4 of
     * the larger, are written as 4 records of WSNAP_RR_V6 bytes (every
     * fragment can be read that far), each placed after the last. */
    _Static_assert(WSNAP_V4 == 0 && WSNAP_V6 == 1, "fam is 0 or 1 here");
    size_t len = WSNAP_RR_V4 + ((WSNAP_RR_V6 - WSNAP_RR_V4) & -(size_t)t->fam); /* gcc branches on ?: */
    if (likely(n - 1 < 4 && t->w + 4 * (2 + WSNAP_RR_V6) <= t->cap))
        put_addrs(t, rr, n, len, 4, WSNAP_RR_V6);
    else if (t->fam == WSNAP_V4)
        put_addrs(t, rr, n, WSNAP_RR_V4, n, WSNAP_RR_V4);
    else
        put_addrs(t, rr, n, WSNAP_RR_V6, n, WSNAP_RR_V6);
}

static size_t fmt_addr(const client_loc_t *loc, char *out, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";
    if (loc->req.family)
        inet_ntop(loc->req.family == 4 ? AF_INET : AF_INET6, loc->req.addr, a, sizeof a);
    return (size_t)snprintf(out, len, "%s/%u", a, loc->req.prefix);
}

/* _country.<apex> TXT: what the server saw and which zone would answer. */
static void answer_debug(dnsd_qctx_t *ctx, txn_t *t)
{
    const qname_info_t *qi = t->qi;
    const dnsd_dataset_t *d = t->d;
    if (t->qtype != DNS_T_TXT && t->qtype != DNS_T_ANY) {
        put_soa(t, qi);
        return;
    }
    client_loc_t loc;
    locate_client(ctx->srv, d, t, t->client, &loc);
    t->ecs_scope = (uint8_t)loc.req.ans.scope;
    const wtable_t *tab = wsnap_table(d->snap, loc.area, WSNAP_V4, WSNAP_SUB_ALL);
    char addr[64], txt[256];
    fmt_addr(&loc, addr, sizeof addr);
    int n = snprintf(txt, sizeof txt, "client %s (%s) country %s continent %s zone %s scope /%u%s",
                     addr, loc.from_ecs ? "edns-client-subnet" : "source address",
                     codes_area_name(loc.req.ans.country), codes_area_name(loc.req.ans.continent),
                     tab ? codes_area_name(wtable_area(tab)) : "none", loc.req.ans.scope,
                     d->geo ? "" : " (no geoip database)");
    if (n < 0)
        return;
    if (n > 255)
        n = 255;
    /* TYPE CLASS TTL RDLEN, then one character-string.  TTL 0: it is about
     * this one client and must not be cached for others. */
    uint8_t frag[10 + 1 + 255];
    wire_put16(frag, DNS_T_TXT);
    wire_put16(frag + 2, DNS_C_IN);
    wire_put32(frag + 4, 0);
    wire_put16(frag + 8, (uint16_t)(n + 1));
    frag[10] = (uint8_t)n;
    memcpy(frag + 11, txt, (size_t)n);
    if (put_rr(t, DNS_HDR_LEN, frag, 11 + (size_t)n))
        t->an++;
}

static void answer_zone(txn_t *t, const qname_info_t *qi)
{
    const zone_node_t *node = qi->node;
    if (!node) {
        t->rcode = DNS_RCODE_NXDOMAIN;
        put_soa(t, qi);
        return;
    }
    const zone_rrset_t *rs = NULL;
    if (t->qtype != DNS_T_CNAME)
        rs = zone_node_rrset(node, DNS_T_CNAME);
    if (!rs && t->qtype == DNS_T_ANY && node->nrrsets)
        rs = &node->rrsets[0]; /* RFC 8482: one rrset is enough */
    if (!rs)
        rs = zone_node_rrset(node, t->qtype);
    if (rs)
        put_rrset(t, DNS_HDR_LEN, rs, &t->an);
    else
        put_soa(t, qi);
}

static void query_reparse(dnsd_qctx_t *ctx, txn_t *t);

/* False when the query had to be parsed again (see parse_qname_scan()). */
static bool name_checked(dnsd_qctx_t *ctx, txn_t *t)
{
    if (likely(t->name_ok) || qname_walk_ok(t)) {
        t->name_ok = true;
        return true;
    }
    query_reparse(ctx, t);
    return false;
}

/* Everything the answer needs before the database lookups of a batch:
 * the zones' view of the name, and for a pool name located by the client,
 * the address to look up.  Ends the transaction (TX_DONE) when the answer
 * is a bare rcode. */
static void answer_prepare(dnsd_qctx_t *ctx, txn_t *t)
{
    const zones_t *zs = ctx->srv->zones;
    t->qi = t->qclass == DNS_C_IN ? zones_lookup(zs, t->lname, t->name_len, t->hash) : NULL;
    if (!t->qi && !name_checked(ctx, t)) {
        if (t->state == TX_ANSWER)
            answer_prepare(ctx, t);
        return;
    }
    if (t->qclass != DNS_C_IN) {
        t->rcode = DNS_RCODE_REFUSED;
        t->state = TX_DONE;
        return;
    }
    if (!t->qi) {
        /* Not an existing name: outside every zone, or NXDOMAIN. */
        zones_classify(zs, t->lname, t->name_len, &t->slow);
        t->qi = &t->slow;
    }
    if (t->qi->kind == QK_OUTSIDE) {
        t->rcode = DNS_RCODE_REFUSED;
        t->state = TX_DONE;
        return;
    }
    t->aa = true;
    if (t->qtype == DNS_T_AXFR || t->qtype == DNS_T_IXFR) {
        t->rcode = DNS_RCODE_REFUSED;
        t->state = TX_DONE;
        return;
    }
    if (t->qi->kind == QK_POOL)
        plan_pool(ctx, t);
}

static void answer(dnsd_qctx_t *ctx, txn_t *t)
{
    switch (t->qi->kind) {
    case QK_POOL:
        answer_pool(t);
        break;
    case QK_DEBUG:
        answer_debug(ctx, t);
        break;
    default:
        answer_zone(t, t->qi);
        break;
    }
}

/* ---- the entry point -------------------------------------------------------- */

/* OPT record: root owner, TYPE, CLASS = our payload size, TTL = extended
 * rcode | version | DO, RDLEN, then our Client Subnet option if the query
 * had one (RFC 7871 7.2.1: family, source prefix and address copied, scope
 * ours). */
static size_t opt_len(const txn_t *t, const dnsd_server_t *srv)
{
    return 11u + (t->ecs && srv->ecs ? 8u + t->ecs_addrlen : 0u);
}

static void put_opt(txn_t *t, const dnsd_server_t *srv)
{
    uint8_t *p = t->buf + t->w;
    bool ecs = t->ecs && srv->ecs && t->rcode != DNS_RCODE_FORMERR;
    uint16_t rdlen = ecs ? (uint16_t)(8u + t->ecs_addrlen) : 0;
    p[0] = 0;
    wire_put16(p + 1, DNS_T_OPT);
    wire_put16(p + 3, EDNS_OUR_PAYLOAD);
    wire_put32(p + 5, (uint32_t)(t->rcode >> 4) << 24 | (t->do_bit ? EDNS_F_DO : 0));
    wire_put16(p + 9, rdlen);
    if (ecs) {
        wire_put16(p + 11, EDNS_OPT_ECS);
        wire_put16(p + 13, (uint16_t)(4u + t->ecs_addrlen));
        wire_put16(p + 15, t->ecs_family);
        p[17] = t->ecs_source;
        p[18] = t->ecs_scope;
        /* All 16 bytes when there is room: those past the address are
         * beyond the response's end. */
        if (likely(t->w + 19 + 16 <= t->cap))
            memcpy(p + 19, t->ecs_addr, 16);
        else
            memcpy(p + 19, t->ecs_addr, t->ecs_addrlen);
    }
    t->w += 11u + rdlen;
}

static F_INLINE void query_clear(txn_t *t)
{
    /* Only the fields read before being written need clearing. */
    t->qend = 0;
    t->an = t->ns = 0;
    t->rcode = DNS_RCODE_NOERROR;
    t->aa = t->tc = t->edns = t->do_bit = t->ecs = false;
    t->ecs_scope = 0;
    t->udp_size = 0;
    t->need_geo = false;
    t->fam = -1;
    t->tab = NULL;
}

/* What follows the parse (rc as parse_query() returns it): the response's
 * size limit, and the end of the transaction when the answer is a bare
 * rcode. */
static F_INLINE void query_parsed(dnsd_qctx_t *ctx, txn_t *t, int rc)
{
    bool tcp = t->tcp;
    uint8_t *buf = t->buf;
    size_t cap = t->cap;
    if (rc == -2) {
        ctx->st.dropped++;
        t->state = TX_DROP;
        return;
    }
    size_t max = tcp ? DNSD_TCP_BUF : t->edns ? (t->udp_size > 512 ? t->udp_size : 512) : 512;
    if (!tcp && max > DNSD_UDP_MAX)
        max = DNSD_UDP_MAX;
    if (max > cap)
        max = cap;
    t->max = max;
    if (t->edns)
        ctx->st.edns++;
    if (t->ecs)
        ctx->st.ecs++;

    if (rc >= 0) {
        t->rcode = (unsigned)rc;
        /* Echo the question when it was understood; not for NOTIMP, whose
         * question section may not even be a question. */
        if (rc == DNS_RCODE_NOTIMP || !t->qend || wire_get16(buf + DNS_OFF_QD) != 1) {
            t->qend = DNS_HDR_LEN;
            wire_put16(buf + DNS_OFF_QD, 0);
        }
        t->state = TX_DONE;
        return;
    }
    t->state = TX_ANSWER;
}

/* Parse the query (query_prepare() then gets its answer ready up to the
 * database lookup, t->need_geo).  d: the dataset the answer comes from,
 * read once by the caller for its whole batch. */
static F_INLINE void query_begin(dnsd_qctx_t *ctx, txn_t *t, const dnsd_dataset_t *d,
                                  const struct sockaddr *client, uint8_t *buf, size_t len, size_t cap,
                                  bool tcp)
{
    t->buf = buf;
    t->len = len;
    t->cap = cap;
    t->tcp = tcp;
    t->client = client;
    t->d = d;
    query_clear(t);
    ctx->st.queries++;
    if (tcp)
        ctx->st.tcp++;
    const dnsd_server_t *srv = ctx->srv;
    int rc = PARSE_GENERAL;
    if (likely(len >= DNS_HDR_LEN && !ctx->general_only))
        rc = parse_simple(t, srv->ecs);
    if (rc == PARSE_GENERAL)
        rc = parse_query(t, srv->ecs);
    query_parsed(ctx, t, rc);
    if (t->state == TX_ANSWER)
        zones_prefetch_slot(srv->zones, t->hash);
}

/* The query again, through the general parser: parse_simple() took a name
 * that is not what its labels say (a label with a zero byte in it, or
 * labels that do not add up). */
static void query_reparse(dnsd_qctx_t *ctx, txn_t *t)
{
    if (t->edns)
        ctx->st.edns--;
    if (t->ecs)
        ctx->st.ecs--;
    query_clear(t);
    query_parsed(ctx, t, parse_query(t, ctx->srv->ecs));
}

static inline void query_prepare(dnsd_qctx_t *ctx, txn_t *t)
{
    if (t->state == TX_ANSWER)
        answer_prepare(ctx, t);
}

/* Between the geo lookup and query_end(): a pool answer's table and draw. */
static inline void query_choose(dnsd_qctx_t *ctx, txn_t *t)
{
    if (t->state == TX_ANSWER && t->qi->kind == QK_POOL && t->fam >= 0)
        choose_pool(ctx, t);
}

/* Write the answer (t->loc.req.ans looked up if t->need_geo), the OPT
 * record and the header; returns the response length, 0 to drop. */
static F_INLINE size_t query_end(dnsd_qctx_t *ctx, txn_t *t)
{
    if (t->state == TX_DROP)
        return 0;
    const dnsd_server_t *srv = ctx->srv;
    uint8_t *buf = t->buf;
    t->w = t->qend;
    if (t->state == TX_ANSWER) {
        t->limit = t->max - (t->edns ? opt_len(t, srv) : 0);
        answer(ctx, t);
        if (t->tc) {
            /* Nothing partial: the client must retry over TCP. */
            t->w = t->qend;
            t->an = t->ns = 0;
            ctx->st.truncated++;
        }
    }
    if (t->edns)
        put_opt(t, srv);

    buf[DNS_OFF_FLAGS1] = (uint8_t)(DNS_F_QR | (buf[DNS_OFF_FLAGS1] & (DNS_F_OPCODE | DNS_F_RD)) |
                                    (t->aa ? DNS_F_AA : 0) | (t->tc ? DNS_F_TC : 0));
    buf[DNS_OFF_FLAGS2] = (uint8_t)((buf[DNS_OFF_FLAGS2] & DNS_F_CD) | (t->rcode & DNS_RCODE_MASK));
    wire_put16(buf + DNS_OFF_AN, t->an);
    wire_put16(buf + DNS_OFF_NS, t->ns);
    wire_put16(buf + DNS_OFF_AR, t->edns ? 1 : 0);

    switch (t->rcode) {
    case DNS_RCODE_NOERROR: ctx->st.noerror++; break;
    case DNS_RCODE_NXDOMAIN: ctx->st.nxdomain++; break;
    case DNS_RCODE_REFUSED: ctx->st.refused++; break;
    case DNS_RCODE_FORMERR: ctx->st.formerr++; break;
    case DNS_RCODE_NOTIMP: ctx->st.notimp++; break;
    case DNS_RCODE_BADVERS: ctx->st.badvers++; break;
    default: ctx->st.servfail++; break;
    }
    return t->w;
}

size_t dnsd_query(dnsd_qctx_t *ctx, const struct sockaddr *client, uint8_t *buf, size_t len, size_t cap,
                  bool tcp)
{
    txn_t t;
    const dnsd_dataset_t *d = dnsd_dataset_current(ctx->srv);
    query_begin(ctx, &t, d, client, buf, len, cap, tcp);
    query_prepare(ctx, &t);
    if (t.need_geo)
        geo_lookup(d->geo, t.loc.req.family, t.loc.req.addr, t.loc.req.prefix, &t.loc.req.ans);
    query_choose(ctx, &t);
    return query_end(ctx, &t);
}

void dnsd_query_batch(dnsd_qctx_t *ctx, dnsd_qmsg_t *msgs, unsigned n)
{
    const dnsd_dataset_t *d = dnsd_dataset_current(ctx->srv);
    for (unsigned done = 0; done < n; done += QBATCH) {
        unsigned k = n - done < QBATCH ? n - done : QBATCH, ngeo = 0;
        dnsd_qmsg_t *m = msgs + done;
        geo_req_t *reqs[QBATCH];
        /* Each pass asks for what the next one reads: the name index's
         * entries, ..., table headers, the places in them the draws
         * land. */
        for (unsigned i = 0; i < k; i++)
            query_begin(ctx, &ctx->batch[i], d, m[i].client, m[i].buf, m[i].len, m[i].cap, false);
        for (unsigned i = 0; i < k; i++) {
            txn_t *t = &ctx->batch[i];
            query_prepare(ctx, t);
            reqs[ngeo] = &t->loc.req; /* counted only if needed: no branch */
            ngeo += t->need_geo;
        }
        if (ngeo)
            geo_lookup_batch(d->geo, reqs, ngeo);
        for (unsigned i = 0; i < k; i++) {
            txn_t *t = &ctx->batch[i];
            query_choose(ctx, t);
            if (t->tab)
                __builtin_prefetch(t->tab);
        }
        for (unsigned i = 0; i < k; i++)
            if (ctx->batch[i].tab)
                wtable_prefetch_draw(ctx->batch[i].tab, ctx->batch[i].r);
        for (unsigned i = 0; i < k; i++)
            m[i].out = query_end(ctx, &ctx->batch[i]);
    }
}
