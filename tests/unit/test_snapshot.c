/* test_snapshot.c -- snapshot parsing (every error path), table building:
 * eligibility, subzone partitioning, fallback and min-servers. */
#include "testutil.h"

#include <arpa/inet.h>

#include "weights/snapshot.h"

static wsnap_opts_t opts(void)
{
    return (wsnap_opts_t){ .min_score = 10, .max_answers = 4, .subzones = 4, .aaaa_mask = 0xc,
                           .ttl = 150, .min_servers = 1, .seed = 42 };
}

static void test_parse_good(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    char *p = tu_write("good.txt",
                       "# comment\n\n"
                       "serial 2026112601\n"
                       "server 192.0.2.10   100000  18.5  de europe @\n"
                       "server 2001:db8::10 1000000 19.9  de europe @   # comment\n"
                       "server\t198.51.100.7\t512\t-4.2\tfr\n"
                       "server 198.51.100.8 0 +20 @\n");
    uint32_t serial;
    wsnap_server_t *sv;
    size_t n;
    assert_true(wsnap_parse(p, &serial, &sv, &n, &e));
    assert_int_equal(e.n, 0);
    assert_int_equal(serial, 2026112601u);
    assert_int_equal(n, 4);
    assert_int_equal(sv[0].family, WSNAP_V4);
    assert_memory_equal(sv[0].addr, "\xc0\x00\x02\x0a", 4);
    assert_int_equal(sv[0].netspeed, 100000);
    assert_true(sv[0].score == 18.5);
    assert_int_equal(sv[0].nareas, 3);
    assert_int_equal(sv[0].areas[0], codes_area_by_name("de", 2));
    assert_int_equal(sv[0].areas[1], AREA_EUROPE);
    assert_int_equal(sv[0].areas[2], AREA_WORLD);
    assert_int_equal(sv[1].family, WSNAP_V6);
    assert_int_equal(sv[1].line, 5);
    assert_true(sv[2].score == -4.2);
    assert_int_equal(sv[3].netspeed, 0);
    free(sv);
}

static const struct {
    const char *line;
    const char *want;
} bad[] = {
    { "server 192.0.2.300 100 15 de", ":3: server: '192.0.2.300' is not an IPv4 or IPv6 address" },
    { "server 0.1.2.3 100 15 de", "is not a unicast IPv4 address" },
    { "server 224.0.0.1 100 15 de", "is not a unicast IPv4 address" },
    { "server ff02::1 100 15 de", "is not a unicast IPv6 address" },
    { "server :: 100 15 de", "is not a unicast IPv6 address" },
    { "server ::ffff:192.0.2.1 100 15 de", "IPv4-mapped" },
    { "server 192.0.2.1 fast 15 de", ":3: server 192.0.2.1: net speed 'fast' is not a whole number" },
    { "server 192.0.2.1 -5 15 de", "net speed '-5'" },
    { "server 192.0.2.1 3000001 15 de", "net speed '3000001'" },
    { "server 192.0.2.1 1.5 15 de", "net speed '1.5'" },
    { "server 192.0.2.1 100 high de", "score 'high' is not a decimal number" },
    { "server 192.0.2.1 100 1e1 de", "score '1e1' is not a decimal number" },
    { "server 192.0.2.1 100 inf de", "score 'inf'" },
    { "server 192.0.2.1 100 15. de", "score '15.'" },
    { "server 192.0.2.1 100 20.5 de", "score 20.5 is outside the pool's range (-100 to 20)" },
    { "server 192.0.2.1 100 -100.1 de", "score -100.1 is outside" },
    { "server 192.0.2.1 100 15 xx", ":3: server 192.0.2.1: unknown zone 'xx'" },
    { "server 192.0.2.1 100 15 DE", "unknown zone 'DE' (zone names are lower case)" },
    { "server 192.0.2.1 100 15 Europe", "unknown zone 'Europe'" },
    { "server 192.0.2.1 100 15 de de", "zone 'de' is listed twice" },
    { "server 192.0.2.1 100 15", ":3: server: expected 'server ADDRESS NETSPEED SCORE ZONE...' (no zone listed)" },
    { "server 192.0.2.1", ":3: server: expected" },
    { "server 192.0.2.1 1 15 a b c d e f g h i j k l m n o p q", "at most 16 allowed" },
    { "servers 192.0.2.1 100 15 de", ":3: unknown keyword 'servers'" },
    { "serial 5", ":3: serial: given twice (first at line 1)" },
    { "server 192.0.2.1 100 15 de\nserver 192.0.2.1 200 16 fr", ":4: server 192.0.2.1: duplicate address (first at line 3)" },
    { "server 2001:db8::1 100 15 de\nserver 2001:DB8:0::1 200 16 fr", ":4: server 2001:db8::1: duplicate address (first at line 3)" },
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char body[512];
        errs_t e = ERRS_INIT;
        snprintf(body, sizeof body, "serial 1\n# x\n%s\n", bad[i].line);
        char *p = tu_write("bad.txt", body);
        uint32_t serial;
        wsnap_server_t *sv = (wsnap_server_t *)1;
        size_t n = 99;
        bool ok = wsnap_parse(p, &serial, &sv, &n, &e);
        if (ok || !tu_errs_have(&e, bad[i].want))
            fail_msg("case %zu (%s) did not give \"%s\"", i, bad[i].line, bad[i].want);
        assert_null(sv);
        assert_int_equal(n, 0);
        assert_true(strncmp(e.v[0].text, p, strlen(p)) == 0);
        errs_clear(&e);
    }
}

static void test_parse_serial_errors(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    uint32_t serial;
    wsnap_server_t *sv;
    size_t n;
    char *p = tu_write("noserial.txt", "server 192.0.2.1 100 15 de\n");
    assert_false(wsnap_parse(p, &serial, &sv, &n, &e));
    assert_true(tu_errs_have(&e, "noserial.txt: no 'serial' line"));
    errs_clear(&e);
    p = tu_write("badserial.txt", "serial 4294967296\n");
    assert_false(wsnap_parse(p, &serial, &sv, &n, &e));
    assert_true(tu_errs_have(&e, ":1: serial: expected one whole number"));
    errs_clear(&e);
    p = tu_write("badserial2.txt", "serial 1 2\n");
    assert_false(wsnap_parse(p, &serial, &sv, &n, &e));
    assert_true(tu_errs_have(&e, ":1: serial:"));
    errs_clear(&e);
    assert_false(wsnap_parse("/nonexistent/snap", &serial, &sv, &n, &e));
    assert_true(tu_errs_have(&e, "/nonexistent/snap: cannot open snapshot"));
    errs_clear(&e);
    /* Many errors: reported up to a cap, then a note. */
    char big[64 * 100] = "serial 1\n";
    for (int i = 0; i < 80; i++)
        strcat(big, "bogus line\n");
    p = tu_write("many.txt", big);
    assert_false(wsnap_parse(p, &serial, &sv, &n, &e));
    assert_int_equal(e.n, 50);
    assert_true(tu_errs_have(&e, "too many errors"));
    errs_clear(&e);
}

/* ---- building ---------------------------------------------------------------- */

static wsnap_server_t srv4(unsigned i, uint32_t speed, double score, const char *zones)
{
    wsnap_server_t s = { .family = WSNAP_V4, .netspeed = speed, .score = score, .line = i };
    s.addr[0] = 10;
    s.addr[1] = (uint8_t)(i >> 16);
    s.addr[2] = (uint8_t)(i >> 8);
    s.addr[3] = (uint8_t)i;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", zones);
    for (char *t = strtok(buf, " "); t; t = strtok(NULL, " "))
        s.areas[s.nareas++] = (area_t)codes_area_by_name(t, strlen(t));
    return s;
}

static wsnap_server_t srv6(unsigned i, uint32_t speed, double score, const char *zones)
{
    wsnap_server_t s = srv4(i, speed, score, zones);
    s.family = WSNAP_V6;
    memset(s.addr, 0, 16);
    s.addr[0] = 0x20;
    s.addr[1] = 0x01;
    s.addr[14] = (uint8_t)(i >> 8);
    s.addr[15] = (uint8_t)i;
    return s;
}

static void test_eligibility(void **state)
{
    (void)state;
    wsnap_server_t sv[] = {
        srv4(0, 1000, 10.0, "de"),  /* score not above min-score */
        srv4(1, 1000, 10.1, "de"),
        srv4(2, 0, 19, "de"),       /* net speed 0: monitoring only */
        srv4(3, 500, -50, "de"),
        srv6(4, 1000, 15, "de"),
    };
    wsnap_opts_t o = opts();
    wsnap_t *s = wsnap_build(7, sv, ARRAY_LEN(sv), &o);
    wsnap_info_t in;
    wsnap_info(s, &in);
    assert_int_equal(in.serial, 7);
    assert_int_equal(in.servers, 5);
    assert_int_equal(in.eligible, 2);
    assert_int_equal(in.eligible_v4, 1);
    assert_int_equal(in.eligible_v6, 1);
    area_t de = (area_t)codes_area_by_name("de", 2);
    const wtable_t *t = wsnap_table(s, de, WSNAP_V4, WSNAP_SUB_ALL);
    assert_non_null(t);
    assert_int_equal(wtable_size(t), 1);
    assert_int_equal(wtable_server(t, 0), 1);
    /* Nothing for de in europe or @: no fallback table exists. */
    assert_null(wsnap_table(s, AREA_EUROPE, WSNAP_V4, WSNAP_SUB_ALL));
    assert_null(wsnap_table(s, AREA_WORLD, WSNAP_V4, 0));
    /* fr falls back to europe then @: none. */
    assert_null(wsnap_table(s, (area_t)codes_area_by_name("fr", 2), WSNAP_V4, 0));
    wsnap_free(s);
}

static void test_fallback_and_min_servers(void **state)
{
    (void)state;
    wsnap_server_t sv[] = {
        srv4(0, 1000, 15, "de europe @"),
        srv4(1, 1000, 15, "de europe @"),
        srv4(2, 1000, 15, "fr europe @"),
        srv4(3, 1000, 15, "us north-america @"),
        srv4(4, 1000, 15, "@"),
        srv6(5, 1000, 15, "us @"),
    };
    area_t de = (area_t)codes_area_by_name("de", 2), fr = (area_t)codes_area_by_name("fr", 2);
    area_t it = (area_t)codes_area_by_name("it", 2), jp = (area_t)codes_area_by_name("jp", 2);
    wsnap_opts_t o = opts();
    wsnap_t *s = wsnap_build(1, sv, ARRAY_LEN(sv), &o);
    assert_int_equal(wtable_area(wsnap_table(s, de, WSNAP_V4, WSNAP_SUB_ALL)), de);
    assert_int_equal(wtable_area(wsnap_table(s, fr, WSNAP_V4, 2)), fr);
    assert_int_equal(wtable_area(wsnap_table(s, it, WSNAP_V4, 1)), AREA_EUROPE); /* no it servers */
    assert_int_equal(wtable_area(wsnap_table(s, jp, WSNAP_V4, 0)), AREA_WORLD);  /* no asia either */
    assert_int_equal(wtable_area(wsnap_table(s, AREA_ASIA, WSNAP_V4, 0)), AREA_WORLD);
    assert_int_equal(wtable_area(wsnap_table(s, de, WSNAP_V6, 2)), AREA_WORLD); /* no v6 in de/europe */
    assert_int_equal(wtable_size(wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL)), 5);
    wsnap_free(s);

    o.min_servers = 2;
    s = wsnap_build(1, sv, ARRAY_LEN(sv), &o);
    assert_int_equal(wtable_area(wsnap_table(s, de, WSNAP_V4, WSNAP_SUB_ALL)), de);          /* 2 */
    assert_int_equal(wtable_area(wsnap_table(s, fr, WSNAP_V4, WSNAP_SUB_ALL)), AREA_EUROPE); /* 1 < 2 */
    assert_int_equal(wtable_area(wsnap_table(s, (area_t)codes_area_by_name("us", 2), WSNAP_V4, 0)),
                     AREA_WORLD); /* us 1, north-america 1 */
    wsnap_free(s);

    o.min_servers = 4;
    s = wsnap_build(1, sv, ARRAY_LEN(sv), &o);
    assert_int_equal(wtable_area(wsnap_table(s, de, WSNAP_V4, WSNAP_SUB_ALL)), AREA_WORLD); /* europe 3 */
    /* The world answers whatever its size. */
    assert_int_equal(wtable_area(wsnap_table(s, AREA_WORLD, WSNAP_V6, 2)), AREA_WORLD);
    wsnap_free(s);
}

/* Servers of each subzone table of (area, family), as a membership matrix. */
static void collect_subzones(const wsnap_t *s, area_t area, int fam, unsigned nsub, const unsigned *subs,
                             unsigned nservers, uint8_t *member /* [nsub][nservers] */)
{
    memset(member, 0, nsub * nservers);
    for (unsigned i = 0; i < nsub; i++) {
        const wtable_t *t = wsnap_table(s, area, fam, subs[i]);
        assert_non_null(t);
        for (uint32_t j = 0; j < wtable_size(t); j++)
            member[i * nservers + wtable_server(t, j)] = 1;
    }
}

static void test_partition(void **state)
{
    (void)state;
    enum { N = 41 };
    wsnap_server_t sv[N];
    uint64_t total = 0;
    uint32_t maxw = 0;
    for (unsigned i = 0; i < N; i++) {
        /* A spread like the pool's: a few big, many small, one huge. */
        uint32_t w = i == 0 ? 1000000 : i < 5 ? 100000 : i < 15 ? 10000 : 1000 + 37 * i;
        sv[i] = srv4(i, w, 15, "@");
        total += w;
        maxw = w > maxw ? w : maxw;
    }
    wsnap_opts_t o = opts();
    unsigned subs[4] = { 0, 1, 2, 3 };
    uint8_t member[4 * N], first[4 * N];
    unsigned differ = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        o.seed = seed;
        wsnap_t *s = wsnap_build(1, sv, N, &o);
        collect_subzones(s, AREA_WORLD, WSNAP_V4, 4, subs, N, member);
        uint64_t load[4] = { 0 };
        for (unsigned j = 0; j < N; j++) {
            unsigned in = 0;
            for (unsigned i = 0; i < 4; i++) {
                in += member[i * N + j];
                if (member[i * N + j])
                    load[i] += sv[j].netspeed;
            }
            assert_int_equal(in, 1); /* disjoint slices covering everyone */
        }
        for (unsigned i = 0; i < 4; i++)
            assert_true(wtable_size(wsnap_table(s, AREA_WORLD, WSNAP_V4, i)) >= 2);
        /* Balanced by net speed: one huge server dominates its slice; the
         * other three slices must be within one big server of each other. */
        uint64_t lo = UINT64_MAX, hi = 0;
        for (unsigned i = 0; i < 4; i++) {
            if (load[i] >= 1000000)
                continue;
            lo = load[i] < lo ? load[i] : lo;
            hi = load[i] > hi ? load[i] : hi;
        }
        assert_true(hi - lo <= 100000);
        if (seed == 1)
            memcpy(first, member, sizeof member);
        else if (memcmp(first, member, sizeof member))
            differ++;
        /* The unnumbered name holds everyone. */
        assert_int_equal(wtable_size(wsnap_table(s, AREA_WORLD, WSNAP_V4, WSNAP_SUB_ALL)), N);
        wsnap_free(s);
    }
    /* Reshuffled from one snapshot to the next. */
    assert_true(differ >= 15);
    (void)total;
    (void)maxw;
}

static void test_partition_small_and_aaaa(void **state)
{
    (void)state;
    /* 7 servers for 4 subzones (< 2 each): every subzone holds all 7.
     * AAAA: 2 subzones (2, 3) and 5 servers: split into 2 slices. */
    wsnap_server_t sv[12];
    for (unsigned i = 0; i < 7; i++)
        sv[i] = srv4(i, 1000 * (i + 1), 15, "de");
    for (unsigned i = 7; i < 12; i++)
        sv[i] = srv6(i, 1000, 15, "de");
    wsnap_opts_t o = opts();
    wsnap_t *s = wsnap_build(1, sv, 12, &o);
    area_t de = (area_t)codes_area_by_name("de", 2);
    for (unsigned sub = 0; sub < 4; sub++)
        assert_int_equal(wtable_size(wsnap_table(s, de, WSNAP_V4, sub)), 7);
    uint32_t a = wtable_size(wsnap_table(s, de, WSNAP_V6, 2)), b = wtable_size(wsnap_table(s, de, WSNAP_V6, 3));
    assert_int_equal(a + b, 5);
    assert_true(a >= 2 && b >= 2);
    /* Subzones that serve no AAAA have no AAAA table. */
    assert_null(wsnap_table(s, de, WSNAP_V6, 0));
    assert_null(wsnap_table(s, de, WSNAP_V6, 1));
    assert_int_equal(wtable_size(wsnap_table(s, de, WSNAP_V6, WSNAP_SUB_ALL)), 5);
    wsnap_free(s);
}

static void test_load(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    char *p = tu_write("load.txt", "serial 9\nserver 192.0.2.1 100 15 de europe @\n");
    wsnap_opts_t o = opts();
    wsnap_t *s = wsnap_load(p, &o, &e);
    assert_non_null(s);
    assert_int_equal(wsnap_serial(s), 9);
    wsnap_free(s);
    p = tu_write("load2.txt", "serial 9\nserver 192.0.2.1 100 15 zz\n");
    assert_null(wsnap_load(p, &o, &e));
    assert_true(tu_errs_have(&e, "load2.txt:2: server 192.0.2.1: unknown zone 'zz'"));
    errs_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_serial_errors),
        cmocka_unit_test(test_eligibility),
        cmocka_unit_test(test_fallback_and_min_servers),
        cmocka_unit_test(test_partition),
        cmocka_unit_test(test_partition_small_and_aaaa),
        cmocka_unit_test(test_load),
    };
    int rc = cmocka_run_group_tests_name("snapshot", tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
