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
 * binary searches, a shuffle of at most WSNAP_MAX_ANSWERS entries. */
#include "weights/internal.h"

/* Largest i in [lo, n) with cum[i] <= p (cum[0] = 0 <= p always). */
static inline uint32_t find_slot(const uint64_t *cum, uint32_t lo, uint32_t n, uint64_t p)
{
    uint32_t hi = n; /* answer < hi */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cum[mid] <= p)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

unsigned wtable_pick_index(const wtable_t *t, rng_t *rng, uint32_t *out)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < t->ncertain; i++)
        out[n++] = t->certain[i];
    if (t->k) {
        uint64_t r = rng_next(rng);
        uint64_t u = r >> 32;  /* start in [0, UNIT) */
        uint32_t o = (uint32_t)(((uint64_t)(uint32_t)r * t->norders) >> 32);
        const uint64_t *cum = t->cum + (size_t)o * (t->nrest + 1);
        const uint32_t *ord = t->order + (size_t)o * t->nrest;
        uint32_t slot = 0;
        for (uint32_t j = 0; j < t->k; j++) {
            slot = find_slot(cum, slot, t->nrest, u + j * WSNAP_UNIT);
            out[n++] = ord[slot];
        }
    }
    /* Random order: the draws above come out in the table's order, and the
     * certain servers first. */
    uint64_t bits = 0;
    unsigned left = 0;
    for (unsigned i = n; i > 1; i--) {
        if (!left) {
            bits = rng_next(rng);
            left = 4;
        }
        uint32_t j = (uint32_t)(((bits & 0xffff) * i) >> 16);
        bits >>= 16;
        left--;
        uint32_t tmp = out[i - 1];
        out[i - 1] = out[j];
        out[j] = tmp;
    }
    return n;
}

unsigned wsnap_pick(const wsnap_t *s, const wtable_t *t, rng_t *rng, const uint8_t **out)
{
    uint32_t pos[WSNAP_MAX_ANSWERS];
    unsigned n = wtable_pick_index(t, rng, pos);
    size_t rrlen = t->family == WSNAP_V4 ? WSNAP_RR_V4 : WSNAP_RR_V6;
    const uint8_t *rr = s->rr[t->family];
    for (unsigned i = 0; i < n; i++)
        out[i] = rr + (size_t)t->servers[pos[i]] * rrlen;
    return n;
}
