/* geo_internal.h -- private to geo/: the flattened lookup structure, and the
 * narrow interface through which flatten.c reads a MaxMind DB (mmdb.c).
 *
 * DESIGN.  geo_db_load() (flatten.c) walks the MMDB search tree once and
 * rebuilds it as our own binary trie whose leaves carry the answer itself
 * (country area + continent area), never a pointer into the MMDB data:
 *
 *   ref (uint32_t)   bit 31 clear: index of a geo_node_t in db->nodes
 *                    bit 31 set:   a leaf; bits 0..8 country area, bits 9..11
 *                                  continent area, bits 16..23 the depth of
 *                                  the leaf (only in the stride tables; in
 *                                  the trie the walk counts depth itself)
 *
 *   stride[fam][top 16 bits]  -> ref of the trie at depth 16, or a leaf met
 *                                above it (with its depth, for the scope)
 *   nodes[i].child[bit]       -> ref one bit deeper
 *   summary[i]                -> the continent every leaf below node i shares,
 *                                or AREA_WORLD; answers a prefix that ends
 *                                inside a mixed subtree
 *
 * Equal sibling leaves are merged while building (so a leaf's depth is the
 * shortest prefix with one answer), and identical nodes are shared
 * (hash-consing), so the trie is a DAG; the walk does not care.  IPv4 has
 * its own root; the IPv6 trie points at the same IPv4 subtree under ::/96
 * and ::ffff:0:0/96 (and wherever the MMDB aliases it: 6to4, Teredo). */
#ifndef POOLDNS_GEO_INTERNAL_H
#define POOLDNS_GEO_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dnsd/base/errs.h"
#include "geo/codes.h"
#include "geo/geo.h"

#define GEO_LEAF                0x80000000u
#define GEO_LEAF_COUNTRY_MASK   0x1ffu
#define GEO_LEAF_CONT_SHIFT     9
#define GEO_LEAF_CONT_MASK      0x7u
#define GEO_LEAF_DEPTH_SHIFT    16
#define GEO_LEAF_DEPTH_MASK     0xffu
/* Largest node index a ref can hold. */
#define GEO_MAX_NODES           GEO_LEAF

_Static_assert(AREA_COUNT <= GEO_LEAF_COUNTRY_MASK + 1, "country area must fit a leaf ref");
_Static_assert(CODES_NCONTINENTS <= GEO_LEAF_CONT_MASK, "continent area must fit a leaf ref");

/* First-level stride: the top GEO_STRIDE_BITS bits of an address index a
 * table that jumps straight to depth 16 of the trie.  IPv4 is almost all
 * allocated in /16s and longer, so this removes 16 of the ~20-24 dependent
 * loads of a binary walk for the common /32 and /24 lookups, for 256 KiB
 * per family (2^16 four-byte refs).  A wider stride (20: 4 MiB, 24: 64 MiB)
 * would cost more memory than the whole trie for a few more saved steps;
 * see the measurements in tools/geo-probe.c. */
#define GEO_STRIDE_BITS         16
#define GEO_STRIDE_SIZE         (1u << GEO_STRIDE_BITS)

static inline uint32_t geo_leaf(area_t country, area_t continent)
{
    return GEO_LEAF | country | (uint32_t)continent << GEO_LEAF_CONT_SHIFT;
}
static inline area_t geo_leaf_country(uint32_t ref)
{
    return (area_t)(ref & GEO_LEAF_COUNTRY_MASK);
}
static inline area_t geo_leaf_continent(uint32_t ref)
{
    return (area_t)(ref >> GEO_LEAF_CONT_SHIFT & GEO_LEAF_CONT_MASK);
}

typedef struct {
    uint32_t child[2];
} geo_node_t;

/* Below the stride, the fast path walks multibit nodes of GEO_MB_BITS
 * address bits each, compressed with bitmaps and popcount (the "poptrie"
 * layout of Asai and Ohara, SIGCOMM 2015).  Child i (the next 6 address
 * bits, most significant first) is either an inner node, when bit i of
 * inner is set: mb[child0 + popcount(inner below bit i)]; or a leaf: runs
 * has a bit at each leaf position whose leaf differs from the previous
 * leaf position's, so the leaf is number j = popcount(runs up to and
 * including bit i) - 1 of the node's leaves.  The first GEO_MB_INLINE of
 * them are kept in the node itself (inl[j]), the rest in mb_leaves[leaf0 +
 * j]: most lookups end on one of the first few, and then the line the walk
 * has just read holds the leaf too.  A leaf takes 16 bits, so that the whole structure
 * stays small enough for the caches: the leaf ref's GEO_MB_KEY bits
 * (country and continent) << 3 | k, the leaf being found k (1..6) bits
 * below the node; or 0, GEO_MB_SLOW_LEAF, which sends the lookup to the
 * binary trie: used past GEO_MB_MAX6 bits in IPv6 and where the IPv4 trie
 * is grafted into the IPv6 one, which the fast path would otherwise copy.  In the stride
 * tables a leaf is a leaf ref with its depth in the GEO_LEAF_DEPTH bits,
 * and GEO_MB_SLOW (depth 255, deeper than any prefix) plays that part. */
#define GEO_MB_BITS             6
#define GEO_MB_MAX6             64
#define GEO_MB_SLOW             (GEO_LEAF | 0xffu << GEO_LEAF_DEPTH_SHIFT)
#define GEO_MB_SLOW_LEAF        0
#define GEO_MB_KEY              (GEO_LEAF_COUNTRY_MASK | GEO_LEAF_CONT_MASK << GEO_LEAF_CONT_SHIFT)
_Static_assert(GEO_MB_KEY < 1u << 13, "a leaf's country and continent fit a 16-bit multibit leaf");
_Static_assert((GEO_MB_MAX6 - 16) % GEO_MB_BITS == 0,
               "IPv6 multibit nodes must end exactly at GEO_MB_MAX6 bits (one 64-bit word)");
_Static_assert(GEO_MB_BITS < 8, "k must fit 3 bits of a multibit leaf");

#define GEO_MB_INLINE           4
typedef struct {
    uint64_t inner;
    uint64_t runs;
    uint32_t child0;
    /* Leaf j >= GEO_MB_INLINE is mb_leaves[leaf0 + j].  mb_leaves starts
     * with GEO_MB_INLINE unused entries, so that leaf0 + j, for any j, stays
     * inside it: geo_mb_leafp() forms both addresses before it picks one. */
    uint32_t leaf0;
    uint16_t inl[GEO_MB_INLINE];        /* leaves 0..GEO_MB_INLINE-1 */
} geo_mb_t;
_Static_assert(sizeof(geo_mb_t) == 32, "a multibit node is half a cache line");
_Static_assert((GEO_MB_INLINE & (GEO_MB_INLINE - 1)) == 0, "GEO_MB_INLINE is a power of 2");

/* Where leaf j of node n is.  Both addresses are formed and one picked;
 * gcc makes a branch of the pick (an explicit mask instead measured no
 * faster: see the README). */
static inline const uint16_t *geo_mb_leafp(const uint16_t *mb_leaves, const geo_mb_t *n, uint32_t j)
{
    const uint16_t *in = &n->inl[j & (GEO_MB_INLINE - 1)];
    const uint16_t *out = &mb_leaves[n->leaf0 + j];
    return j < GEO_MB_INLINE ? in : out;
}

struct geo_db {
    /* [0] IPv4, [1] IPv6; GEO_STRIDE_SIZE entries each: a leaf ref with its
     * depth (GEO_MB_SLOW: take the binary trie), or an index into mb. */
    const uint32_t *stride[2];
    /* [0] IPv4, [1] IPv6; GEO_STRIDE_SIZE nodes each: where stride[f][i]
     * is an index into mb, a copy of that node (the rest zero).  The node
     * of a key is then found from the key alone, so a lookup asks for it
     * together with the stride entry instead of after it. */
    const geo_mb_t *snodes[2];
    const geo_mb_t *mb;
    const uint16_t *mb_leaves;
    const geo_node_t *nodes;
    const uint8_t *summary;     /* per node: shared continent or AREA_WORLD */
    uint32_t root[2];           /* [0] IPv4, [1] IPv6 */
    void *arena;                /* holds all the arrays above (xhuge_alloc) */
    size_t arena_size;
    /* For geo_db_describe() only. */
    size_t nnodes;
    size_t nmb, nmb_leaves;
    uint64_t networks[2];       /* leaves reachable from each root, as a tree */
    unsigned answers;           /* distinct (country, continent) leaves */
    unsigned ip_version;        /* of the MMDB file */
    size_t bytes;               /* heap held by this db */
    double load_ms;
    char type[48];              /* MMDB database_type, truncated */
};

/* geo_lookup() by the binary trie alone, without the stride table and the
 * multibit nodes: the reference the fast paths are checked against. */
void geo_lookup_binary(const geo_db_t *db, int family, const uint8_t *addr, unsigned prefix,
                       geo_answer_t *out);

/* True when a full address lies in one of the special-purpose blocks that
 * always answer the world (for tests and cross-checks; flatten.c). */
bool geo_addr_is_special(int family, const uint8_t *addr);

/* --- mmdb.c: the only file that includes <maxminddb.h> --- */

typedef struct geo_mmdb geo_mmdb_t;

enum { GEO_REC_NODE, GEO_REC_EMPTY, GEO_REC_DATA };

typedef struct {
    uint8_t kind;       /* GEO_REC_* */
    uint32_t value;     /* node number (NODE) or data section offset (DATA) */
} geo_rec_t;

/* Open path (mmap).  On failure adds "path: reason" to errs, returns NULL. */
geo_mmdb_t *geo_mmdb_open(const char *path, errs_t *errs);
void geo_mmdb_close(geo_mmdb_t *m);

unsigned geo_mmdb_ip_version(const geo_mmdb_t *m);
uint32_t geo_mmdb_node_count(const geo_mmdb_t *m);
/* database_type from the metadata ("" when absent), copied into buf. */
void geo_mmdb_type(const geo_mmdb_t *m, char *buf, size_t len);

/* Both records of a search-tree node.  Returns false (and adds an error)
 * when the node number or a record is out of range. */
bool geo_mmdb_read_node(geo_mmdb_t *m, uint32_t node, geo_rec_t rec[2], errs_t *errs);

/* Decode the data record at offset into a country and continent area.
 * Returns 1 when the record has country or continent data (even an unknown
 * code), 0 when it has none (an ASN record...), -1 when it is corrupt (an
 * error is added). */
int geo_mmdb_decode(geo_mmdb_t *m, uint32_t offset, area_t *country, area_t *continent,
                    errs_t *errs);

/* libmaxminddb's own answer for a full address, for cross-checks in tests
 * and tools/geo-probe: the decoded areas (AREA_WORLD when not found) and the
 * MMDB netmask in the family's bits.  Returns false on a lookup error. */
bool geo_mmdb_lookup_direct(geo_mmdb_t *m, int family, const uint8_t *addr, area_t *country,
                            area_t *continent, unsigned *netmask);

#endif
