/* geo.c -- geo_lookup() over the flattened trie, and the db's describe/free.
 *
 * The trie is built by flatten.c (see geo_internal.h for its layout).  A
 * lookup is: one stride-table load for the top 16 bits, then one dependent
 * load per further bit until a leaf or the caller's prefix is reached.  The
 * address is kept left-aligned in a 64-bit register and shifted one bit per
 * step, so a step is a load, a shift, a test and a compare.  No libmaxminddb,
 * no allocation, no system call, no branch on data outside the prefix. */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo_internal.h"

/* Walk from ref at *depth while it is a node and depth < limit, taking the
 * next bit from the top of bits. */
static inline uint32_t walk(const geo_node_t *nodes, uint32_t ref, unsigned *depth,
                            unsigned limit, uint64_t bits)
{
    unsigned d = *depth;
    while (!(ref & GEO_LEAF) && d < limit) {
        ref = nodes[ref].child[bits >> 63];
        bits <<= 1;
        d++;
    }
    *depth = d;
    return ref;
}

static inline void answer(const geo_db_t *db, uint32_t ref, unsigned depth, unsigned scope_add,
                          geo_answer_t *out)
{
    if (ref & GEO_LEAF) {
        out->country = geo_leaf_country(ref);
        out->continent = geo_leaf_continent(ref);
    } else {
        /* The prefix ends inside a subtree with several answers: no one
         * country, and a continent only if every leaf below shares it. */
        out->country = AREA_WORLD;
        out->continent = db->summary[ref];
    }
    out->scope = (uint8_t)(depth + scope_add);
}

/* addr is the IPv4 address in the low 32 bits; only its top prefix bits
 * take part. */
static void lookup4(const geo_db_t *db, uint32_t addr, unsigned prefix, unsigned scope_add,
                    geo_answer_t *out)
{
    uint64_t bits = (uint64_t)addr << 32;
    uint32_t ref;
    unsigned depth;
    if (likely(prefix >= GEO_STRIDE_BITS)) {
        ref = db->stride[0][addr >> (32 - GEO_STRIDE_BITS)];
        if (ref & GEO_LEAF) {
            answer(db, ref, ref >> GEO_LEAF_DEPTH_SHIFT & GEO_LEAF_DEPTH_MASK, scope_add, out);
            return;
        }
        depth = GEO_STRIDE_BITS;
        bits <<= GEO_STRIDE_BITS;
    } else {
        ref = db->root[0];
        depth = 0;
    }
    ref = walk(db->nodes, ref, &depth, prefix, bits);
    answer(db, ref, depth, scope_add, out);
}

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return be64toh(v);
}

static void lookup6(const geo_db_t *db, const uint8_t *addr, unsigned prefix,
                    geo_answer_t *out)
{
    uint64_t hi = load_be64(addr);
    uint64_t lo = prefix > 64 ? load_be64(addr + 8) : 0;
    /* ::ffff:a.b.c.d/96+n is a.b.c.d/n, however the db's own tree is laid
     * out there (flatten.c grafts the same IPv4 trie anyway). */
    if (prefix >= 96 && hi == 0 && lo >> 32 == 0xffff) {
        lookup4(db, (uint32_t)lo, prefix - 96, 96, out);
        return;
    }
    uint32_t ref;
    unsigned depth;
    if (likely(prefix >= GEO_STRIDE_BITS)) {
        ref = db->stride[1][hi >> (64 - GEO_STRIDE_BITS)];
        if (ref & GEO_LEAF) {
            answer(db, ref, ref >> GEO_LEAF_DEPTH_SHIFT & GEO_LEAF_DEPTH_MASK, 0, out);
            return;
        }
        depth = GEO_STRIDE_BITS;
        hi <<= GEO_STRIDE_BITS;
    } else {
        ref = db->root[1];
        depth = 0;
    }
    ref = walk(db->nodes, ref, &depth, prefix < 64 ? prefix : 64, hi);
    if (!(ref & GEO_LEAF) && depth < prefix)
        ref = walk(db->nodes, ref, &depth, prefix, lo);
    answer(db, ref, depth, 0, out);
}

void geo_lookup(const geo_db_t *db, int family, const uint8_t *addr, unsigned prefix,
                geo_answer_t *out)
{
    if (family == 4) {
        uint32_t a;
        memcpy(&a, addr, sizeof(a));
        lookup4(db, be32toh(a), prefix < 32 ? prefix : 32, 0, out);
    } else if (family == 6) {
        lookup6(db, addr, prefix < 128 ? prefix : 128, out);
    } else {
        out->country = out->continent = AREA_WORLD;
        out->scope = 0;
    }
}

void geo_db_describe(const geo_db_t *db, char *buf, size_t len)
{
    snprintf(buf, len,
             "%s (IPv%u db): %llu IPv4 + %llu IPv6 networks, %u distinct answers, %zu nodes, "
             "%zu bytes (%.1f MiB), loaded in %.0f ms",
             db->type[0] ? db->type : "MaxMind DB", db->ip_version,
             (unsigned long long)db->networks[0], (unsigned long long)db->networks[1],
             db->answers, db->nnodes, db->bytes, db->bytes / 1048576.0, db->load_ms);
}

void geo_db_free(geo_db_t *db)
{
    if (!db)
        return;
    free((void *)db->nodes);
    free((void *)db->summary);
    free((void *)db->stride[0]);
    free(db);
}
