/* build.c -- servers -> selection tables, see snapshot.h.
 *
 * DESIGN
 * For every zone (area) and address family the eligible servers (score above
 * min-score, net speed above 0, listed in that zone) form the table of the
 * unnumbered name.  The numbered subzones serving that family split them as
 * the NTP Pool does: with at least two servers per subzone, into disjoint
 * slices balanced by total net speed (heaviest first, each to the lightest
 * slice, ties broken at random so membership is reshuffled on every
 * snapshot); with fewer, every subzone answers from the whole list.
 *
 * Each table is then prepared for systematic PPS sampling (pick.c): a server
 * whose share k*w/W would reach 1 is in every answer; the rest get inclusion
 * probabilities k'*w/W' and a few random orders with cumulative sums, so a
 * query needs one random number and k binary searches.
 *
 * Finally the fallback is resolved here, once: for each area, family and
 * subzone the first of (area, its continent, "@") whose table has at least
 * min-servers servers. */
#include "weights/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/wire.h"

/* How many independent random orders a table keeps for systematic sampling.
 * One order allows only a few answer sets per server (with 10 equal servers
 * and 4 answers, 5 sets), and never puts neighbours in that order together;
 * one order chosen at random per query from several multiplies the variety.
 * But every order is memory a query may touch (about 24 bytes per server),
 * and cache misses are most of what a draw costs (measured with perf on
 * dnsd under dnsperf).  So a table keeps about 128 server-orders: up to 16
 * orders for a country with a handful of servers, 2 for large zones, which
 * vary plenty through the random start alone. */
static uint32_t orders_for(uint32_t n)
{
    uint32_t o = n ? 128 / n : 16;
    return o < 2 ? 2 : o > 16 ? 16 : o;
}

typedef struct {
    const wsnap_server_t *sv;   /* input servers */
    const uint32_t *orig[2];    /* family-local id -> input index */
    wsnap_t *s;
    rng_t rng;
    const wsnap_opts_t *o;
} bctx_t;

static uint32_t weight_of(const bctx_t *b, int fam, uint32_t id)
{
    return b->sv[b->orig[fam][id]].netspeed;
}

static void shuffle_u32(rng_t *r, uint32_t *v, uint32_t n)
{
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)rng_below(r, i);
        uint32_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

/* The bucket index of every order (see internal.h), for a table with a
 * draw (k > 0). */
static void build_buckets(harena_t *a, wtable_t *t)
{
    uint64_t span = (uint64_t)t->k * WSNAP_UNIT;
    /* Widest power-of-two bucket that still gives >= 16 buckets per slot
     * (a draw then rarely lands in a bucket it must scan), or >= 4 where
     * that would take more than WSNAP_BUCKETS_BIG buckets per order: the
     * few largest tables, which hold most of the memory. */
    uint32_t s;
    for (uint64_t per = 16;; per = 4) {
        s = 0;
        while (s < 31 && (span >> (s + 1)) >= per * t->nrest)
            s++;
        if (per == 4 || (span >> s) <= WSNAP_BUCKETS_BIG)
            break;
    }
    t->bshift = s;
    /* s < 27 here (per * nrest >= 4 * k), so buckets tile each unit of
     * the scale exactly. */
    uint32_t per_unit = WSNAP_UNIT >> s;
    t->nbuckets = t->k * per_unit;
    t->bucket = harena_alloc(a, ((size_t)t->norders * t->nbuckets + WSNAP_BUCKET_PAD) * sizeof *t->bucket, 64);
    for (uint32_t r = 0; r < t->norders; r++) {
        const wslot_t *sl = t->slots + (size_t)r * t->nrest;
        uint32_t *bk = t->bucket + (size_t)r * t->nbuckets;
        uint32_t first = 0;
        for (uint32_t bi = 0; bi < t->nbuckets; bi++) {
            uint64_t start = (uint64_t)bi << s, last = ((uint64_t)(bi + 1) << s) - 1;
            /* Slot containing start: the first whose end is past it. */
            while (sl[first].end <= start)
                first++;
            /* Interleaved: the k buckets a draw reads (same place in each
             * unit) sit side by side, in one cache line. */
            bk[(bi % per_unit) * t->k + bi / per_unit] =
                sl[first].end > last ? sl[first].id : (WSNAP_BUCKET_SCAN | first);
        }
    }
}

/* Sort keys for "heaviest first, random among equals". */
typedef struct {
    uint32_t w;
    uint32_t pos;
    uint64_t key;
} wkey_t;

static int wkey_cmp(const void *a, const void *b)
{
    const wkey_t *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static wtable_t *table_new(bctx_t *b, area_t area, int fam, const uint32_t *ids, uint32_t n)
{
    /* Cache-line aligned, so that a draw's fields share one line. */
    harena_t *a = &b->s->arena;
    wtable_t *t = harena_alloc(a, sizeof *t, 64);
    t->area = area;
    t->family = (uint8_t)fam;
    t->n = n;
    t->servers = xmalloc(n * sizeof *t->servers);
    memcpy(t->servers, ids, n * sizeof *ids);
    t->incl = xcalloc(n, sizeof *t->incl);
    t->orig = b->orig[fam];
    uint32_t k = b->o->max_answers < n ? b->o->max_answers : n;

    /* Heaviest first: the ones that would be in every answer come first. */
    wkey_t *wk = xmalloc(n * sizeof *wk);
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        wk[i] = (wkey_t){ weight_of(b, fam, ids[i]), i, rng_next(&b->rng) };
        total += wk[i].w;
    }
    qsort(wk, n, sizeof *wk, wkey_cmp);
    /* Room for WSNAP_MAX_ANSWERS whatever k: a draw copies them all in
     * one fixed-size move (weights/pick.c). */
    t->certain = harena_alloc(a, WSNAP_MAX_ANSWERS * sizeof *t->certain, 64);
    uint32_t c = 0;
    /* Server c is certain when its inclusion probability (k - c) * w / W
     * reaches 1, W being the weight of those not yet certain. */
    while (c < k && (uint64_t)wk[c].w * (k - c) >= total) {
        t->certain[c] = ids[wk[c].pos];
        t->incl[wk[c].pos] = 1.0;
        total -= wk[c].w;
        c++;
    }
    t->ncertain = c;
    t->k = k - c;
    t->nrest = n - c;
    if (t->k) {
        uint32_t nr = t->nrest;
        t->norders = orders_for(nr);
        t->slots = harena_alloc(a, (size_t)t->norders * nr * sizeof *t->slots, 64);
        uint32_t *ord = xmalloc(nr * sizeof *ord);
        for (uint32_t i = c; i < n; i++)
            t->incl[wk[i].pos] = (double)t->k * wk[i].w / (double)total;
        for (uint32_t r = 0; r < t->norders; r++) {
            wslot_t *sl = t->slots + (size_t)r * nr;
            for (uint32_t i = 0; i < nr; i++)
                ord[i] = ids[wk[c + i].pos];
            shuffle_u32(&b->rng, ord, nr);
            uint64_t acc = 0;
            for (uint32_t i = 0; i < nr; i++) {
                acc += weight_of(b, fam, ord[i]);
                /* floor(k * UNIT * acc / W): exact integer arithmetic, so
                 * the last end is exactly k * UNIT. */
                sl[i].end = (uint32_t)((unsigned __int128)acc * t->k * WSNAP_UNIT / total);
                sl[i].id = ord[i];
            }
        }
        free(ord);
        build_buckets(a, t);
    } else {
        t->bucket = harena_alloc(a, WSNAP_BUCKET_PAD * sizeof *t->bucket, 16); /* zeros */
    }
    free(wk);
    b->s->tables = xreallocarray(b->s->tables, b->s->ntables + 1, sizeof *b->s->tables);
    b->s->tables[b->s->ntables++] = t;
    b->s->bytes += sizeof *t + n * (sizeof *t->servers + sizeof *t->incl) +
                   WSNAP_MAX_ANSWERS * sizeof *t->certain +
                   (size_t)t->norders * (t->nrest * sizeof *t->slots + t->nbuckets * sizeof *t->bucket) +
                   WSNAP_BUCKET_PAD * sizeof *t->bucket;
    return t;
}

/* Split ids into nsub slices balanced by total weight, each with >= 2
 * servers (caller checks n >= 2 * nsub).  slice[i] receives the slice of
 * ids[i]. */
static void partition(bctx_t *b, int fam, const uint32_t *ids, uint32_t n, unsigned nsub, uint8_t *slice)
{
    wkey_t *wk = xmalloc(n * sizeof *wk);
    for (uint32_t i = 0; i < n; i++)
        wk[i] = (wkey_t){ weight_of(b, fam, ids[i]), i, rng_next(&b->rng) };
    qsort(wk, n, sizeof *wk, wkey_cmp);
    uint64_t load[WSNAP_MAX_SUBZONES] = { 0 };
    uint32_t count[WSNAP_MAX_SUBZONES] = { 0 };
    for (uint32_t i = 0; i < n; i++) {
        /* Slices still short of two servers must be filled from what is
         * left; otherwise the lightest slice takes the next server. */
        uint32_t need = 0;
        for (unsigned s = 0; s < nsub; s++)
            need += count[s] < 2 ? 2 - count[s] : 0;
        bool only_short = n - i <= need;
        unsigned start = (unsigned)rng_below(&b->rng, nsub), best = nsub;
        for (unsigned j = 0; j < nsub; j++) {
            unsigned s = (start + j) % nsub;
            if (only_short && count[s] >= 2)
                continue;
            if (best == nsub || load[s] < load[best])
                best = s;
        }
        slice[wk[i].pos] = (uint8_t)best;
        load[best] += wk[i].w;
        count[best]++;
    }
    free(wk);
}

/* Tables for one area and family.  tab[sub] receives the subzone tables
 * (WSNAP_SUB_ALL: the unnumbered name). */
static void build_area(bctx_t *b, area_t area, int fam, const uint32_t *ids, uint32_t n,
                       const wtable_t **tab)
{
    const wsnap_opts_t *o = b->o;
    unsigned subs[WSNAP_MAX_SUBZONES], nsub = 0;
    for (unsigned s = 0; s < o->subzones; s++)
        if (fam == WSNAP_V4 || (o->aaaa_mask >> s & 1))
            subs[nsub++] = s;
    wtable_t *all = table_new(b, area, fam, ids, n);
    tab[WSNAP_SUB_ALL] = all;
    if (nsub < 2 || n < 2u * nsub) {
        for (unsigned i = 0; i < nsub; i++)
            tab[subs[i]] = all;
        return;
    }
    uint8_t *slice = xmalloc(n);
    uint32_t *part = xmalloc(n * sizeof *part);
    partition(b, fam, ids, n, nsub, slice);
    for (unsigned i = 0; i < nsub; i++) {
        uint32_t m = 0;
        for (uint32_t j = 0; j < n; j++)
            if (slice[j] == i)
                part[m++] = ids[j];
        tab[subs[i]] = table_new(b, area, fam, part, m);
    }
    free(part);
    free(slice);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

wsnap_t *wsnap_build(uint32_t serial, const wsnap_server_t *sv, size_t n, const wsnap_opts_t *o)
{
    double t0 = now_ms();
    /* The snapshot itself lives in its arena: eff[] is read by every
     * query. */
    harena_t arena = { 0 };
    wsnap_t *s = harena_alloc(&arena, sizeof *s, 64);
    s->arena = arena;
    bctx_t b = { .sv = sv, .s = s, .o = o };
    if (o->seed)
        rng_seed(&b.rng, o->seed);
    else
        rng_seed_random(&b.rng);
    s->serial = serial;
    s->nservers = n;

    /* Family-local ids for eligible servers, and their answer records. */
    for (int fam = 0; fam < 2; fam++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (sv[i].family == fam && sv[i].netspeed > 0 && sv[i].score > o->min_score)
                m++;
        s->neligible[fam] = m;
        size_t rrlen = fam == WSNAP_V4 ? WSNAP_RR_V4 : WSNAP_RR_V6;
        s->rr[fam] = harena_alloc(&s->arena, (m ? m : 1) * rrlen + (WSNAP_RR_V6 - WSNAP_RR_V4), 64);
        s->orig[fam] = xmalloc((m ? m : 1) * sizeof(uint32_t));
        s->bytes += m * (rrlen + sizeof(uint32_t));
        m = 0;
        for (size_t i = 0; i < n; i++) {
            if (!(sv[i].family == fam && sv[i].netspeed > 0 && sv[i].score > o->min_score))
                continue;
            uint8_t *rr = s->rr[fam] + m * rrlen;
            wire_put16(rr, fam == WSNAP_V4 ? DNS_T_A : DNS_T_AAAA);
            wire_put16(rr + 2, DNS_C_IN);
            wire_put32(rr + 4, o->ttl);
            wire_put16(rr + 8, fam == WSNAP_V4 ? 4 : 16);
            memcpy(rr + 10, sv[i].addr, fam == WSNAP_V4 ? 4 : 16);
            s->orig[fam][m] = (uint32_t)i;
            m++;
        }
    }
    b.orig[0] = s->orig[0];
    b.orig[1] = s->orig[1];

    /* Each area's own tables, before fallback. */
    const wtable_t *(*own)[2][WSNAP_SUB_ALL + 1] = xcalloc(AREA_COUNT, sizeof *own);

    /* Bucket eligible servers by (area, family): count, then fill. */
    for (int fam = 0; fam < 2; fam++) {
        uint32_t *cnt = xcalloc(AREA_COUNT + 1, sizeof *cnt);
        for (uint32_t id = 0; id < s->neligible[fam]; id++) {
            const wsnap_server_t *v = &sv[s->orig[fam][id]];
            for (unsigned a = 0; a < v->nareas; a++)
                cnt[v->areas[a] + 1]++;
        }
        for (unsigned a = 0; a < AREA_COUNT; a++)
            cnt[a + 1] += cnt[a];
        uint32_t *fill = xmalloc(AREA_COUNT * sizeof *fill);
        memcpy(fill, cnt, AREA_COUNT * sizeof *fill);
        uint32_t *ids = xmalloc((cnt[AREA_COUNT] ? cnt[AREA_COUNT] : 1) * sizeof *ids);
        for (uint32_t id = 0; id < s->neligible[fam]; id++) {
            const wsnap_server_t *v = &sv[s->orig[fam][id]];
            for (unsigned a = 0; a < v->nareas; a++)
                ids[fill[v->areas[a]]++] = id;
        }
        for (unsigned a = 0; a < AREA_COUNT; a++) {
            uint32_t m = cnt[a + 1] - cnt[a];
            if (m)
                build_area(&b, (area_t)a, fam, ids + cnt[a], m, own[a][fam]);
        }
        free(ids);
        free(fill);
        free(cnt);
    }

    /* Fallback: for every area, the first of (area, its continent, "@")
     * whose own table is big enough answers. */
    for (int fam = 0; fam < 2; fam++) {
        for (unsigned sub = 0; sub <= WSNAP_SUB_ALL; sub++) {
            for (unsigned a = 0; a < AREA_COUNT; a++) {
                area_t cur = (area_t)a;
                const wtable_t *t = NULL;
                for (;;) {
                    const wtable_t *c = own[cur][fam][sub];
                    if (c && (cur == AREA_WORLD || c->n >= o->min_servers)) {
                        t = c;
                        break;
                    }
                    if (cur == AREA_WORLD)
                        break;
                    cur = codes_parent(cur);
                }
                s->eff[a][fam][sub] = t;
            }
        }
    }
    free(own);
    s->bytes += sizeof *s;
    s->build_ms = now_ms() - t0;
    return s;
}

void wsnap_free(wsnap_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ntables; i++) {
        wtable_t *t = s->tables[i];
        free(t->servers);
        free(t->incl);
    }
    free(s->tables);
    for (int fam = 0; fam < 2; fam++)
        free(s->orig[fam]);
    harena_t arena = s->arena; /* s is in it */
    harena_free(&arena);
}

void wsnap_info(const wsnap_t *s, wsnap_info_t *out)
{
    out->serial = s->serial;
    out->servers = s->nservers;
    out->eligible_v4 = s->neligible[0];
    out->eligible_v6 = s->neligible[1];
    out->eligible = s->neligible[0] + s->neligible[1];
    out->tables = s->ntables;
    out->bytes = s->bytes;
    out->build_ms = s->build_ms;
}

const wtable_t *wsnap_table(const wsnap_t *s, area_t area, int family, unsigned sub)
{
    if (area >= AREA_COUNT || family < 0 || family > 1 || sub > WSNAP_SUB_ALL)
        return NULL;
    return s->eff[area][family][sub];
}

uint32_t wsnap_serial(const wsnap_t *s) { return s->serial; }
area_t wtable_area(const wtable_t *t) { return t->area; }
uint32_t wtable_size(const wtable_t *t) { return t->n; }
uint32_t wtable_server(const wtable_t *t, uint32_t i) { return t->orig[t->servers[i]]; }
double wtable_inclusion(const wtable_t *t, uint32_t i) { return t->incl[i]; }
