/* pick.c -- weighted random choice of answer servers at query time.
 *
 * Systematic probability-proportional-to-size sampling: the table's servers
 * that are not in every answer lie along a line in one of a few pre-shuffled
 * orders, each occupying a length equal to its inclusion probability
 * (k * w / W, all < 1), the whole line k long.  One random start u in [0, 1)
 * and the points u, u+1, ..., u+k-1 each fall in exactly one server, and
 * never twice in the same one because no server is longer than 1.  So every
 * server is drawn with exactly its inclusion probability and the k drawn are
 * distinct.  (Repeated weighted draws without replacement would give heavy
 * servers less than their share.)  Cost per query: one random number, k
 * bucket lookups (a short scan where a bucket holds a boundary), and the
 * answer's order: one of the n! orders from a table for up to 4 answers,
 * else a shuffle. */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "weights/internal.h"

/* The draw's start u in [0, UNIT) and order o, from the random word r. */
static inline uint32_t draw_start(uint64_t r) { return (uint32_t)(r >> 37); }
static inline uint32_t draw_order(const wtable_t *t, uint64_t r)
{
    return (uint32_t)(((uint64_t)(uint32_t)r * t->norders) >> 32);
}

/* Every order of n <= 4 answers, n! of them from perm_first[n] in
 * perm_code: answer i comes from position (code >> 2i) & 3 of the draw. */
static const uint8_t perm_code[] = {
    0x00,                                           /* n = 0, 1 */
    0x04, 0x01,                                     /* n = 2 */
    0x24, 0x18, 0x21, 0x09, 0x12, 0x06,             /* n = 3 */
    0xe4, 0xb4, 0xd8, 0x78, 0x9c, 0x6c, 0xe1, 0xb1, /* n = 4 */
    0xc9, 0x39, 0x8d, 0x2d, 0xd2, 0x72, 0xc6, 0x36,
    0x4e, 0x1e, 0x93, 0x63, 0x87, 0x27, 0x4b, 0x1b,
};
static const uint8_t perm_first[5] = { 0, 0, 1, 3, 9 };
static const uint8_t perm_count[5] = { 1, 1, 2, 6, 24 };

/* The server at point p of order o, from the bucket entry e that holds a
 * boundary: a scan from its first slot (the last slot ends at k * UNIT >
 * p, ending the scan). */
static uint32_t scan_from(const wtable_t *t, uint32_t o, uint32_t p, uint32_t e)
{
    const wslot_t *x = t->slots + (size_t)o * t->nrest + (e & ~WSNAP_BUCKET_SCAN);
    while (x->end <= p)
        x++;
    return x->id;
}

/* Family-local ids of the servers for one answer, in the table's order
 * (the certain ones first); put in random order by order_small() or
 * order_any().  r is all the randomness the answer uses.  out has room for
 * DRAW_IDS_LEN: the usual draw writes WSNAP_BUCKET_PAD entries after the
 * certain ones, whatever k, and a table can have up to WSNAP_MAX_ANSWERS
 * certain servers (max-answers 16, a table of 16). */
#define DRAW_IDS_LEN (WSNAP_MAX_ANSWERS + WSNAP_BUCKET_PAD)
static F_INLINE unsigned draw_ids(const wtable_t *t, uint64_t r, uint32_t *out)
{
    unsigned n = t->ncertain;
    /* A fixed-size copy (certain has room for all, out too): a few moves,
     * where a loop would become a call to libc's memcpy.  Made whether or
     * not there is a certain server: a branch on it is a coin toss from
     * one query to the next. */
    memcpy(out, t->certain, WSNAP_MAX_ANSWERS * sizeof *out);
    uint32_t u = draw_start(r);
    uint32_t o = draw_order(t, r);
    const uint32_t k = t->k, shift = t->bshift;
    /* The k buckets of the draw are neighbours (see internal.h). */
    const uint32_t *bk = t->bucket + (size_t)o * t->nbuckets + (size_t)(u >> shift) * k;
    if (likely(k <= WSNAP_BUCKET_PAD)) {
        /* The usual answer: always WSNAP_BUCKET_PAD entries, those past k
         * read and written but not counted, so that no branch depends on
         * k, which changes from one query to the next (with the number of
         * certain servers).  Tables with k = 0 have a bucket array of
         * zeros for this. */
#if defined(__SSE2__) && WSNAP_BUCKET_PAD == 4
        /* The four entries in one move, and which of the first k hold a
         * boundary (their top bit) in one mask: one branch, rarely taken,
         * instead of one per entry. */
        __m128i v = _mm_loadu_si128((const __m128i *)bk);
        _mm_storeu_si128((__m128i *)(out + n), v);
        unsigned scan = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(v)) & ((1u << k) - 1);
        /* Over the set bits (usually one), not over k: a loop that ends
         * at k would end on a different count from one query to the next. */
        while (unlikely(scan)) {
            uint32_t j = (uint32_t)__builtin_ctz(scan);
            scan &= scan - 1;
            out[n + j] = scan_from(t, o, u + j * WSNAP_UNIT, bk[j]);
        }
#else
        for (uint32_t j = 0; j < WSNAP_BUCKET_PAD; j++) {
            uint32_t e = bk[j];
            if (unlikely((e >> 31) & (j < k)))
                e = scan_from(t, o, u + j * WSNAP_UNIT, e);
            out[n + j] = e;
        }
#endif
        return n + k;
    }
    for (uint32_t j = 0; j < k; j++) {
        uint32_t e = bk[j];
        if (e & WSNAP_BUCKET_SCAN)
            e = scan_from(t, o, u + j * WSNAP_UNIT, e);
        out[n + j] = e;
    }
    return n + k;
}

/* The order's bits come from r through a generator of their own,
 * independent of the draw's. */
static inline rng_t order_rng(uint64_t r) { return (rng_t){ r ^ 0x9e3779b97f4a7c15ull }; }
static inline uint64_t order_bits(uint64_t r)
{
    rng_t sh = order_rng(r);
    return rng_next(&sh);
}

/* The usual answer, n <= 4: one of the n! orders, picked with one multiply
 * from bits; answer i is draw (code >> 2i) & 3 (0 past n). */
static inline unsigned order_small(unsigned n, uint64_t bits)
{
    uint32_t idx = (uint32_t)(((bits & 0xffffffffu) * perm_count[n]) >> 32);
    return perm_code[perm_first[n] + idx];
}

/* Any n: Fisher-Yates, 16 bits per step. */
static void order_any(uint32_t *ids, unsigned n, uint64_t r)
{
    rng_t sh = order_rng(r);
    uint64_t bits = rng_next(&sh);
    unsigned left = 4;
    for (unsigned i = n; i > 1; i--) {
        if (!left) {
            bits = rng_next(&sh);
            left = 4;
        }
        uint32_t j = (uint32_t)(((bits & 0xffff) * i) >> 16);
        bits >>= 16;
        left--;
        uint32_t tmp = ids[i - 1];
        ids[i - 1] = ids[j];
        ids[j] = tmp;
    }
}

unsigned wtable_pick_servers(const wtable_t *t, rng_t *rng, uint32_t *out)
{
    uint64_t r = rng_next(rng);
    uint32_t id[DRAW_IDS_LEN];
    unsigned n = draw_ids(t, r, id);
    if (n - 1 < 4) {
        unsigned code = order_small(n, order_bits(r));
        for (unsigned i = 0; i < n; i++, code >>= 2)
            out[i] = t->orig[id[code & 3]];
        return n;
    }
    order_any(id, n, r);
    for (unsigned i = 0; i < n; i++)
        out[i] = t->orig[id[i]];
    return n;
}

unsigned wsnap_pick_r(const wsnap_t *s, const wtable_t *t, uint64_t r, const uint8_t **out)
{
    uint32_t id[DRAW_IDS_LEN];
    unsigned n = draw_ids(t, r, id);
    size_t rrlen = t->family == WSNAP_V4 ? WSNAP_RR_V4 : WSNAP_RR_V6;
    const uint8_t *rr = s->rr[t->family];
    if (likely(n - 1 < 4)) {
        /* 1 to 4 answers.  Four slots written whatever n: out has room for
         * WSNAP_MAX_ANSWERS, and past n they point at the first server
         * drawn (dnsd's answer writer copies all four, and counts n). */
        unsigned code = order_small(n, order_bits(r));
        out[0] = rr + (size_t)id[code & 3] * rrlen;
        out[1] = rr + (size_t)id[code >> 2 & 3] * rrlen;
        out[2] = rr + (size_t)id[code >> 4 & 3] * rrlen;
        out[3] = rr + (size_t)id[code >> 6] * rrlen;
        return n;
    }
    order_any(id, n, r);
    for (unsigned i = 0; i < n; i++)
        out[i] = rr + (size_t)id[i] * rrlen;
    return n;
}

unsigned wsnap_pick(const wsnap_t *s, const wtable_t *t, rng_t *rng, const uint8_t **out)
{
    return wsnap_pick_r(s, t, rng_next(rng), out);
}

void wtable_prefetch_draw(const wtable_t *t, uint64_t r)
{
    /* The line of the draw's first bucket, and of its last (the k are
     * neighbours). */
    uint32_t u = draw_start(r), o = draw_order(t, r);
    const uint32_t *bk = t->bucket + (size_t)o * t->nbuckets + (size_t)(u >> t->bshift) * t->k;
    __builtin_prefetch(bk);
    __builtin_prefetch(bk + WSNAP_BUCKET_PAD - 1);
}
