/* geo.c -- geo_lookup() over the flattened trie, and the db's describe/free.
 *
 * The tables are built by flatten.c (see geo_internal.h for their layout).
 * A lookup is: one stride-table load for the top 16 bits, then one
 * multibit node per 6 further bits until a leaf.  When the leaf's network
 * holds the caller's whole prefix, it is the answer; otherwise (the prefix
 * ends inside a split, or the multibit nodes stop) the binary trie walks
 * the prefix bit by bit.  geo_lookup_batch() does the same for many
 * addresses a level at a time.  No libmaxminddb, no allocation, no system
 * call, and no answer depends on bits outside the prefix. */
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

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return be64toh(v);
}

/* An address as the trie sees it: which trie (0 IPv4, 1 IPv6), the address
 * left-aligned in hi (and lo), the prefix in that trie's bits, and what to
 * add to the scope.  ::ffff:a.b.c.d/96+n is a.b.c.d/n, however the db's
 * own tree is laid out there (flatten.c grafts the same IPv4 trie anyway). */
typedef struct {
    uint64_t hi, lo;
    unsigned trie, prefix, scope_add;
} geo_key_t;

/* An IPv6 key of ::ffff:a.b.c.d/96+n made the IPv4 key of a.b.c.d/n. */
static inline void key_unmap(geo_key_t *k)
{
    k->trie = 0;
    k->hi = k->lo << 32;
    k->lo = 0;
    k->prefix -= 96;
    k->scope_add = 96;
}

/* False for a family other than 4 or 6. */
static inline bool key_of(int family, const uint8_t *addr, unsigned prefix, geo_key_t *k)
{
    k->lo = 0;
    k->scope_add = 0;
    if (family == 4) {
        uint32_t a;
        memcpy(&a, addr, sizeof(a));
        k->trie = 0;
        k->hi = (uint64_t)be32toh(a) << 32;
        k->prefix = prefix < 32 ? prefix : 32;
        return true;
    }
    if (family != 6)
        return false;
    k->hi = load_be64(addr);
    k->lo = load_be64(addr + 8);
    k->prefix = prefix < 128 ? prefix : 128;
    k->trie = 1;
    if (k->prefix >= 96 && k->hi == 0 && k->lo >> 32 == 0xffff)
        key_unmap(k);
    return true;
}

/* key_of() for a request, whose address always has 16 bytes: IPv4 or IPv6
 * changes at random from one lookup to the next, so the key is made
 * without a branch on it (masks: gcc makes branches of ?:). */
static inline bool key_of_req(const geo_req_t *r, geo_key_t *k)
{
    if (unlikely((r->family | 2) != 6))
        return false; /* neither 4 nor 6 */
    uint32_t a;
    memcpy(&a, r->addr, sizeof(a));
    uint64_t v4 = -(uint64_t)(r->family == 4);
    k->hi = (((uint64_t)be32toh(a) << 32) & v4) | (load_be64(r->addr) & ~v4);
    k->lo = load_be64(r->addr + 8) & ~v4;
    unsigned max = 128u >> (2u & (unsigned)v4); /* 32 or 128 */
    k->prefix = r->prefix < max ? r->prefix : max;
    k->trie = 1u & ~(unsigned)v4;
    k->scope_add = 0;
    /* ::ffff:a.b.c.d/96+n, as in key_of() (an IPv4 key has lo = 0). */
    if (unlikely(((k->hi | ((k->lo >> 32) ^ 0xffff)) == 0) & (k->prefix >= 96)))
        key_unmap(k);
    return true;
}

static inline void answer_world(geo_answer_t *out)
{
    out->country = out->continent = AREA_WORLD;
    out->scope = 0;
}

/* The binary trie alone, bit by bit. */
static void lookup_binary(const geo_db_t *db, const geo_key_t *k, geo_answer_t *out)
{
    unsigned depth = 0;
    uint32_t ref = walk(db->nodes, db->root[k->trie], &depth, k->prefix < 64 ? k->prefix : 64, k->hi);
    if (!(ref & GEO_LEAF) && depth < k->prefix)
        ref = walk(db->nodes, ref, &depth, k->prefix, k->lo);
    answer(db, ref, depth, k->scope_add, out);
}

/* A multibit leaf found in the node at depth, as a leaf ref with its depth
 * (GEO_MB_SLOW for GEO_MB_SLOW_LEAF). */
static inline uint32_t mb_leaf(uint16_t v, unsigned depth)
{
    if (v == GEO_MB_SLOW_LEAF)
        return GEO_MB_SLOW;
    return GEO_LEAF | (uint32_t)(v >> 3) | (depth + (v & 7u)) << GEO_LEAF_DEPTH_SHIFT;
}

static inline unsigned leaf_depth(uint32_t leaf)
{
    return leaf >> GEO_LEAF_DEPTH_SHIFT & GEO_LEAF_DEPTH_MASK;
}

F_POPCNT void geo_lookup(const geo_db_t *db, int family, const uint8_t *addr, unsigned prefix,
                         geo_answer_t *out)
{
    geo_key_t k;
    if (!key_of(family, addr, prefix, &k)) {
        answer_world(out);
        return;
    }
    if (likely(k.prefix >= GEO_STRIDE_BITS)) {
        /* IPv6 multibit nodes stop at GEO_MB_MAX6 = 64 bits: hi is all
         * they read. */
        uint32_t si = (uint32_t)(k.hi >> (64 - GEO_STRIDE_BITS));
        uint32_t e = db->stride[k.trie][si], leaf = e;
        uint64_t bits = k.hi << GEO_STRIDE_BITS;
        const geo_mb_t *n = &db->snodes[k.trie][si];
        for (unsigned depth = GEO_STRIDE_BITS; !(e & GEO_LEAF); depth += GEO_MB_BITS) {
            uint64_t bit = 1ull << (bits >> (64 - GEO_MB_BITS));
            bits <<= GEO_MB_BITS;
            if (!(n->inner & bit)) {
                uint32_t j = (uint32_t)__builtin_popcountll(n->runs & (bit | (bit - 1))) - 1;
                leaf = mb_leaf(*geo_mb_leafp(db->mb_leaves, n, j), depth);
                break;
            }
            e = n->child0 + (uint32_t)__builtin_popcountll(n->inner & (bit - 1));
            n = &db->mb[e];
        }
        /* The leaf's network holds the whole prefix: that is the answer. */
        if (likely(leaf_depth(leaf) <= k.prefix)) {
            answer(db, leaf, leaf_depth(leaf), k.scope_add, out);
            return;
        }
    }
    lookup_binary(db, &k, out);
}

void geo_lookup_binary(const geo_db_t *db, int family, const uint8_t *addr, unsigned prefix,
                       geo_answer_t *out)
{
    geo_key_t k;
    if (key_of(family, addr, prefix, &k))
        lookup_binary(db, &k, out);
    else
        answer_world(out);
}

_Static_assert(GEO_BATCH_MAX <= 256, "request indices are kept in bytes");

F_POPCNT void geo_lookup_batch(const geo_db_t *db, geo_req_t *const *reqs, unsigned n)
{
    /* Per request: its key, where it stands (e: stride entry, then the
     * leaf; nd: the node while it walks; lp: where the leaf is, once
     * known) and at which depth. */
    geo_key_t k[GEO_BATCH_MAX];
    uint32_t e[GEO_BATCH_MAX];
    const geo_mb_t *nd[GEO_BATCH_MAX];  /* the node a walk stands on */
    uint8_t depth[GEO_BATCH_MAX];
    enum { WORLD, SLOW, LEAF, LEAF_INDEX } st[GEO_BATCH_MAX];
    uint8_t walking[GEO_BATCH_MAX];     /* requests still in the nodes */
    const uint16_t *lp[GEO_BATCH_MAX];  /* LEAF_INDEX: where the leaf is */
    unsigned nwalking = 0;
    if (n > GEO_BATCH_MAX)
        n = GEO_BATCH_MAX;

    for (unsigned i = 0; i < n; i++) {
        const geo_req_t *r = reqs[i];
        if (!key_of_req(r, &k[i]))
            st[i] = WORLD;
        else if (k[i].prefix < GEO_STRIDE_BITS)
            st[i] = SLOW;
        else {
            st[i] = LEAF;
            uint32_t si = (uint32_t)(k[i].hi >> (64 - GEO_STRIDE_BITS));
            __builtin_prefetch(&db->stride[k[i].trie][si]);
            __builtin_prefetch(&db->snodes[k[i].trie][si]);
        }
    }
    for (unsigned i = 0; i < n; i++) {
        if (st[i] != LEAF)
            continue;
        uint32_t si = (uint32_t)(k[i].hi >> (64 - GEO_STRIDE_BITS));
        e[i] = db->stride[k[i].trie][si];
        k[i].hi <<= GEO_STRIDE_BITS;
        if (!(e[i] & GEO_LEAF)) {
            /* Its node was asked for with the stride entry. */
            depth[i] = GEO_STRIDE_BITS;
            nd[i] = &db->snodes[k[i].trie][si];
            walking[nwalking++] = (uint8_t)i;
        }
    }
    /* One level of every walk per pass. */
    while (nwalking) {
        unsigned still = 0;
        for (unsigned j = 0; j < nwalking; j++) {
            unsigned i = walking[j];
            const geo_mb_t *m = nd[i];
            uint64_t bit = 1ull << (k[i].hi >> (64 - GEO_MB_BITS));
            k[i].hi <<= GEO_MB_BITS;
            if (m->inner & bit) {
                nd[i] = &db->mb[m->child0 + (uint32_t)__builtin_popcountll(m->inner & (bit - 1))];
                depth[i] = (uint8_t)(depth[i] + GEO_MB_BITS);
                __builtin_prefetch(nd[i]);
                walking[still++] = (uint8_t)i;
            } else {
                /* The leaf is read after the walks: most are in the
                 * node's own line, the rest are asked for here. */
                uint32_t leaf = (uint32_t)__builtin_popcountll(m->runs & (bit | (bit - 1))) - 1;
                lp[i] = geo_mb_leafp(db->mb_leaves, m, leaf);
                __builtin_prefetch(lp[i]);
                st[i] = LEAF_INDEX;
            }
        }
        nwalking = still;
    }
    for (unsigned i = 0; i < n; i++) {
        geo_req_t *r = reqs[i];
        if (st[i] == WORLD) {
            answer_world(&r->ans);
            continue;
        }
        if (st[i] == LEAF_INDEX)
            e[i] = mb_leaf(*lp[i], depth[i]);
        if (st[i] != SLOW && leaf_depth(e[i]) <= k[i].prefix) {
            answer(db, e[i], leaf_depth(e[i]), k[i].scope_add, &r->ans);
        } else {
            /* The walks shifted hi: the key again, for the binary trie. */
            key_of(r->family, r->addr, r->prefix, &k[i]);
            lookup_binary(db, &k[i], &r->ans);
        }
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
