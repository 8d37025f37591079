/* zones.h -- the zone model: each pool apex, the records of its zone file in
 * wire form, and the classification of a query name below it.
 *
 * A zone's data is loaded once at start-up and never changes while the
 * daemon runs, so readers need no synchronisation.  Records are kept as
 * ready-to-copy wire fragments without their owner name: the query path
 * writes the owner as a compression pointer into the question and appends
 * the fragment with one memcpy.
 *
 *   zone_t
 *     apex (wire), nodes[] (hash by lower-case wire name)
 *       zone_node_t: name, rrsets[]
 *         zone_rrset_t: type, count, wire = count x (TYPE CLASS TTL RDLEN RDATA)
 *
 * The pool's own names ("[N.][AREA|VENDOR.]apex") are not records: the
 * classifier recognises them and the answer comes from the weights snapshot.
 * ldns is used by zonefile.c only. */
#ifndef POOLDNS_ZONES_H
#define POOLDNS_ZONES_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/errs.h"
#include "geo/codes.h"

typedef struct {
    uint16_t type;
    uint16_t count;         /* records in the set */
    uint32_t len;           /* bytes in wire */
    uint8_t *wire;          /* count x (TYPE CLASS TTL RDLEN RDATA), no owner */
} zone_rrset_t;

typedef struct {
    uint8_t *name;          /* lower-case wire name, absolute */
    unsigned name_len;
    zone_rrset_t *rrsets;   /* in the order a minimal ANY answer prefers */
    unsigned nrrsets;       /* 0: an empty non-terminal */
} zone_node_t;

typedef struct {
    uint8_t apex[256];      /* lower-case wire name */
    unsigned apex_len;
    char *name;             /* presentation, for logs */
    char *file;
    zone_node_t *nodes;
    unsigned nnodes;
    uint32_t *slots;        /* open-addressing hash: node index + 1, 0 = empty */
    uint32_t slot_mask;
    const zone_node_t *apex_node;
    /* SOA for negative answers (RFC 2308 3: TTL = min(SOA TTL, MINIMUM)):
     * TYPE CLASS TTL RDLEN RDATA, owner omitted (it is the apex). */
    uint8_t *soa_neg;
    unsigned soa_neg_len;
    uint32_t serial;
} zone_t;

struct zname;

typedef struct {
    zone_t *v;
    unsigned n;
    char **vendors;         /* labels that answer like the apex */
    unsigned nvendors;
    unsigned subzones;      /* numbered subzones 0..subzones-1 */
    /* Every name a query can hit that exists (pool names, _country, zone
     * file names), classified once at load: the query path finds them with
     * one hash probe.  Open addressing, the entries in the slots
     * themselves (len 0: empty), one cache line each, so that a probe is
     * one load and not a slot, then the entry it names. */
    struct zname *name_slots;
    unsigned nnames;
    uint32_t name_mask;
    uint8_t *name_arena;    /* names, each zero-padded to 8 bytes */
    harena_t index_mem;     /* name_slots and name_arena live here */
} zones_t;

/* What a zone set is made of. */
typedef struct {
    const uint8_t *apex;    /* lower-case wire name */
    unsigned apex_len;
    const char *name;       /* presentation */
    const char *file;       /* RFC 1035 zone file */
} zones_spec_t;

/* Load every zone file.  Problems go to errs as "file:line: message";
 * returns NULL when there was any. */
zones_t *zones_load(const zones_spec_t *specs, unsigned n, char *const *vendors, unsigned nvendors,
                    unsigned subzones, errs_t *errs);
void zones_free(zones_t *zs);

enum qname_kind {
    QK_OUTSIDE = 0,         /* under no configured apex: REFUSED */
    QK_POOL,                /* a pool name: A/AAAA from the snapshot */
    QK_DEBUG,               /* _country.<apex>: what the server saw */
    QK_OTHER,               /* anything else under the apex: zone data or NXDOMAIN */
};

typedef struct {
    const zone_t *zone;     /* NULL when QK_OUTSIDE */
    const zone_node_t *node;/* zone-file data at this exact name, or NULL */
    uint8_t kind;           /* enum qname_kind */
    bool geo;               /* QK_POOL: choose the area by the client's location */
    int8_t sub;             /* QK_POOL: subzone number, -1 for the unnumbered name */
    area_t area;            /* QK_POOL and !geo: the zone the name asks for */
    uint16_t apex_off;      /* offset of the apex inside the name */
} qname_info_t;

/* Classify a lower-case wire name of name_len bytes (already validated). */
void zones_classify(const zones_t *zs, const uint8_t *lname, unsigned name_len,
                    qname_info_t *out) F_HOT;

/* ---- the name index -------------------------------------------------- */

struct zname {
    uint64_t hash;
    const uint8_t *name;    /* in name_arena, zero-padded to a multiple of 8 */
    unsigned len;           /* 0: an empty slot */
    qname_info_t info;
    /* To a cache line: the index's slots start on one (harena_alloc). */
    uint8_t pad[64 - 8 - sizeof(const uint8_t *) - sizeof(unsigned) - 4 - sizeof(qname_info_t)];
};
_Static_assert(sizeof(struct zname) == 64, "a name index slot is one cache line");

static inline uint64_t zones_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Hash of a lower-case wire name stored zero-padded to a multiple of 8
 * bytes: one multiply per 8 bytes.  zones_hash_start() and
 * zones_hash_word() are its steps, for a caller that makes the padded name
 * word by word (the query parser) and hashes as it goes.  The length is
 * not hashed: a wire name ends at its root label, so the padded words of
 * two names are equal only when the names are; and the query parser finds
 * the length only at the last word. */
static inline uint64_t zones_hash_start(void) { return 0x9e3779b97f4a7c15ull; }
static inline uint64_t zones_hash_word(uint64_t h, uint64_t word)
{
    h = (h ^ word) * 0xff51afd7ed558ccdull;
    return h ^ h >> 32;
}
static inline uint64_t zones_name_hash(const uint8_t *padded, unsigned len)
{
    uint64_t h = zones_hash_start();
    for (unsigned i = 0; i < len; i += 8)
        h = zones_hash_word(h, zones_load64(padded + i));
    return h;
}

/* Words of a name zones_lookup() compares without a loop. */
#define ZONES_CMP_WORDS 4

/* The classification of an existing name, or NULL: the name is under no
 * apex or does not exist (callers then use zones_classify).  padded as for
 * zones_name_hash, and at least ZONES_CMP_WORDS * 8 bytes long. */
static inline const qname_info_t *zones_lookup(const zones_t *zs, const uint8_t *padded, unsigned len,
                                               uint64_t hash)
{
    uint32_t i = (uint32_t)hash & zs->name_mask;
    for (;;) {
        const struct zname *e = &zs->name_slots[i];
        if (!e->len)
            return NULL;
        if (e->hash == hash && e->len == len) {
            /* Both names are zero-padded: compare whole words.  Up to
             * ZONES_CMP_WORDS words, always that many, masked: how many a
             * name has changes from one query to the next, and a loop
             * over them would end on a mispredicted branch.  (Both sides
             * have that many words to read: padded is a query's name
             * buffer, and the name arena ends with them.) */
            uint64_t diff = 0;
            if (likely(len <= ZONES_CMP_WORDS * 8)) {
                for (unsigned w = 0; w < ZONES_CMP_WORDS; w++)
                    diff |= (zones_load64(e->name + 8 * w) ^ zones_load64(padded + 8 * w)) &
                            -(uint64_t)(8 * w < len);
            } else {
                for (unsigned w = 0; w < len; w += 8)
                    diff |= zones_load64(e->name + w) ^ zones_load64(padded + w);
            }
            if (!diff)
                return &e->info;
        }
        i = (i + 1) & zs->name_mask;
    }
}

/* Ask for the line zones_lookup(hash) reads first: a batch of lookups
 * asks for all of theirs, then looks up, so that the cache misses
 * overlap. */
static inline void zones_prefetch_slot(const zones_t *zs, uint64_t hash)
{
    __builtin_prefetch(&zs->name_slots[(uint32_t)hash & zs->name_mask]);
}

/* The node for an exact lower-case wire name in z, or NULL. */
const zone_node_t *zone_find_node(const zone_t *z, const uint8_t *lname, unsigned name_len);

/* The rrset of the given type at node n, or NULL. */
const zone_rrset_t *zone_node_rrset(const zone_node_t *n, uint16_t type);

/* --- for zonefile.c ----------------------------------------------------- */

/* One record read from a zone file. */
typedef struct {
    uint8_t owner[256];     /* lower-case wire */
    unsigned owner_len;
    uint16_t type, rclass;
    uint32_t ttl;
    uint8_t *rdata;         /* owned */
    uint16_t rdlen;
    unsigned line;
    bool dup;               /* same data as an earlier record: skipped */
} zone_rec_t;

/* Read path with ldns, origin = apex; appends records to *recs (growing
 * n and cap).  Syntax errors go to errs.  Returns false on error. */
bool zonefile_read(const char *path, const uint8_t *apex, unsigned apex_len, zone_rec_t **recs,
                   unsigned *n, unsigned *cap, errs_t *errs);

#endif
