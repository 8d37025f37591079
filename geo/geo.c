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

#include "dnsd/base/alloc.h"
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

/* The fast path: the stride entry, then multibit nodes down to a leaf;
 * bits holds the address bits after the stride, left-aligned (zeros past
 * the address).  Returns a leaf ref with its depth. */
/* A multibit leaf found in the node at depth, as a leaf ref with its depth
 * (GEO_MB_SLOW for GEO_MB_SLOW_LEAF). */
static inline uint32_t mb_leaf(const geo_db_t *db, uint16_t v, unsigned depth)
{
    if (v == GEO_MB_SLOW_LEAF)
        return GEO_MB_SLOW;
    return db->mb_answers[v >> 3] | (depth + (v & 7u)) << GEO_LEAF_DEPTH_SHIFT;
}

static inline uint32_t mb_lookup(const geo_db_t *db, uint32_t e, uint64_t bits)
{
    if (e & GEO_LEAF)
        return e;
    for (unsigned depth = GEO_STRIDE_BITS;; depth += GEO_MB_BITS) {
        const geo_mb_t *n = &db->mb[e];
        uint64_t bit = 1ull << (bits >> (64 - GEO_MB_BITS));
        bits <<= GEO_MB_BITS;
        if (!(n->inner & bit))
            return mb_leaf(db, db->mb_leaves[n->leaf0 + (uint32_t)__builtin_popcountll(n->runs & (bit | (bit - 1))) - 1],
                           depth);
        e = n->child0 + (uint32_t)__builtin_popcountll(n->inner & (bit - 1));
    }
}

/* addr is the IPv4 address in the low 32 bits; only its top prefix bits
 * count.  scope_add is added to the scope (96 for an IPv4-mapped IPv6
 * query). */
static void lookup4(const geo_db_t *db, uint32_t addr, unsigned prefix, unsigned scope_add,
                    geo_answer_t *out)
{
    uint64_t bits = (uint64_t)addr << 32;
    if (likely(prefix >= GEO_STRIDE_BITS)) {
        uint32_t leaf = mb_lookup(db, db->stride[0][addr >> (32 - GEO_STRIDE_BITS)],
                                  bits << GEO_STRIDE_BITS);
        unsigned d = leaf >> GEO_LEAF_DEPTH_SHIFT & GEO_LEAF_DEPTH_MASK;
        /* The leaf's network holds the whole prefix: that is the answer.
         * Otherwise the prefix ends inside a split (or the fast path stops
         * here): the binary trie tells. */
        if (likely(d <= prefix)) {
            answer(db, leaf, d, scope_add, out);
            return;
        }
    }
    unsigned depth = 0;
    uint32_t ref = walk(db->nodes, db->root[0], &depth, prefix, bits);
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
    if (likely(prefix >= GEO_STRIDE_BITS)) {
        /* Multibit nodes stop at GEO_MB_MAX6 = 64 bits: hi is all they read. */
        uint32_t leaf = mb_lookup(db, db->stride[1][hi >> (64 - GEO_STRIDE_BITS)],
                                  hi << GEO_STRIDE_BITS);
        unsigned d = leaf >> GEO_LEAF_DEPTH_SHIFT & GEO_LEAF_DEPTH_MASK;
        if (likely(d <= prefix)) {
            answer(db, leaf, d, 0, out);
            return;
        }
    }
    unsigned depth = 0;
    uint32_t ref = walk(db->nodes, db->root[1], &depth, prefix < 64 ? prefix : 64, hi);
    if (!(ref & GEO_LEAF) && depth < prefix)
        ref = walk(db->nodes, ref, &depth, prefix, lo);
    answer(db, ref, depth, 0, out);
}

F_POPCNT void geo_lookup(const geo_db_t *db, int family, const uint8_t *addr, unsigned prefix,
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

void geo_lookup_binary(const geo_db_t *db, int family, const uint8_t *addr, unsigned prefix,
                       geo_answer_t *out)
{
    unsigned depth = 0, scope_add = 0;
    uint64_t hi, lo = 0;
    uint32_t ref;
    if (family == 4) {
        uint32_t a;
        memcpy(&a, addr, sizeof(a));
        hi = (uint64_t)be32toh(a) << 32;
        prefix = prefix < 32 ? prefix : 32;
        ref = db->root[0];
    } else if (family == 6) {
        hi = load_be64(addr);
        lo = load_be64(addr + 8);
        prefix = prefix < 128 ? prefix : 128;
        ref = db->root[1];
        if (prefix >= 96 && hi == 0 && lo >> 32 == 0xffff) {
            hi = lo << 32;
            prefix -= 96;
            scope_add = 96;
            ref = db->root[0];
        }
    } else {
        out->country = out->continent = AREA_WORLD;
        out->scope = 0;
        return;
    }
    ref = walk(db->nodes, ref, &depth, prefix < 64 ? prefix : 64, hi);
    if (!(ref & GEO_LEAF) && depth < prefix)
        ref = walk(db->nodes, ref, &depth, prefix, lo);
    answer(db, ref, depth, scope_add, out);
}

_Static_assert(GEO_BATCH_MAX <= 256, "request indices are kept in bytes");

F_POPCNT void geo_lookup_batch(const geo_db_t *db, geo_req_t *const *reqs, unsigned n)
{
    /* Per request: where it stands (e: stride entry, node or leaf index),
     * the address bits still to read, and the prefix and scope offset in
     * the trie's own family. */
    uint32_t e[GEO_BATCH_MAX];
    uint64_t bits[GEO_BATCH_MAX];
    uint8_t fam[GEO_BATCH_MAX], prefix[GEO_BATCH_MAX], add[GEO_BATCH_MAX], depth[GEO_BATCH_MAX];
    enum { SLOW, STRIDE, NODE, LEAF, LEAF_INDEX } st[GEO_BATCH_MAX];
    uint8_t walking[GEO_BATCH_MAX];     /* requests still in the nodes */
    unsigned nwalking = 0;
    if (n > GEO_BATCH_MAX)
        n = GEO_BATCH_MAX;

    /* The stride entries. */
    for (unsigned i = 0; i < n; i++) {
        const geo_req_t *r = reqs[i];
        st[i] = SLOW;
        add[i] = 0;
        if (r->family == 4) {
            uint32_t a;
            memcpy(&a, r->addr, sizeof(a));
            fam[i] = 0;
            bits[i] = (uint64_t)be32toh(a) << 32;
            prefix[i] = (uint8_t)(r->prefix < 32 ? r->prefix : 32);
        } else if (r->family == 6) {
            uint64_t hi = load_be64(r->addr), lo = load_be64(r->addr + 8);
            unsigned p = r->prefix < 128 ? r->prefix : 128;
            if (p >= 96 && hi == 0 && lo >> 32 == 0xffff) {
                fam[i] = 0;
                bits[i] = lo << 32;
                prefix[i] = (uint8_t)(p - 96);
                add[i] = 96;
            } else {
                fam[i] = 1;
                bits[i] = hi;
                prefix[i] = (uint8_t)p;
            }
        } else {
            continue;
        }
        if (prefix[i] < GEO_STRIDE_BITS)
            continue;
        st[i] = STRIDE;
        __builtin_prefetch(&db->stride[fam[i]][bits[i] >> (64 - GEO_STRIDE_BITS)]);
    }
    for (unsigned i = 0; i < n; i++) {
        if (st[i] != STRIDE)
            continue;
        e[i] = db->stride[fam[i]][bits[i] >> (64 - GEO_STRIDE_BITS)];
        bits[i] <<= GEO_STRIDE_BITS;
        if (e[i] & GEO_LEAF) {
            st[i] = LEAF;
        } else {
            st[i] = NODE;
            depth[i] = GEO_STRIDE_BITS;
            walking[nwalking++] = (uint8_t)i;
            __builtin_prefetch(&db->mb[e[i]]);
        }
    }
    /* One level of every walk per pass. */
    while (nwalking) {
        unsigned still = 0;
        for (unsigned j = 0; j < nwalking; j++) {
            unsigned i = walking[j];
            const geo_mb_t *m = &db->mb[e[i]];
            uint64_t bit = 1ull << (bits[i] >> (64 - GEO_MB_BITS));
            bits[i] <<= GEO_MB_BITS;
            if (m->inner & bit) {
                e[i] = m->child0 + (uint32_t)__builtin_popcountll(m->inner & (bit - 1));
                depth[i] = (uint8_t)(depth[i] + GEO_MB_BITS);
                __builtin_prefetch(&db->mb[e[i]]);
                walking[still++] = (uint8_t)i;
            } else {
                /* A leaf index: the leaf is read after the walks. */
                e[i] = m->leaf0 + (uint32_t)__builtin_popcountll(m->runs & (bit | (bit - 1))) - 1;
                __builtin_prefetch(&db->mb_leaves[e[i]]);
                st[i] = LEAF_INDEX;
            }
        }
        nwalking = still;
    }
    for (unsigned i = 0; i < n; i++) {
        geo_req_t *r = reqs[i];
        if (st[i] == SLOW) {
            geo_lookup(db, r->family, r->addr, r->prefix, &r->ans);
            continue;
        }
        uint32_t leaf = st[i] == LEAF ? e[i] : mb_leaf(db, db->mb_leaves[e[i]], depth[i]);
        unsigned d = leaf >> GEO_LEAF_DEPTH_SHIFT & GEO_LEAF_DEPTH_MASK;
        if (d <= prefix[i])
            answer(db, leaf, d, add[i], &r->ans);
        else
            geo_lookup(db, r->family, r->addr, r->prefix, &r->ans);
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
    xhuge_free(db->arena, db->arena_size);
    free(db);
}
