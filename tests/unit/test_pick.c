/* test_pick.c -- weighted selection: shares proportional to net speed within
 * statistical bounds, capping at "in every answer", distinct addresses,
 * random order, variety of answer sets.  Seeded, so results are repeatable. */
#include "testutil.h"

#include <math.h>

#include "weights/snapshot.h"

#define DRAWS 100000

static wsnap_server_t mk(unsigned i, uint32_t speed)
{
    wsnap_server_t s = { .family = WSNAP_V4, .netspeed = speed, .score = 15, .line = i, .nareas = 1 };
    s.addr[0] = 10;
    s.addr[2] = (uint8_t)(i >> 8);
    s.addr[3] = (uint8_t)i;
    s.areas[0] = AREA_WORLD;
    return s;
}

static wsnap_t *build(const uint32_t *speeds, unsigned n, unsigned k)
{
    wsnap_server_t *sv = calloc(n, sizeof *sv);
    for (unsigned i = 0; i < n; i++)
        sv[i] = mk(i, speeds[i]);
    /* One subzone so the unnumbered and numbered tables are the same list. */
    wsnap_opts_t o = { .min_score = 10, .max_answers = k, .subzones = 1, .aaaa_mask = 0, .ttl = 150,
                       .min_servers = 1, .seed = 7 };
    wsnap_t *s = wsnap_build(1, sv, n, &o);
    free(sv);
    return s;
}

/* Draw DRAWS answers; count per server (by input index); check each answer
 * is distinct and of the right size. */
static void draw(const wtable_t *t, unsigned k, unsigned n, uint64_t *count, uint64_t pos_count[][16])
{
    rng_t r;
    rng_seed(&r, 12345);
    uint32_t out[WSNAP_MAX_ANSWERS];
    for (unsigned d = 0; d < DRAWS; d++) {
        unsigned m = wtable_pick_servers(t, &r, out);
        assert_int_equal(m, k < n ? k : n);
        for (unsigned i = 0; i < m; i++) {
            uint32_t srv = out[i];
            for (unsigned j = 0; j < i; j++)
                assert_int_not_equal(out[j], out[i]);
            count[srv]++;
            if (pos_count)
                pos_count[srv][i]++;
        }
    }
}

/* |observed - expected| within 5 standard deviations of a Bernoulli(p)
 * count: each draw includes a server independently with probability p. */
static void check_share(uint64_t observed, double p, unsigned srv)
{
    double exp = DRAWS * p, sd = sqrt(DRAWS * p * (1 - p));
    if (fabs((double)observed - exp) > 5 * sd + 1)
        fail_msg("server %u: seen in %llu answers, expected %.1f (p=%.4f, sd=%.1f)", srv,
                 (unsigned long long)observed, exp, p, sd);
}

/* Shares for a table of n servers; large tables take another bucket
 * density (weights/build.c: build_buckets) than small ones. */
static void shares_proportional(unsigned N)
{
    enum { K = 4 };
    uint32_t *speeds = calloc(N, sizeof *speeds);
    uint64_t *count = calloc(N, sizeof *count);
    assert_non_null(speeds);
    assert_non_null(count);
    uint64_t total = 0;
    for (unsigned i = 0; i < N; i++) {
        /* 512 kbit/s to 100 Mbit/s, uneven. */
        speeds[i] = i % 10 == 0 ? 100000 : i % 3 == 0 ? 25000 : 512 + 997 * i;
        total += speeds[i];
    }
    wsnap_t *s = build(speeds, N, K);
    const wtable_t *t = wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL);
    assert_int_equal(wtable_size(t), N);
    draw(t, K, N, count, NULL);
    double psum = 0;
    for (unsigned i = 0; i < wtable_size(t); i++) {
        unsigned srv = wtable_server(t, i);
        double p = wtable_inclusion(t, i);
        /* No server is heavy enough to be capped here: p = k w / W. */
        assert_true(fabs(p - (double)K * speeds[srv] / (double)total) < 1e-9);
        psum += p;
    }
    assert_true(fabs(psum - K) < 1e-9);
    for (unsigned i = 0; i < N; i++)
        check_share(count[i], (double)K * speeds[i] / (double)total, i);
    wsnap_free(s);
    free(speeds);
    free(count);
}

static void test_shares_proportional(void **state)
{
    (void)state;
    /* 20: a small table, as most countries have. */
    shares_proportional(20);
    shares_proportional(60);
    shares_proportional(3000);
}

static void test_heavy_server_capped(void **state)
{
    (void)state;
    /* One server with most of the weight: "its share would exceed in every
     * answer", so it is in every answer and the rest share the other 3
     * slots by weight.  Repeated draws without replacement would give it
     * only ~1 and the others too much. */
    uint32_t speeds[] = { 1000000, 1000, 2000, 3000, 4000, 5000, 1000000 / 2 };
    unsigned n = ARRAY_LEN(speeds);
    wsnap_t *s = build(speeds, n, 4);
    const wtable_t *t = wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL);
    uint64_t count[8] = { 0 }, pos[8][16] = { { 0 } };
    draw(t, 4, n, count, pos);
    assert_int_equal(count[0], DRAWS);
    assert_int_equal(count[6], DRAWS); /* 3 * 500000 / 515000 > 1: capped too */
    uint64_t rest = 1000 + 2000 + 3000 + 4000 + 5000;
    for (unsigned i = 1; i <= 5; i++)
        check_share(count[i], 2.0 * speeds[i] / (double)rest, i);
    /* Random order: the certain server is not always first. */
    for (unsigned p = 0; p < 4; p++)
        check_share(pos[0][p], 0.25, 100 + p);
    wsnap_free(s);
}

static void test_fewer_than_k(void **state)
{
    (void)state;
    uint32_t speeds[] = { 100, 200000, 3 };
    wsnap_t *s = build(speeds, 3, 4);
    const wtable_t *t = wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL);
    uint64_t count[3] = { 0 };
    draw(t, 4, 3, count, NULL);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(count[i], DRAWS);
    wsnap_free(s);
}

/* The largest max-answers: tables of 13 to 16 servers are all certain
 * (k = 0 draws) and 17 or more draw k = 16 - certain, through both ways of
 * drawing; the answer arrays are exactly WSNAP_MAX_ANSWERS long, so a write
 * past them (draws of fewer than 4 are written as 4) shows under ASan. */
static void test_max_answers_16(void **state)
{
    (void)state;
    for (unsigned n = 12; n <= 20; n++) {
        uint32_t speeds[20];
        for (unsigned i = 0; i < n; i++)
            speeds[i] = i < 14 ? 100000 : 1000 + i; /* heavy ones certain */
        wsnap_t *s = build(speeds, n, WSNAP_MAX_ANSWERS);
        const wtable_t *t = wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL);
        rng_t r;
        rng_seed(&r, n);
        for (unsigned d = 0; d < 2000; d++) {
            uint32_t *out = malloc(WSNAP_MAX_ANSWERS * sizeof *out);
            const uint8_t **rr = malloc(WSNAP_MAX_ANSWERS * sizeof *rr);
            unsigned m = wtable_pick_servers(t, &r, out);
            assert_int_equal(m, n < WSNAP_MAX_ANSWERS ? n : WSNAP_MAX_ANSWERS);
            unsigned seen = 0;
            for (unsigned i = 0; i < m; i++) {
                assert_true(out[i] < n);
                assert_false(seen >> out[i] & 1);
                seen |= 1u << out[i];
            }
            assert_int_equal(wsnap_pick(s, t, &r, rr), m);
            free(out);
            free(rr);
        }
        wsnap_free(s);
    }
}

static void test_variety(void **state)
{
    (void)state;
    /* 10 equal servers, 4 per answer: one fixed order allows only 5
     * different answer sets; the stored orders (12 here) give many more
     * (210 exist). */
    uint32_t speeds[10];
    for (unsigned i = 0; i < 10; i++)
        speeds[i] = 1000;
    wsnap_t *s = build(speeds, 10, 4);
    const wtable_t *t = wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL);
    rng_t r;
    rng_seed(&r, 99);
    uint8_t seen[1024] = { 0 };
    unsigned distinct = 0;
    for (unsigned d = 0; d < 10000; d++) {
        uint32_t out[WSNAP_MAX_ANSWERS];
        unsigned m = wtable_pick_servers(t, &r, out), mask = 0;
        for (unsigned i = 0; i < m; i++)
            mask |= 1u << out[i];
        if (!seen[mask]) {
            seen[mask] = 1;
            distinct++;
        }
    }
    if (distinct < 40)
        fail_msg("only %u distinct answer sets", distinct);
    wsnap_free(s);
}

static void test_pick_fragments(void **state)
{
    (void)state;
    uint32_t speeds[] = { 10, 20, 30, 40, 50 };
    wsnap_t *s = build(speeds, 5, 2);
    const wtable_t *t = wsnap_table(s, AREA_WORLD, WSNAP_V4, 0);
    rng_t r;
    rng_seed(&r, 1);
    const uint8_t *rr[WSNAP_MAX_ANSWERS];
    unsigned m = wsnap_pick(s, t, &r, rr);
    assert_int_equal(m, 2);
    for (unsigned i = 0; i < m; i++) {
        /* TYPE A, CLASS IN, TTL 150, RDLEN 4, 10.0.0.x */
        assert_memory_equal(rr[i], "\x00\x01\x00\x01\x00\x00\x00\x96\x00\x04\x0a\x00\x00", 13);
        assert_true(rr[i][13] < 5);
    }
    assert_true(rr[0][13] != rr[1][13]);
    wsnap_free(s);
}

/* Every order of the answer equally likely, through both ways of drawing
 * (server indices, and the record fragments queries use): with k equal
 * servers all are in every answer, so only the order varies.  Up to 4
 * answers each of the k! orders is counted (weights/pick.c takes them from
 * a table); beyond, each server's share of each position. */
static void orders_uniform(unsigned k, bool fragments)
{
    uint32_t speeds[8] = { 0 };
    for (unsigned i = 0; i < k; i++)
        speeds[i] = 1000;
    wsnap_t *s = build(speeds, k, k);
    const wtable_t *t = wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL);
    rng_t r;
    rng_seed(&r, 4242);
    uint64_t perm[256] = { 0 }, pos[8][8] = { { 0 } };
    unsigned nperm = 1;
    for (unsigned i = 2; i <= k; i++)
        nperm *= i;
    for (unsigned d = 0; d < DRAWS; d++) {
        uint32_t srv[WSNAP_MAX_ANSWERS];
        unsigned m;
        if (fragments) {
            const uint8_t *rr[WSNAP_MAX_ANSWERS];
            m = wsnap_pick(s, t, &r, rr);
            for (unsigned i = 0; i < m; i++)
                srv[i] = rr[i][13]; /* 10.0.0.<server> */
        } else {
            m = wtable_pick_servers(t, &r, srv);
        }
        assert_int_equal(m, k);
        unsigned code = 0, seen = 0;
        for (unsigned i = 0; i < m; i++) {
            assert_true(srv[i] < k);
            assert_false(seen >> srv[i] & 1);
            seen |= 1u << srv[i];
            pos[srv[i]][i]++;
            code = code * k + srv[i];
        }
        if (k <= 4)
            perm[code]++;
    }
    if (k <= 4) {
        unsigned distinct = 0;
        for (unsigned c = 0; c < 256; c++) {
            if (!perm[c])
                continue;
            distinct++;
            check_share(perm[c], 1.0 / nperm, c);
        }
        assert_int_equal(distinct, nperm);
    }
    for (unsigned i = 0; i < k; i++)
        for (unsigned p = 0; p < k; p++)
            check_share(pos[i][p], 1.0 / k, 100 * i + p);
    wsnap_free(s);
}

static void test_orders_uniform(void **state)
{
    (void)state;
    for (unsigned k = 1; k <= 6; k++) {
        orders_uniform(k, false);
        orders_uniform(k, true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares_proportional),
        cmocka_unit_test(test_heavy_server_capped),
        cmocka_unit_test(test_fewer_than_k),
        cmocka_unit_test(test_max_answers_16),
        cmocka_unit_test(test_variety),
        cmocka_unit_test(test_pick_fragments),
        cmocka_unit_test(test_orders_uniform),
    };
    return cmocka_run_group_tests_name("pick", tests, NULL, NULL);
}
