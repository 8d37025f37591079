/* flatten.c -- geo_db_load(): turn a MaxMind DB into the immutable trie of geo_internal.h.
 *
 * DESIGN.  One depth-first walk over the MMDB search tree.  Each MMDB node
 * becomes one of our nodes, built children first, so that:
 *   - a data record becomes a leaf ref holding (country, continent), decoded
 *     once per distinct data offset (a country db has a few hundred);
 *   - two equal sibling leaves collapse into their parent (merging), so a
 *     leaf sits at the shortest prefix that has a single answer;
 *   - identical nodes are shared (hash-consing on the child pair): country
 *     data repeats the same small shapes over and over; on the full 7.8 MB
 *     dbs this takes 1.31 M nodes (11.7 MiB) down to 0.44 M (4.3 MiB),
 *     where merging alone saves almost nothing (the MMDB writer merged);
 *   - MMDB nodes reached twice (the IPv4 subtree aliased at ::ffff:0:0/96,
 *     2002::/16, 2001::/32) are converted once (memo by node number).
 * The RFC 6890 special-purpose blocks ("pins") are applied during the same
 * walk: only nodes on the path to a pin are handled specially (never memoised,
 * since their result depends on where they sit); everything else goes
 * through the plain, memoised conversion.  The IPv4 trie is built first from
 * the db's IPv4 start node (::/96 in an IPv6 db) and pinned at ::/96 and
 * ::ffff:0:0/96 of the IPv6 trie, so mapped addresses answer as IPv4 even
 * when a db's alias says otherwise.
 *
 * Finally the nodes are renumbered in depth-first order (relayout) and the
 * two 2^16-entry stride tables are filled.
 *
 * Robustness: every node number and record goes through libmaxminddb's
 * bounds checks; a walk deeper than the address (a cycle in a corrupt tree)
 * is an error; the first error stops the build and the db is refused. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h> /* malloc_trim */
#endif

#include "dnsd/base/alloc.h"
#include "geo/geo_internal.h"

#define MEMO_NONE UINT32_MAX
#define WORLD_LEAF (GEO_LEAF | AREA_WORLD)

typedef __uint128_t bits128;

/* A block whose whole subtree answers one fixed ref: a special-purpose
 * block (AREA_WORLD) or the IPv4 trie grafted into the IPv6 one.  net is
 * left-aligned in 128 bits for both families. */
typedef struct {
    bits128 net;
    unsigned len;
    uint32_t ref;
} pin_t;

/* What a conversion starts from: an MMDB record, or a ref already made
 * (a leaf that must be split to reach a pin). */
typedef struct {
    bool is_ref;
    geo_rec_t rec;
    uint32_t ref;
} src_t;

typedef struct {
    geo_mmdb_t *m;
    const char *path;
    errs_t *errs;
    bool failed;
    unsigned maxbits;           /* address bits of the trie being built */
    uint32_t *memo;             /* MMDB node number -> ref, or MEMO_NONE */
    uint32_t mmdb_nodes;

    geo_node_t *nodes;
    uint8_t *summary;
    size_t n, cap;

    uint32_t *cons;             /* hash-consing: open addressing, node index + 1 */
    size_t cons_cap;

    uint32_t *off_key, *off_val; /* data offset + 1 -> leaf ref */
    size_t off_cap, off_n;
    size_t geo_records;         /* distinct records with country/continent data */
    bool seen_leaf[AREA_COUNT][CODES_NCONTINENTS + 1];
    unsigned answers;
} builder_t;

static void fail(builder_t *b)
{
    b->failed = true;
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static inline uint8_t ref_continent(const builder_t *b, uint32_t ref)
{
    return ref & GEO_LEAF ? (uint8_t)geo_leaf_continent(ref) : b->summary[ref];
}

static void cons_insert(builder_t *b, uint32_t idx)
{
    const geo_node_t *nd = &b->nodes[idx];
    size_t mask = b->cons_cap - 1;
    size_t h = mix64((uint64_t)nd->child[0] << 32 | nd->child[1]) & mask;
    while (b->cons[h])
        h = (h + 1) & mask;
    b->cons[h] = idx + 1;
}

/* Node with children l and r: a merged leaf when both are the same leaf, an
 * existing identical node when there is one, else a new node. */
static uint32_t make_node(builder_t *b, uint32_t l, uint32_t r)
{
    if (l == r && (l & GEO_LEAF))
        return l;
    size_t mask = b->cons_cap - 1;
    size_t h = mix64((uint64_t)l << 32 | r) & mask;
    for (uint32_t v; (v = b->cons[h]) != 0; h = (h + 1) & mask)
        if (b->nodes[v - 1].child[0] == l && b->nodes[v - 1].child[1] == r)
            return v - 1;
    if (b->n >= GEO_MAX_NODES - 1) {
        errs_add(b->errs, b->path, 0, "too many nodes");
        fail(b);
        return WORLD_LEAF;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 1024;
        b->nodes = xreallocarray(b->nodes, b->cap, sizeof(*b->nodes));
        b->summary = xreallocarray(b->summary, b->cap, 1);
    }
    uint32_t idx = (uint32_t)b->n++;
    b->nodes[idx] = (geo_node_t){ { l, r } };
    uint8_t cl = ref_continent(b, l), cr = ref_continent(b, r);
    b->summary[idx] = cl == cr ? cl : AREA_WORLD;
    /* Keep the hash table at most half full. */
    if (b->n * 2 > b->cons_cap) {
        free(b->cons);
        b->cons_cap *= 2;
        b->cons = xcalloc(b->cons_cap, sizeof(*b->cons));
        for (size_t i = 0; i < b->n; i++)
            cons_insert(b, (uint32_t)i);
    } else {
        b->cons[h] = idx + 1;
    }
    return idx;
}

static uint32_t leaf_of_data(builder_t *b, uint32_t offset)
{
    size_t mask = b->off_cap - 1;
    size_t h = mix64(offset) & mask;
    for (uint32_t k; (k = b->off_key[h]) != 0; h = (h + 1) & mask)
        if (k == offset + 1)
            return b->off_val[h];
    area_t country, continent;
    int r = geo_mmdb_decode(b->m, offset, &country, &continent, b->errs);
    if (r < 0) {
        fail(b);
        return WORLD_LEAF;
    }
    b->geo_records += (size_t)r;
    uint32_t ref = geo_leaf(country, continent);
    if (!b->seen_leaf[country][continent]) {
        b->seen_leaf[country][continent] = true;
        b->answers++;
    }
    b->off_key[h] = offset + 1;
    b->off_val[h] = ref;
    if (++b->off_n * 2 > b->off_cap) {
        uint32_t *ok = b->off_key, *ov = b->off_val;
        size_t oc = b->off_cap;
        b->off_cap *= 2;
        b->off_key = xcalloc(b->off_cap, sizeof(uint32_t));
        b->off_val = xcalloc(b->off_cap, sizeof(uint32_t));
        mask = b->off_cap - 1;
        for (size_t i = 0; i < oc; i++) {
            if (!ok[i])
                continue;
            size_t j = mix64(ok[i] - 1) & mask;
            while (b->off_key[j])
                j = (j + 1) & mask;
            b->off_key[j] = ok[i];
            b->off_val[j] = ov[i];
        }
        free(ok);
        free(ov);
    }
    return ref;
}

static uint32_t conv_node(builder_t *b, uint32_t node, unsigned depth);

static uint32_t conv_rec(builder_t *b, const geo_rec_t *rec, unsigned depth)
{
    switch (rec->kind) {
    case GEO_REC_NODE:
        return conv_node(b, rec->value, depth);
    case GEO_REC_DATA:
        return leaf_of_data(b, rec->value);
    default:
        return WORLD_LEAF;
    }
}

/* Plain conversion of an MMDB node at depth (bits consumed to reach it). */
static uint32_t conv_node(builder_t *b, uint32_t node, unsigned depth)
{
    if (b->failed)
        return WORLD_LEAF;
    if (node < b->mmdb_nodes && b->memo[node] != MEMO_NONE)
        return b->memo[node];
    if (depth >= b->maxbits) {
        errs_add(b->errs, b->path, 0, "corrupt search tree: deeper than %u bits (a cycle?)",
                 b->maxbits);
        fail(b);
        return WORLD_LEAF;
    }
    geo_rec_t rec[2];
    if (!geo_mmdb_read_node(b->m, node, rec, b->errs)) {
        fail(b);
        return WORLD_LEAF;
    }
    uint32_t l = conv_rec(b, &rec[0], depth + 1);
    uint32_t r = conv_rec(b, &rec[1], depth + 1);
    if (b->failed)
        return WORLD_LEAF;
    uint32_t ref = make_node(b, l, r);
    b->memo[node] = ref;
    return ref;
}

static bool prefix_eq(bits128 a, bits128 b, unsigned len)
{
    if (len == 0)
        return true;
    bits128 mask = ~(bits128)0 << (128 - len);
    return ((a ^ b) & mask) == 0;
}

/* Conversion of src sitting at path/depth, honouring the pins. */
static uint32_t conv_pinned(builder_t *b, src_t src, unsigned depth, bits128 path,
                            const pin_t *pins, size_t npins)
{
    bool on_path = false;
    for (size_t i = 0; i < npins; i++) {
        if (pins[i].len <= depth && prefix_eq(path, pins[i].net, pins[i].len))
            return pins[i].ref;
        if (pins[i].len > depth && prefix_eq(path, pins[i].net, depth))
            on_path = true;
    }
    if (!on_path)
        return src.is_ref ? src.ref : conv_rec(b, &src.rec, depth);
    if (b->failed)
        return WORLD_LEAF;

    src_t child[2] = { src, src };
    if (!src.is_ref && src.rec.kind == GEO_REC_NODE) {
        if (depth >= b->maxbits) {
            errs_add(b->errs, b->path, 0, "corrupt search tree: deeper than %u bits", b->maxbits);
            fail(b);
            return WORLD_LEAF;
        }
        geo_rec_t rec[2];
        if (!geo_mmdb_read_node(b->m, src.rec.value, rec, b->errs)) {
            fail(b);
            return WORLD_LEAF;
        }
        child[0].rec = rec[0];
        child[1].rec = rec[1];
    } else if (!src.is_ref) {
        /* A leaf covering a pin: split it down to the pin. */
        uint32_t leaf = conv_rec(b, &src.rec, depth);
        child[0] = child[1] = (src_t){ .is_ref = true, .ref = leaf };
    }
    uint32_t l = conv_pinned(b, child[0], depth + 1, path, pins, npins);
    uint32_t r = conv_pinned(b, child[1], depth + 1, path | (bits128)1 << (127 - depth), pins,
                             npins);
    return b->failed ? WORLD_LEAF : make_node(b, l, r);
}

/* RFC 6890 special-purpose blocks (and RFC 5737 documentation, RFC 6598
 * shared space) that must answer the world whatever the db says. */
static const struct { uint8_t a[4]; unsigned len; } special4[] = {
    { { 0, 0, 0, 0 }, 8 },        { { 10, 0, 0, 0 }, 8 },     { { 100, 64, 0, 0 }, 10 },
    { { 127, 0, 0, 0 }, 8 },      { { 169, 254, 0, 0 }, 16 }, { { 172, 16, 0, 0 }, 12 },
    { { 192, 0, 0, 0 }, 24 },     { { 192, 0, 2, 0 }, 24 },   { { 192, 168, 0, 0 }, 16 },
    { { 198, 18, 0, 0 }, 15 },    { { 198, 51, 100, 0 }, 24 }, { { 203, 0, 113, 0 }, 24 },
    { { 224, 0, 0, 0 }, 4 },      { { 240, 0, 0, 0 }, 4 },
};
static const struct { uint16_t w[8]; unsigned len; } special6[] = {
    { { 0 }, 128 },                                   /* ::/128 unspecified */
    { { 0, 0, 0, 0, 0, 0, 0, 1 }, 128 },              /* ::1/128 loopback */
    { { 0x0100 }, 64 },                               /* discard-only */
    { { 0x2001, 0x0db8 }, 32 },                       /* documentation */
    { { 0xfc00 }, 7 },                                /* unique local */
    { { 0xfe80 }, 10 },                               /* link-local */
    { { 0xff00 }, 8 },                                /* multicast */
};

static size_t pins4(pin_t *p)
{
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_LEN(special4); i++) {
        const uint8_t *a = special4[i].a;
        uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
        p[n++] = (pin_t){ (bits128)v << 96, special4[i].len, WORLD_LEAF };
    }
    return n;
}

static size_t pins6(pin_t *p, uint32_t v4ref)
{
    size_t n = 0;
    /* The IPv4 grafts come first: ::/128 and ::1/128 lie inside ::/96 and
     * are already world there (0.0.0.0/8). */
    p[n++] = (pin_t){ 0, 96, v4ref };
    p[n++] = (pin_t){ (bits128)0xffff << 32, 96, v4ref };
    for (size_t i = 0; i < ARRAY_LEN(special6); i++) {
        bits128 net = 0;
        for (unsigned j = 0; j < 8; j++)
            net = net << 16 | special6[i].w[j];
        p[n++] = (pin_t){ net, special6[i].len, WORLD_LEAF };
    }
    return n;
}

/* The multibit nodes and their leaves, while they are built. */
typedef struct {
    geo_mb_t *v;
    size_t n, cap;
    uint16_t *leaves;
    size_t nl, lcap;
    uint32_t graft;             /* the IPv4 root, not copied into the IPv6 side */
    unsigned maxdepth;          /* no inner node at or below this depth */
} mb_build_t;

static uint32_t mb_alloc(mb_build_t *m, size_t count)
{
    if (m->n + count > m->cap) {
        m->cap = (m->n + count) * 2;
        m->v = xreallocarray(m->v, m->cap, sizeof(*m->v));
    }
    uint32_t first = (uint32_t)m->n;
    m->n += count;
    return first;
}

static uint32_t mb_leaf_append(mb_build_t *m, const uint16_t *leaves, size_t count)
{
    if (m->nl + count > m->lcap) {
        m->lcap = (m->nl + count) * 2;
        m->leaves = xreallocarray(m->leaves, m->lcap, sizeof(*m->leaves));
    }
    uint32_t first = (uint32_t)m->nl;
    memcpy(m->leaves + m->nl, leaves, count * sizeof(*leaves));
    m->nl += count;
    return first;
}

/* The 2^GEO_MB_BITS children of one multibit node, while it is made. */
typedef struct {
    uint32_t ref[1u << GEO_MB_BITS];    /* what each position reaches */
    uint8_t below[1u << GEO_MB_BITS];   /* bits walked to reach it */
} mb_kids_t;

/* Walk the binary subtree of ref once, k bits below the node, filling the
 * positions whose first k bits are idx. */
static void mb_expand(const builder_t *b, const mb_build_t *m, mb_kids_t *o, uint32_t ref, unsigned k,
                      unsigned idx)
{
    if (k == GEO_MB_BITS || (ref & GEO_LEAF) || ref == m->graft) {
        unsigned first = idx << (GEO_MB_BITS - k), count = 1u << (GEO_MB_BITS - k);
        for (unsigned i = 0; i < count; i++) {
            o->ref[first + i] = ref;
            o->below[first + i] = (uint8_t)k;
        }
        return;
    }
    mb_expand(b, m, o, b->nodes[ref].child[0], k + 1, idx << 1);
    mb_expand(b, m, o, b->nodes[ref].child[1], k + 1, idx << 1 | 1);
}

/* Fill m->v[slot] with the multibit node for binary node ref at depth. */
static void mb_fill(const builder_t *b, mb_build_t *m, uint32_t slot, uint32_t ref, unsigned depth)
{
    mb_kids_t o;
    uint32_t kids[1u << GEO_MB_BITS];
    uint16_t leaves[1u << GEO_MB_BITS];
    unsigned nkids = 0, nleaves = 0;
    uint64_t inner = 0, runs = 0;
    mb_expand(b, m, &o, ref, 0, 0);
    for (unsigned i = 0; i < 1u << GEO_MB_BITS; i++) {
        uint32_t r = o.ref[i];
        uint16_t e = GEO_MB_SLOW_LEAF;
        if (r & GEO_LEAF) {
            /* ref is a node, so the leaf is 1..GEO_MB_BITS bits below:
             * e is never GEO_MB_SLOW_LEAF. */
            e = (uint16_t)((r & GEO_MB_KEY) << 3 | o.below[i]);
        } else if (r != m->graft && depth + o.below[i] < m->maxdepth) {
            inner |= 1ull << i;
            kids[nkids++] = r;
            continue;
        }
        if (!nleaves || leaves[nleaves - 1] != e) {
            runs |= 1ull << i;
            leaves[nleaves++] = e;
        }
    }
    uint32_t child0 = nkids ? mb_alloc(m, nkids) : 0;
    /* The first GEO_MB_INLINE leaves in the node, the rest in mb_leaves
     * (see geo_mb_t). */
    uint32_t leaf0 = 0;
    if (nleaves > GEO_MB_INLINE)
        leaf0 = mb_leaf_append(m, leaves + GEO_MB_INLINE, nleaves - GEO_MB_INLINE) - GEO_MB_INLINE;
    geo_mb_t *v = &m->v[slot];
    *v = (geo_mb_t){ .inner = inner, .runs = runs, .child0 = child0, .leaf0 = leaf0 };
    for (unsigned i = 0; i < nleaves && i < GEO_MB_INLINE; i++)
        v->inl[i] = leaves[i];
    for (unsigned j = 0; j < nkids; j++)
        mb_fill(b, m, child0 + j, kids[j], depth + GEO_MB_BITS);
}

/* Fill the 2^16 stride table below ref (at depth, covering table index idx
 * shifted to depth bits): leaves with their depth, multibit nodes for the
 * subtrees that go on below the stride. */
static void fill_stride(const builder_t *b, mb_build_t *m, uint32_t *tab, uint32_t ref,
                        unsigned depth, uint32_t idx)
{
    if ((ref & GEO_LEAF) || ref == m->graft || depth == GEO_STRIDE_BITS) {
        uint32_t e;
        if (ref & GEO_LEAF) {
            e = ref | depth << GEO_LEAF_DEPTH_SHIFT;
        } else if (ref == m->graft) {
            e = GEO_MB_SLOW;
        } else {
            e = mb_alloc(m, 1);
            mb_fill(b, m, e, ref, depth);
        }
        uint32_t first = idx << (GEO_STRIDE_BITS - depth), count = 1u << (GEO_STRIDE_BITS - depth);
        for (uint32_t i = 0; i < count; i++)
            tab[first + i] = e;
        return;
    }
    fill_stride(b, m, tab, b->nodes[ref].child[0], depth + 1, idx << 1);
    fill_stride(b, m, tab, b->nodes[ref].child[1], depth + 1, idx << 1 | 1);
}

/* Renumber the nodes in depth-first pre-order from the roots, so a node's
 * left child usually sits next to it (often in the same 64-byte line) and
 * a subtree's nodes are near each other, instead of the post-order in which
 * they were made.  Shared nodes keep one copy, placed at first visit. */
static void relayout(builder_t *b, uint32_t *roots, size_t nroots)
{
    uint32_t *newidx = xmalloc(b->n * sizeof(uint32_t));
    memset(newidx, 0xff, b->n * sizeof(uint32_t));
    uint32_t *order = xmalloc(b->n * sizeof(uint32_t));
    /* Explicit stack: the trie can be 128 deep, but each node pushes at
     * most two, so n + 1 slots are always enough. */
    uint32_t *stack = xmalloc((b->n + 1) * sizeof(uint32_t));
    uint32_t next = 0;
    for (size_t r = 0; r < nroots; r++) {
        size_t sp = 0;
        if (!(roots[r] & GEO_LEAF))
            stack[sp++] = roots[r];
        while (sp) {
            uint32_t x = stack[--sp];
            if (newidx[x] != MEMO_NONE)
                continue;
            newidx[x] = next;
            order[next++] = x;
            for (int c = 1; c >= 0; c--) {
                uint32_t ch = b->nodes[x].child[c];
                if (!(ch & GEO_LEAF) && newidx[ch] == MEMO_NONE)
                    stack[sp++] = ch;
            }
        }
    }
    /* Every node is reachable from a root (nodes are only made for a
     * parent), but keep any stragglers rather than trust that. */
    for (uint32_t x = 0; x < b->n; x++)
        if (newidx[x] == MEMO_NONE) {
            newidx[x] = next;
            order[next++] = x;
        }
    geo_node_t *nodes = xmalloc(b->n * sizeof(*nodes));
    uint8_t *summary = xmalloc(b->n);
    for (uint32_t i = 0; i < b->n; i++) {
        const geo_node_t *o = &b->nodes[order[i]];
        for (int c = 0; c < 2; c++)
            nodes[i].child[c] = o->child[c] & GEO_LEAF ? o->child[c] : newidx[o->child[c]];
        summary[i] = b->summary[order[i]];
    }
    for (size_t r = 0; r < nroots; r++)
        if (!(roots[r] & GEO_LEAF))
            roots[r] = newidx[roots[r]];
    free(b->nodes);
    free(b->summary);
    b->nodes = nodes;
    b->summary = summary;
    b->cap = b->n;
    free(newidx);
    free(order);
    free(stack);
}

/* Networks (leaves) below ref, counting a shared subtree at every place it
 * appears, except the subtree skip (the IPv4 trie inside the IPv6 one). */
static uint64_t count_networks(const builder_t *b, uint32_t ref, uint64_t *memo, uint32_t skip)
{
    if (ref & GEO_LEAF)
        return 1;
    if (ref == skip)
        return 0;
    if (memo[ref])
        return memo[ref];
    uint64_t n = count_networks(b, b->nodes[ref].child[0], memo, skip) +
                 count_networks(b, b->nodes[ref].child[1], memo, skip);
    return memo[ref] = n;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void builder_free(builder_t *b)
{
    free(b->memo);
    free(b->nodes);
    free(b->summary);
    free(b->cons);
    free(b->off_key);
    free(b->off_val);
    free(b);
}

geo_db_t *geo_db_load(const char *path, errs_t *errs)
{
    double t0 = now_ms();
    geo_mmdb_t *m = geo_mmdb_open(path, errs);
    if (!m)
        return NULL;

    builder_t *b = xcalloc(1, sizeof(*b));
    b->m = m;
    b->path = path;
    b->errs = errs;
    b->mmdb_nodes = geo_mmdb_node_count(m);
    b->memo = xmalloc((size_t)b->mmdb_nodes * sizeof(uint32_t));
    memset(b->memo, 0xff, (size_t)b->mmdb_nodes * sizeof(uint32_t));
    b->cons_cap = 1024;
    b->cons = xcalloc(b->cons_cap, sizeof(*b->cons));
    b->off_cap = 256;
    b->off_key = xcalloc(b->off_cap, sizeof(uint32_t));
    b->off_val = xcalloc(b->off_cap, sizeof(uint32_t));

    pin_t pins[32];
    size_t npins;
    uint32_t root4, root6;
    src_t root = { .rec = { GEO_REC_NODE, 0 } };
    unsigned ipv = geo_mmdb_ip_version(m);

    if (ipv == 6) {
        /* The IPv4 start node: 96 zero bits down from the root, or the
         * record that ends that path early. */
        src_t v4 = root;
        for (unsigned d = 0; d < 96 && !v4.is_ref && v4.rec.kind == GEO_REC_NODE; d++) {
            geo_rec_t rec[2];
            if (!geo_mmdb_read_node(m, v4.rec.value, rec, b->errs)) {
                fail(b);
                break;
            }
            v4.rec = rec[0];
        }
        b->maxbits = 32;
        npins = pins4(pins);
        root4 = b->failed ? WORLD_LEAF : conv_pinned(b, v4, 0, 0, pins, npins);
        /* Other aliases of the IPv4 subtree (6to4, Teredo) reuse it. */
        if (!b->failed && v4.rec.kind == GEO_REC_NODE && v4.rec.value < b->mmdb_nodes)
            b->memo[v4.rec.value] = root4;
        b->maxbits = 128;
        npins = pins6(pins, root4);
        root6 = conv_pinned(b, root, 0, 0, pins, npins);
    } else {
        b->maxbits = 32;
        npins = pins4(pins);
        root4 = conv_pinned(b, root, 0, 0, pins, npins);
        /* No IPv6 data: the IPv6 trie is the world plus the IPv4 grafts. */
        b->maxbits = 128;
        npins = pins6(pins, root4);
        src_t world = { .is_ref = true, .ref = WORLD_LEAF };
        root6 = conv_pinned(b, world, 0, 0, pins, npins);
    }
    if (!b->failed && b->geo_records == 0) {
        errs_add(errs, path, 0,
                 "no country data: no record has country.iso_code, registered_country.iso_code, "
                 "country_code or continent.code (not a country database?)");
        fail(b);
    }
    if (b->failed) {
        builder_free(b);
        geo_mmdb_close(m);
        return NULL;
    }
    geo_db_t *db = xcalloc(1, sizeof(*db));
    geo_mmdb_type(m, db->type, sizeof(db->type));
    db->ip_version = ipv;
    geo_mmdb_close(m);

    /* The conversion's tables are done with; free them before the layout
     * pass allocates its own, to keep the load's peak memory down. */
    free(b->memo);
    free(b->cons);
    free(b->off_key);
    free(b->off_val);
    b->memo = b->cons = b->off_key = b->off_val = NULL;

    /* Lay out for the walk; this also trims the arrays to size. */
    uint32_t roots[2] = { root4, root6 };
    relayout(b, roots, 2);
    root4 = roots[0];
    root6 = roots[1];
    size_t nn = b->n;
    uint32_t *stride = xmalloc(2 * GEO_STRIDE_SIZE * sizeof(uint32_t));
    /* No IPv4 leaf is deeper than 32 bits, so the IPv4 side needs no limit. */
    mb_build_t *mb = xcalloc(1, sizeof(*mb));
    mb->graft = GEO_LEAF;
    mb->maxdepth = 33;
    /* mb_leaves' first GEO_MB_INLINE entries are never read (geo_mb_t). */
    static const uint16_t unused[GEO_MB_INLINE];
    mb_leaf_append(mb, unused, GEO_MB_INLINE);
    fill_stride(b, mb, stride, root4, 0, 0);
    mb->graft = root4;
    mb->maxdepth = GEO_MB_MAX6;
    fill_stride(b, mb, stride + GEO_STRIDE_SIZE, root6, 0, 0);

    uint64_t *cmemo = xcalloc(nn, sizeof(uint64_t));
    db->networks[0] = count_networks(b, root4, cmemo, GEO_LEAF);
    memset(cmemo, 0, nn * sizeof(uint64_t));
    db->networks[1] = count_networks(b, root6, cmemo, root4);
    free(cmemo);

    /* Everything a lookup reads goes into one block of huge pages (a
     * lookup touches a few random places in megabytes of tables: with 4 KiB
     * pages each is a TLB miss), the stride tables and multibit nodes
     * first, each part on a 64-byte boundary.  Nodes are 32 bytes, their
     * first leaves in the same line as the bits the walk reads.  (Nodes of
     * 24 bytes padded to 32 with nothing in the padding measured no faster:
     * share of dnsd's CPU in user space under the ECS bench load 9.78%
     * either way.  With leaves in the padding, nodes and leaves together
     * take about what they took before, 7.8 against 7.5 MB for the bench's
     * db, and lookups after an idle wait are faster: see the README.) */
    size_t off_stride = 0, sz_stride = 2 * GEO_STRIDE_SIZE * sizeof(uint32_t);
    size_t off_snodes = off_stride + sz_stride, sz_snodes = 2 * GEO_STRIDE_SIZE * sizeof(geo_mb_t);
    size_t off_mb = off_snodes + sz_snodes, sz_mb = mb->n * sizeof(geo_mb_t);
    size_t off_leaves = (off_mb + sz_mb + 63) / 64 * 64, sz_leaves = mb->nl * sizeof(uint16_t);
    size_t off_nodes = (off_leaves + sz_leaves + 63) / 64 * 64, sz_nodes = nn * sizeof(geo_node_t);
    size_t off_summary = off_nodes + sz_nodes;
    size_t total = off_summary + nn;
    uint8_t *arena = xhuge_alloc(total, &db->arena_size);
    memcpy(arena + off_stride, stride, sz_stride);
    geo_mb_t *snodes = (geo_mb_t *)(arena + off_snodes);
    for (size_t i = 0; i < 2 * GEO_STRIDE_SIZE; i++)
        if (!(stride[i] & GEO_LEAF))
            snodes[i] = mb->v[stride[i]];
    if (sz_mb)
        memcpy(arena + off_mb, mb->v, sz_mb);
    if (sz_leaves)
        memcpy(arena + off_leaves, mb->leaves, sz_leaves);
    memcpy(arena + off_nodes, b->nodes, sz_nodes);
    memcpy(arena + off_summary, b->summary, nn);
    free(stride);
    free(mb->v);
    free(mb->leaves);

    db->arena = arena;
    db->stride[0] = (const uint32_t *)(arena + off_stride);
    db->stride[1] = db->stride[0] + GEO_STRIDE_SIZE;
    db->snodes[0] = (const geo_mb_t *)(arena + off_snodes);
    db->snodes[1] = db->snodes[0] + GEO_STRIDE_SIZE;
    db->mb = (const geo_mb_t *)(arena + off_mb);
    db->mb_leaves = (const uint16_t *)(arena + off_leaves);
    db->nodes = (const geo_node_t *)(arena + off_nodes);
    db->summary = arena + off_summary;
    db->root[0] = root4;
    db->root[1] = root6;
    db->nmb = mb->n;
    db->nmb_leaves = mb->nl;
    free(mb);
    db->nnodes = nn;
    db->answers = b->answers;
    db->bytes = sizeof(*db) + total;
    builder_free(b);
    /* The conversion's tables (tens of MB for a full db) are freed, but
     * glibc keeps freed heap memory mapped; give it back. */
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    db->load_ms = now_ms() - t0;
    return db;
}

bool geo_addr_is_special(int family, const uint8_t *addr)
{
    pin_t pins[32];
    size_t n;
    bits128 a = 0;
    if (family == 4) {
        for (unsigned i = 0; i < 4; i++)
            a = a << 8 | addr[i];
        a <<= 96;
        n = pins4(pins);
    } else {
        for (unsigned i = 0; i < 16; i++)
            a = a << 8 | addr[i];
        if (a >> 32 == 0xffff || a >> 32 == 0)   /* mapped or compatible */
            return geo_addr_is_special(4, addr + 12);
        n = pins6(pins, WORLD_LEAF);
    }
    for (size_t i = 0; i < n; i++)
        if (prefix_eq(a, pins[i].net, pins[i].len))
            return true;
    return false;
}
