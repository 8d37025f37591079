/* test_geo.c -- geo_db_load/geo_lookup on tests/data/geo (run from the repo top). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnsd/base/rng.h"
#include "geo/geo.h"
#include "geo/geo_internal.h"

#define DATA "tests/data/geo/"

#include "alloccount.h"

/* --- helpers ----------------------------------------------------------- */

static geo_db_t *load_ok(const char *path)
{
    errs_t errs = ERRS_INIT;
    geo_db_t *db = geo_db_load(path, &errs);
    if (!db)
        errs_print(&errs, stderr, "load: ");
    assert_non_null(db);
    assert_int_equal(errs.n, 0);
    errs_clear(&errs);
    return db;
}

/* Load must fail with one error that names the path and contains want. */
static void load_fails(const char *path, const char *want)
{
    errs_t errs = ERRS_INIT;
    geo_db_t *db = geo_db_load(path, &errs);
    assert_null(db);
    assert_true(errs.n >= 1);
    size_t plen = strlen(path);
    if (strncmp(errs.v[0].text, path, plen) != 0 || strncmp(errs.v[0].text + plen, ": ", 2) ||
        (want && !strstr(errs.v[0].text, want))) {
        print_error("unexpected error text: \"%s\" (want \"%s: ...%s...\")\n", errs.v[0].text,
                    path, want ? want : "");
        fail();
    }
    errs_clear(&errs);
}

/* "a.b.c.d[/n]" or "v6[/n]" -> family, 16 address bytes, prefix. */
static int parse(const char *s, uint8_t *a, unsigned *prefix)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    int family = strchr(buf, ':') ? 6 : 4;
    memset(a, 0, 16);
    if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, a) != 1)
        fail_msg("bad address in test: %s", s);
    *prefix = slash ? (unsigned)atoi(slash + 1) : family == 4 ? 32 : 128;
    return family;
}

static geo_answer_t look(const geo_db_t *db, const char *s)
{
    uint8_t a[16];
    unsigned prefix;
    int family = parse(s, a, &prefix);
    geo_answer_t ans;
    memset(&ans, 0xee, sizeof(ans));
    geo_lookup(db, family, a, prefix, &ans);
    return ans;
}

/* Expect country and continent by zone name ("@" for the world) and scope. */
#define expect(db, addr, cc, cont, sc) expect_at(db, addr, cc, cont, sc, __LINE__)
static void expect_at(const geo_db_t *db, const char *addr, const char *cc, const char *cont,
                      unsigned scope, int line)
{
    geo_answer_t ans = look(db, addr);
    if (strcmp(codes_area_name(ans.country), cc) || strcmp(codes_area_name(ans.continent), cont) ||
        ans.scope != scope) {
        print_error("line %d: %s -> %s %s /%u, want %s %s /%u\n", line, addr,
                    codes_area_name(ans.country), codes_area_name(ans.continent), ans.scope, cc,
                    cont, scope);
        fail();
    }
}

static geo_db_t *db_country, *db_lite, *db_city, *db_flat, *db_flat4, *db_edge;

static int group_setup(void **state)
{
    (void)state;
    db_country = load_ok(DATA "GeoIP2-Country-Test.mmdb");
    db_lite = load_ok(DATA "GeoLite2-Country-Test.mmdb");
    db_city = load_ok(DATA "GeoIP2-City-Test.mmdb");
    db_flat = load_ok(DATA "flat-country-test.mmdb");
    db_flat4 = load_ok(DATA "flat-country-v4-test.mmdb");
    db_edge = load_ok(DATA "geoip2-edge-test.mmdb");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    geo_db_free(db_country);
    geo_db_free(db_lite);
    geo_db_free(db_city);
    geo_db_free(db_flat);
    geo_db_free(db_flat4);
    geo_db_free(db_edge);
    return 0;
}

/* --- answers ----------------------------------------------------------- */

static void test_geoip2_country(void **state)
{
    (void)state;
    expect(db_country, "81.2.69.160", "gb", "europe", 27);
    expect(db_country, "81.2.69.142", "gb", "europe", 31);
    expect(db_country, "89.160.20.112", "se", "europe", 28);
    expect(db_country, "67.43.156.1", "bt", "asia", 24);
    expect(db_country, "216.160.83.56", "us", "north-america", 29);
    expect(db_country, "2001:218::1", "jp", "asia", 32);
    expect(db_country, "2001:220::", "se", "europe", 128);
    expect(db_country, "2001:220::1", "kr", "asia", 128);
    /* Continent-only record (2a02:d500::/29 has continent EU, no country). */
    expect(db_country, "2a02:d500::1", "@", "europe", 29);
    /* A record without any country data (traits only): world, merged
     * with the empty space around it. */
    expect(db_country, "214.1.1.1", "@", "@", 10);
    /* Not in the db. */
    expect(db_country, "1.1.1.1", "@", "@", 7);     /* 0/8 special, 1/8 empty */
    expect(db_country, "2c00::1", "@", "@", 6);
}

static void test_other_maxmind_dbs(void **state)
{
    (void)state;
    expect(db_lite, "81.2.69.160", "gb", "europe", 27);
    expect(db_lite, "2001:218::1", "jp", "asia", 32);
    expect(db_lite, "2.125.160.216", "gb", "europe", 29);
    expect(db_city, "81.2.69.160", "gb", "europe", 27);
    expect(db_city, "2001:218::1", "jp", "asia", 32);
    expect(db_city, "175.16.199.1", "cn", "asia", 24);
}

static void test_flat_layout(void **state)
{
    (void)state;
    expect(db_flat, "1.0.0.1", "au", "oceania", 24);
    expect(db_flat, "81.2.69.160", "gb", "europe", 24);
    expect(db_flat, "2.1.2.3", "fr", "europe", 9);
    expect(db_flat, "2.200.0.1", "nl", "europe", 10);
    /* 3.0.0.0/9 + 3.128.0.0/9, both US: merged into one /8. */
    expect(db_flat, "3.200.1.1", "us", "north-america", 8);
    /* Nested networks: the longer one wins. */
    expect(db_flat, "41.1.1.1", "za", "africa", 9);
    expect(db_flat, "41.200.1.1", "eg", "africa", 9);
    expect(db_flat, "200.1.2.3", "ar", "south-america", 16);
    expect(db_flat, "200.2.2.3", "br", "south-america", 15);
    /* Pseudo-country EU names a continent; ZZ is unknown. */
    expect(db_flat, "185.0.1.1", "@", "europe", 16);
    expect(db_flat, "186.0.1.1", "@", "@", 7);
    /* IPv6. */
    expect(db_flat, "2a00:1450::1", "ie", "europe", 32);
    expect(db_flat, "2a01:4f8::1", "de", "europe", 32);
    expect(db_flat, "2a01:1::1", "fr", "europe", 22);    /* 2a01:4f8:: is in the next /22 */
    expect(db_flat, "2600:1::1", "us", "north-america", 12);
    expect(db_flat, "2c0f:f000::1", "za", "africa", 20);
    expect(db_flat, "3000::1", "@", "@", 4);
}

static void test_geoip2_edge_records(void **state)
{
    (void)state;
    expect(db_edge, "9.9.9.1", "sg", "asia", 24);          /* registered_country only */
    expect(db_edge, "9.9.10.1", "ch", "europe", 24);       /* no continent: our table */
    expect(db_edge, "9.9.11.1", "@", "oceania", 24);       /* continent only */
    expect(db_edge, "9.9.12.1", "tr", "europe", 24);       /* the db's continent wins */
    expect(db_edge, "9.9.13.1", "@", "@", 24);             /* unknown codes */
    expect(db_edge, "9.9.14.1", "@", "@", 24);             /* country is not a map */
    expect(db_edge, "9.9.15.1", "gb", "europe", 24);       /* country before registered */
    expect(db_edge, "2a03::1", "nz", "oceania", 16);
}

/* An ip_version 4 db: IPv4 and mapped answers as the IPv6 flat db; other
 * IPv6 is unknown. */
static void test_ipv4_db(void **state)
{
    (void)state;
    static const char *const v4[] = { "1.0.0.1", "2.1.2.3", "3.200.1.1", "41.200.1.1",
                                      "81.2.69.160", "10.1.1.1", "200.0.0.0/8", "2.0.0.0/8",
                                      "5.0.0.0/8", "0.0.0.0/0", "8.8.8.8/20" };
    for (size_t i = 0; i < ARRAY_LEN(v4); i++) {
        geo_answer_t x = look(db_flat, v4[i]), y = look(db_flat4, v4[i]);
        assert_int_equal(x.country, y.country);
        assert_int_equal(x.continent, y.continent);
        assert_int_equal(x.scope, y.scope);
    }
    expect(db_flat4, "::ffff:81.2.69.160", "gb", "europe", 120);
    expect(db_flat4, "::ffff:2.0.0.0/104", "@", "europe", 104);
    expect(db_flat4, "2a00:1450::1", "@", "@", 3);
    expect(db_flat4, "::1", "@", "@", 104);
}

/* --- special-purpose blocks -------------------------------------------- */

static const char *const special[] = {
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
};

/* First, last and a random address of every block, and the block itself as
 * a prefix, answer the world in every db, with a scope no longer than the
 * block (a shorter one means the world continues around it). */
static void test_special_blocks(void **state)
{
    (void)state;
    const geo_db_t *dbs[] = { db_country, db_lite, db_city, db_flat, db_flat4, db_edge };
    rng_t r;
    rng_seed(&r, 1);
    for (size_t d = 0; d < ARRAY_LEN(dbs); d++) {
        for (size_t i = 0; i < ARRAY_LEN(special); i++) {
            uint8_t net[16];
            unsigned len;
            int family = parse(special[i], net, &len);
            unsigned bits = family == 4 ? 32 : 128;
            for (int k = 0; k < 4; k++) {
                uint8_t a[16];
                memcpy(a, net, 16);
                for (unsigned bit = len; bit < bits; bit++) {
                    int v = k == 0 ? 0 : k == 1 ? 1 : (int)(rng_next(&r) & 1);
                    if (v)
                        a[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
                }
                unsigned prefix = k == 3 ? len : bits;
                geo_answer_t ans;
                geo_lookup(dbs[d], family, a, prefix, &ans);
                if (ans.country != AREA_WORLD || ans.continent != AREA_WORLD || ans.scope > len) {
                    print_error("db %zu, %s (k=%d): %s %s /%u\n", d, special[i], k,
                                codes_area_name(ans.country), codes_area_name(ans.continent),
                                ans.scope);
                    fail();
                }
                assert_true(geo_addr_is_special(family, a));
            }
        }
    }
    /* The flat db maps many of them (10/8 US, 127/8 US, fc00::/7 US...). */
    expect(db_flat, "10.1.2.3", "@", "@", 7);
    expect(db_flat, "127.0.0.1", "@", "@", 3);
    expect(db_flat, "192.168.1.1", "@", "@", 5);
    expect(db_flat, "203.0.113.9", "@", "@", 7);
    expect(db_flat, "100.64.1.1", "@", "@", 3);
    expect(db_flat, "225.1.1.1", "@", "@", 3);
    expect(db_flat, "2001:db8::1", "@", "@", 6);
    expect(db_flat, "fc00::1", "@", "@", 1);
    expect(db_flat, "fe80::1", "@", "@", 1);
    /* ::1 lies in ::/96, where the IPv4 trie (0.0.0.0/8 world) is. */
    expect(db_flat, "::1", "@", "@", 104);
    expect(db_flat, "::", "@", "@", 104);
    /* The pinned block merged with the empty space around it. */
    expect(db_flat, "203.0.114.1", "@", "@", 7);
    expect(db_flat, "2001:db9::1", "@", "@", 6);
}

/* --- IPv4-mapped IPv6 --------------------------------------------------- */

static void test_mapped(void **state)
{
    (void)state;
    const geo_db_t *dbs[] = { db_country, db_lite, db_city, db_flat, db_flat4, db_edge };
    expect(db_country, "::ffff:81.2.69.160", "gb", "europe", 123);
    expect(db_country, "::ffff:81.2.69.160/120", "@", "@", 120);
    expect(db_flat, "::ffff:2.0.0.0/104", "@", "europe", 104);
    expect(db_flat, "::ffff:10.0.0.1", "@", "@", 103);
    rng_t r;
    rng_seed(&r, 2);
    static const uint8_t seeds[][4] = { { 81, 2, 69, 160 }, { 2, 1, 2, 3 }, { 41, 1, 1, 1 },
                                        { 89, 160, 20, 112 }, { 67, 43, 156, 1 },
                                        { 200, 1, 2, 3 }, { 10, 1, 1, 1 } };
    for (size_t d = 0; d < ARRAY_LEN(dbs); d++) {
        for (int i = 0; i < 20000; i++) {
            uint8_t a4[4], a6[16] = { [10] = 0xff, [11] = 0xff };
            uint32_t x = (uint32_t)rng_next(&r);
            memcpy(a4, &x, 4);
            if (i & 1) {   /* near a known network, so answers vary */
                memcpy(a4, seeds[(size_t)i % ARRAY_LEN(seeds)], 3);
            }
            memcpy(a6 + 12, a4, 4);
            unsigned prefix = (unsigned)rng_below(&r, 33);
            geo_answer_t g4, g6;
            geo_lookup(dbs[d], 4, a4, prefix, &g4);
            geo_lookup(dbs[d], 6, a6, 96 + prefix, &g6);
            assert_int_equal(g4.country, g6.country);
            assert_int_equal(g4.continent, g6.continent);
            assert_int_equal(g4.scope + 96, g6.scope);
        }
    }
}

/* --- prefixes ------------------------------------------------------------ */

static void test_prefixes(void **state)
{
    (void)state;
    /* Shorter than the db networks: one continent, or the world. */
    expect(db_flat, "2.0.0.0/8", "@", "europe", 8);
    expect(db_flat, "41.0.0.0/8", "@", "africa", 8);
    expect(db_flat, "200.0.0.0/8", "@", "south-america", 8);
    expect(db_flat, "5.0.0.0/8", "@", "@", 8);          /* DE + US */
    expect(db_flat, "3.0.0.0/7", "@", "@", 7);          /* 2/8 Europe + 3/8 US */
    expect(db_flat, "3.0.0.0/8", "us", "north-america", 8);
    expect(db_flat, "3.0.0.0/6", "@", "@", 6);
    expect(db_flat, "81.2.69.0/23", "@", "@", 23);      /* GB + nothing */
    expect(db_flat, "0.0.0.0/0", "@", "@", 0);
    expect(db_flat, "::/0", "@", "@", 0);
    expect(db_flat, "2a01::/16", "@", "europe", 16);
    expect(db_flat, "2a01::/15", "@", "@", 15);         /* 2a00::/16 is partly unknown */
    expect(db_flat, "2a01:4f8::/20", "@", "europe", 20);
    expect(db_country, "2001:220::/112", "@", "@", 112); /* SE + KR */
    expect(db_country, "81.2.69.128/26", "@", "@", 26);
    /* Longer than the db network: the network's own length. */
    expect(db_flat, "2.1.0.0/16", "fr", "europe", 9);
    expect(db_flat, "81.2.69.0/30", "gb", "europe", 24);
    expect(db_flat, "2a01:4f8::/48", "de", "europe", 32);
    expect(db_flat, "2a01:4f8::/56", "de", "europe", 32);
    expect(db_country, "81.2.69.160/30", "gb", "europe", 27);
    expect(db_country, "81.2.69.160/27", "gb", "europe", 27);
    /* Prefixes below the first-level stride (16 bits) take the slow path. */
    expect(db_flat, "2.128.0.0/9", "@", "europe", 9);
    expect(db_flat, "2.0.0.0/9", "fr", "europe", 9);
    expect(db_flat, "2a00::/12", "@", "@", 12);
    /* Out-of-range prefixes are clamped to the family's length. */
    expect(db_flat, "1.0.0.1/40", "au", "oceania", 24);
}

/* Prefixes of every length up to a network and past it, including ones
 * that end inside a mixed subtree: the answer must be what walking bit by
 * bit gives (a multibit layout, tried and measured, has to keep this). */
static void test_prefixes_inside_nodes(void **state)
{
    (void)state;
    /* Mixed below the prefix, one continent throughout: 17 = 16 + 1,
     * 18 = 16 + 2, 19 = 16 + 3 bits into the node after the stride. */
    expect(db_flat, "2a01::/17", "@", "europe", 17);
    expect(db_flat, "2a01::/18", "@", "europe", 18);
    expect(db_flat, "2a01::/19", "@", "europe", 19);
    expect(db_flat, "2a01:4f8::/21", "@", "europe", 21);
    expect(db_flat, "2a01:4f8::/23", "@", "europe", 23);
    expect(db_flat, "2a01:4f8::/25", "@", "europe", 25);
    expect(db_flat, "2a01:4f8::/31", "@", "europe", 31);
    /* Mixed with unknown space or other continents: the world. */
    expect(db_flat, "2a00:1450::/29", "@", "@", 29);
    expect(db_flat, "2a00:1450::/31", "@", "@", 31);
    expect(db_flat, "2c0f:f000::/19", "@", "@", 19);
    expect(db_flat, "2c0f:8000::/17", "@", "@", 17);
    expect(db_country, "2001:220::/125", "@", "@", 125);
    expect(db_country, "2001:220::/126", "@", "@", 126);
    expect(db_country, "2001:220::1/127", "@", "@", 127);   /* SE + KR, 3 bits in */
    expect(db_country, "81.2.69.142/29", "@", "@", 29);
    expect(db_country, "81.2.69.142/30", "@", "@", 30);
    /* One leaf over every entry the prefix covers: the leaf's own depth,
     * which lies inside the node (2a02:ff80::/29 starts 1 bit into the
     * depth-28 node). */
    expect(db_country, "2a02:ff80::/30", "de", "europe", 29);
    expect(db_country, "2a02:ff80::/31", "de", "europe", 29);
    expect(db_country, "2a02:d500::/31", "@", "europe", 29);  /* continent-only leaf */
    expect(db_country, "81.2.69.142/31", "gb", "europe", 31);
    /* The same inside the IPv4 trie under ::ffff:0:0/96, in IPv6 bits. */
    expect(db_country, "::ffff:81.2.69.142/126", "@", "@", 126);
    expect(db_country, "::ffff:81.2.69.142/127", "gb", "europe", 127);
    expect(db_country, "::ffff:81.2.69.160/126", "gb", "europe", 123);
    /* Below the stride (from the root node): 9 = 8 + 1, 15 = 12 + 3. */
    expect(db_flat, "2.128.0.0/9", "@", "europe", 9);
    expect(db_flat, "2a01::/15", "@", "@", 15);
}

/* geo.h's rule, bit by bit: the answer for a prefix follows from the
 * answers for its two halves one bit longer.  When both are one leaf that
 * already covers the prefix (scope <= prefix), it is that leaf; otherwise
 * the prefix ends inside a mix: no country, the continent both halves
 * share, scope = prefix.  Checked for every prefix length of addresses near
 * the data, so every position inside a 4-bit node is exercised. */
static void test_prefix_halves(void **state)
{
    (void)state;
    const geo_db_t *dbs[] = { db_country, db_lite, db_city, db_flat, db_flat4, db_edge };
    static const char *const seeds[] = { "81.2.69.160", "89.160.20.112", "2.125.160.216",
                                         "67.43.156.1", "175.16.199.1", "2.1.2.3",
                                         "41.128.1.1", "200.1.2.3", "9.9.12.1",
                                         "2001:220::1", "2001:218::1", "2a02:d500::1",
                                         "2a01:4f8::1", "2a00:1450::1", "2a02:ff80::1",
                                         "::ffff:81.2.69.142", "::81.2.69.142",
                                         "2002:5102:4500::" };
    rng_t r;
    rng_seed(&r, 9);
    for (size_t d = 0; d < ARRAY_LEN(dbs); d++) {
        for (int i = 0; i < 3000; i++) {
            uint8_t a[16];
            unsigned prefix;
            int family = parse(seeds[(size_t)i % ARRAY_LEN(seeds)], a, &prefix);
            unsigned bits = family == 4 ? 32 : 128;
            unsigned keep = (unsigned)rng_below(&r, bits + 1);
            for (unsigned bit = keep; bit < bits; bit++)
                if (rng_next(&r) & 1)
                    a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            for (unsigned p = 0; p < bits; p++) {
                uint8_t h[2][16];
                geo_answer_t whole, half[2];
                geo_lookup(dbs[d], family, a, p, &whole);
                for (int b = 0; b < 2; b++) {
                    memcpy(h[b], a, 16);
                    h[b][p / 8] = (uint8_t)((h[b][p / 8] & ~(0x80 >> (p % 8))) |
                                            (b ? 0x80 >> (p % 8) : 0));
                    geo_lookup(dbs[d], family, h[b], p + 1, &half[b]);
                }
                geo_answer_t want;
                if (half[0].country == half[1].country &&
                    half[0].continent == half[1].continent && half[0].scope == half[1].scope &&
                    half[0].scope <= p) {
                    want = half[0];
                } else {
                    want.country = AREA_WORLD;
                    want.continent = half[0].continent == half[1].continent ? half[0].continent
                                                                            : AREA_WORLD;
                    want.scope = (uint8_t)p;
                }
                if (whole.country != want.country || whole.continent != want.continent ||
                    whole.scope != want.scope) {
                    char s[INET6_ADDRSTRLEN];
                    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s));
                    print_error("db %zu: %s/%u -> %s %s /%u, halves say %s %s /%u\n", d, s, p,
                                codes_area_name(whole.country), codes_area_name(whole.continent),
                                whole.scope, codes_area_name(want.country),
                                codes_area_name(want.continent), want.scope);
                    fail();
                }
            }
        }
    }
}

/* Bits after the prefix never change the answer, and the scope never
 * exceeds the prefix. */
static void test_bits_after_prefix(void **state)
{
    (void)state;
    const geo_db_t *dbs[] = { db_country, db_flat, db_flat4 };
    rng_t r;
    rng_seed(&r, 3);
    for (size_t d = 0; d < ARRAY_LEN(dbs); d++) {
        for (int i = 0; i < 20000; i++) {
            int family = i & 1 ? 6 : 4;
            unsigned bits = family == 4 ? 32 : 128;
            unsigned prefix = (unsigned)rng_below(&r, bits + 1);
            uint8_t a[16], b[16];
            uint64_t x = rng_next(&r), y = rng_next(&r);
            memcpy(a, &x, 8);
            memcpy(a + 8, &y, 8);
            if (family == 6 && (i & 2)) {
                a[0] = 0x2a;
                a[1] = (uint8_t)(i & 3);
            }
            if (family == 6 && (i & 6) == 6) {
                memset(a, 0, 10);
                a[10] = a[11] = 0xff;
            }
            memcpy(b, a, 16);
            for (unsigned bit = prefix; bit < bits; bit++)
                b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            geo_answer_t ga, gb;
            geo_lookup(dbs[d], family, a, prefix, &ga);
            geo_lookup(dbs[d], family, b, prefix, &gb);
            assert_true(ga.scope <= prefix);
            assert_int_equal(ga.country, gb.country);
            assert_int_equal(ga.continent, gb.continent);
            assert_int_equal(ga.scope, gb.scope);
        }
    }
}

/* An address inside the db's data: a random walk down the binary trie to
 * a leaf, random bits after it.  Uniformly random addresses would mostly
 * fall in the few big blocks of a small test db. */
static void addr_in_db(const geo_db_t *db, int family, rng_t *r, uint8_t a[16])
{
    uint64_t x = rng_next(r), y = rng_next(r);
    memcpy(a, &x, 8);
    memcpy(a + 8, &y, 8);
    uint32_t ref = db->root[family == 4 ? 0 : 1];
    for (unsigned d = 0; !(ref & GEO_LEAF) && d < (family == 4 ? 32u : 128u); d++) {
        unsigned bit = (unsigned)(rng_next(r) & 1);
        uint8_t m = (uint8_t)(0x80 >> (d % 8));
        a[d / 8] = (uint8_t)(bit ? a[d / 8] | m : a[d / 8] & ~m);
        ref = db->nodes[ref].child[bit];
    }
}

static void expect_same(const geo_answer_t *want, const geo_answer_t *got)
{
    assert_int_equal(got->country, want->country);
    assert_int_equal(got->continent, want->continent);
    assert_int_equal(got->scope, want->scope);
}

/* The fast paths (stride table, multibit nodes, batches) answer exactly as
 * the binary trie, for every prefix length, in every db. */
static void test_fast_paths_agree(void **state)
{
    (void)state;
    const geo_db_t *dbs[] = { db_country, db_lite, db_city, db_flat, db_flat4, db_edge };
    rng_t r;
    rng_seed(&r, 11);
    static geo_req_t reqs[GEO_BATCH_MAX];
    geo_req_t *ptrs[GEO_BATCH_MAX];
    for (size_t d = 0; d < ARRAY_LEN(dbs); d++) {
        unsigned checked = 0, fast = 0;
        while (checked < 60000) {
            unsigned n = 1 + (unsigned)rng_below(&r, GEO_BATCH_MAX);
            for (unsigned i = 0; i < n; i++) {
                geo_req_t *q = &reqs[i];
                ptrs[i] = q;
                unsigned kind = (unsigned)rng_below(&r, 8);
                q->family = kind < 3 ? 4 : kind < 7 ? 6 : (int)rng_below(&r, 8);
                addr_in_db(dbs[d], q->family == 4 ? 4 : 6, &r, q->addr);
                if (q->family == 6 && kind == 6) {      /* IPv4-mapped */
                    memset(q->addr, 0, 10);
                    q->addr[10] = q->addr[11] = 0xff;
                }
                unsigned bits = q->family == 4 ? 32 : 128;
                /* Mostly the prefixes that matter (full, ECS caps), but all. */
                switch (rng_below(&r, 4)) {
                case 0: q->prefix = bits; break;
                case 1: q->prefix = q->family == 4 ? 24 : 56; break;
                default: q->prefix = (unsigned)rng_below(&r, bits + 2); break;
                }
            }
            geo_lookup_batch(dbs[d], ptrs, n);
            for (unsigned i = 0; i < n; i++) {
                geo_answer_t want, single;
                geo_lookup_binary(dbs[d], reqs[i].family, reqs[i].addr, reqs[i].prefix, &want);
                geo_lookup(dbs[d], reqs[i].family, reqs[i].addr, reqs[i].prefix, &single);
                expect_same(&want, &single);
                expect_same(&want, &reqs[i].ans);
                /* Answers from below the first multibit level. */
                fast += want.scope > 16 + GEO_MB_BITS;
                checked++;
            }
        }
        /* Many answers came from deep in the tree, not the stride. */
        if (fast < checked / 10)
            fail_msg("db %zu: only %u of %u answers deeper than /%u", d, fast, checked,
                     16 + GEO_MB_BITS);
    }
    /* Fast-path figures of a real db: some multibit nodes were built. */
    assert_true(db_country->nmb > 0 && db_country->nmb_leaves > 0);
}

/* Every leaf position of every multibit node, checked against the binary
 * trie: a full address that reaches it and the prefix of the node's whole
 * span (the answer then comes from the binary trie, or from the leaf when
 * the leaf covers the span).  Leaves are kept in two places (the first
 * GEO_MB_INLINE in the node, the rest in mb_leaves); both must be met. */
typedef struct {
    const geo_db_t *db;
    int family;
    unsigned positions, inline_leaves, outside_leaves;
} mb_check_t;

static void check_position(mb_check_t *c, uint64_t hi, unsigned prefix)
{
    uint8_t a[16] = { 0 };
    if (c->family == 4) {
        uint32_t v = htonl((uint32_t)(hi >> 32));
        memcpy(a, &v, 4);
    } else {
        for (unsigned i = 0; i < 8; i++)
            a[i] = (uint8_t)(hi >> (56 - 8 * i));
    }
    geo_answer_t want, got;
    geo_lookup_binary(c->db, c->family, a, prefix, &want);
    geo_lookup(c->db, c->family, a, prefix, &got);
    expect_same(&want, &got);
    geo_req_t req = { .family = c->family, .prefix = (uint8_t)prefix };
    memcpy(req.addr, a, 16);
    geo_req_t *p = &req;
    geo_lookup_batch(c->db, &p, 1);
    expect_same(&want, &req.ans);
}

static void check_mb_node(mb_check_t *c, uint32_t e, unsigned depth, uint64_t hi)
{
    const geo_mb_t *n = &c->db->mb[e];
    unsigned bits = c->family == 4 ? 32 : 128;
    for (unsigned i = 0; i < 1u << GEO_MB_BITS; i++) {
        uint64_t at = hi | (uint64_t)i << (64 - depth - GEO_MB_BITS);
        if (n->inner >> i & 1) {
            check_mb_node(c, n->child0 + (uint32_t)__builtin_popcountll(n->inner & ((1ull << i) - 1)),
                          depth + GEO_MB_BITS, at);
            continue;
        }
        unsigned j = (unsigned)__builtin_popcountll(n->runs & ((2ull << i) - 1)) - 1;
        if (j < GEO_MB_INLINE)
            c->inline_leaves++;
        else
            c->outside_leaves++;
        c->positions++;
        check_position(c, at, bits);
        check_position(c, at, depth + GEO_MB_BITS);
    }
}

static void check_mb_nodes(const geo_db_t *db, mb_check_t *total)
{
    for (int t = 0; t < 2; t++) {
        mb_check_t c = { .db = db, .family = t ? 6 : 4 };
        for (uint32_t s = 0; s < GEO_STRIDE_SIZE; s++) {
            uint32_t e = db->stride[t][s];
            if (!(e & GEO_LEAF))
                check_mb_node(&c, e, GEO_STRIDE_BITS, (uint64_t)s << (64 - GEO_STRIDE_BITS));
        }
        total->positions += c.positions;
        total->inline_leaves += c.inline_leaves;
        total->outside_leaves += c.outside_leaves;
    }
}

static void test_multibit_leaves(void **state)
{
    (void)state;
    const geo_db_t *dbs[] = { db_country, db_lite, db_city, db_flat, db_flat4, db_edge };
    mb_check_t total = { 0 };
    for (size_t d = 0; d < ARRAY_LEN(dbs); d++)
        check_mb_nodes(dbs[d], &total);
    print_message("multibit leaf positions: %u (%u inline, %u in mb_leaves)\n", total.positions,
                  total.inline_leaves, total.outside_leaves);
    assert_true(total.inline_leaves > 0);
    assert_true(total.outside_leaves > 0);
}

/* Against libmaxminddb itself: every full address answers as the db says
 * (the world inside special blocks, IPv4 for mapped), and so does any
 * address sharing only its first `scope` bits. */
static void test_against_libmaxminddb(void **state)
{
    (void)state;
    static const char *const paths[] = { DATA "GeoIP2-Country-Test.mmdb",
                                         DATA "GeoLite2-Country-Test.mmdb",
                                         DATA "GeoIP2-City-Test.mmdb",
                                         DATA "flat-country-test.mmdb",
                                         DATA "flat-country-v4-test.mmdb",
                                         DATA "geoip2-edge-test.mmdb" };
    const geo_db_t *dbs[] = { db_country, db_lite, db_city, db_flat, db_flat4, db_edge };
    /* Seeds near the data, so most samples hit networks, not empty space. */
    static const char *const seeds[] = { "81.2.69.160", "89.160.20.112", "2.125.160.216",
                                         "67.43.156.1", "175.16.199.1", "2.1.2.3",
                                         "41.128.1.1", "200.1.2.3", "9.9.12.1",
                                         "2001:220::1", "2001:218::1", "2a02:d500::1",
                                         "2a01:4f8::1", "2a00:1450::1", "2a03::1" };
    rng_t r;
    rng_seed(&r, 4);
    for (size_t d = 0; d < ARRAY_LEN(paths); d++) {
        errs_t errs = ERRS_INIT;
        geo_mmdb_t *m = geo_mmdb_open(paths[d], &errs);
        assert_non_null(m);
        for (int i = 0; i < 20000; i++) {
            uint8_t a[16], b[16];
            unsigned prefix;
            int family = parse(seeds[(size_t)i % ARRAY_LEN(seeds)], a, &prefix);
            unsigned bits = family == 4 ? 32 : 128;
            /* Keep a random number of leading bits of the seed. */
            unsigned keep = (unsigned)rng_below(&r, bits + 1);
            for (unsigned bit = keep; bit < bits; bit++)
                if (rng_next(&r) & 1)
                    a[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            geo_answer_t ga;
            geo_lookup(dbs[d], family, a, bits, &ga);
            memcpy(b, a, 16);
            for (unsigned bit = ga.scope; bit < bits; bit++)
                if (rng_next(&r) & 1)
                    b[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
            for (int j = 0; j < 2; j++) {
                const uint8_t *x = j ? b : a;
                static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
                bool is_mapped = family == 6 && memcmp(x, mapped, 12) == 0;
                area_t c, k;
                unsigned nm;
                if (!(is_mapped ? geo_mmdb_lookup_direct(m, 4, x + 12, &c, &k, &nm)
                                : geo_mmdb_lookup_direct(m, family, x, &c, &k, &nm)))
                    continue;   /* IPv6 in an IPv4 db */
                if (geo_addr_is_special(family, x))
                    c = k = AREA_WORLD;
                if (c != ga.country || k != ga.continent) {
                    char s[INET6_ADDRSTRLEN];
                    inet_ntop(family == 4 ? AF_INET : AF_INET6, x, s, sizeof(s));
                    print_error("%s: %s: libmaxminddb %s %s, geo %s %s /%u\n", paths[d], s,
                                codes_area_name(c), codes_area_name(k),
                                codes_area_name(ga.country), codes_area_name(ga.continent),
                                ga.scope);
                    fail();
                }
            }
        }
        geo_mmdb_close(m);
    }
}

/* --- errors -------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static char tmp_path[64];

static int tmp_setup(void **state)
{
    (void)state;
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/test_geo.%ld.mmdb", (long)getpid());
    return 0;
}

static int tmp_teardown(void **state)
{
    (void)state;
    unlink(tmp_path);
    return 0;
}

static void test_errors(void **state)
{
    (void)state;
    load_fails("tests/data/geo/no-such-file.mmdb", "cannot open");
    load_fails(DATA "asn-test.mmdb", "no country data");
    load_fails(DATA, NULL);                 /* a directory */

    write_all(tmp_path, "", 0);
    load_fails(tmp_path, NULL);
    rng_t r;
    rng_seed(&r, 5);
    char garbage[4096];
    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)rng_next(&r);
    write_all(tmp_path, garbage, sizeof(garbage));
    load_fails(tmp_path, "not a MaxMind DB");

    /* Truncated copies: the metadata is at the end, so every one fails. */
    size_t len;
    char *db = read_all(DATA "GeoIP2-Country-Test.mmdb", &len);
    for (size_t cut = 0; cut < len; cut += 97) {
        write_all(tmp_path, db, cut);
        load_fails(tmp_path, NULL);
    }
    write_all(tmp_path, db, len - 1);
    load_fails(tmp_path, NULL);
    free(db);

    /* A cycle: the flat db has 24-bit records and 6-byte nodes; point node
     * 1's right record (bytes 9..11, the empty 4000::/2) back at node 1. */
    db = read_all(DATA "flat-country-test.mmdb", &len);
    char *bad = malloc(len);
    assert_non_null(bad);
    memcpy(bad, db, len);
    memcpy(bad + 9, "\0\0\1", 3);
    write_all(tmp_path, bad, len);
    load_fails(tmp_path, "corrupt search tree: deeper than");
    /* A record past the end of the data section. */
    memcpy(bad, db, len);
    memcpy(bad + 9, "\xff\xff\xff", 3);
    write_all(tmp_path, bad, len);
    load_fails(tmp_path, "corrupt search tree");
    /* Record 0 (the root again), which libmaxminddb refuses itself. */
    memcpy(bad, db, len);
    memset(bad, 0, 3);
    write_all(tmp_path, bad, len);
    load_fails(tmp_path, "corrupt search tree");
    free(bad);
    free(db);
}

/* Random damage to the tree and data of small dbs: load either fails with
 * an error or gives a db whose lookups work; never a crash (ASan/UBSan runs
 * check the "never" part).  The metadata at the end is left alone:
 * libmaxminddb 1.7.1 leaks a little on some corrupt metadata inside
 * MMDB_open (maxmind/libmaxminddb PR #356, fixed upstream), which LSan
 * would report against us; the truncation cases above damage it instead. */
static void test_corrupt_fuzz(void **state)
{
    (void)state;
    static const char *const paths[] = { DATA "flat-country-test.mmdb",
                                         DATA "GeoIP2-Country-Test.mmdb" };
    rng_t r;
    rng_seed(&r, 6);
    for (size_t p = 0; p < ARRAY_LEN(paths); p++) {
        size_t len;
        char *orig = read_all(paths[p], &len);
        char *db = malloc(len);
        assert_non_null(db);
        const char *meta = memmem(orig, len, "\xab\xcd\xefMaxMind.com", 14);
        assert_non_null(meta);
        size_t body = (size_t)(meta - orig);
        int loaded = 0, refused = 0;
        for (int i = 0; i < 300; i++) {
            memcpy(db, orig, len);
            int flips = 1 + (int)rng_below(&r, 8);
            for (int f = 0; f < flips; f++)
                db[rng_below(&r, body)] = (char)rng_next(&r);
            write_all(tmp_path, db, len);
            errs_t errs = ERRS_INIT;
            geo_db_t *g = geo_db_load(tmp_path, &errs);
            if (g) {
                loaded++;
                assert_int_equal(errs.n, 0);
                for (int k = 0; k < 200; k++) {
                    uint8_t a[16];
                    uint64_t x = rng_next(&r), y = rng_next(&r);
                    memcpy(a, &x, 8);
                    memcpy(a + 8, &y, 8);
                    geo_answer_t ans;
                    geo_lookup(g, k & 1 ? 6 : 4, a, k & 1 ? 128 : 32, &ans);
                    assert_true(ans.country < AREA_COUNT);
                    assert_true(ans.continent <= CODES_NCONTINENTS);
                }
                geo_db_free(g);
            } else {
                refused++;
                assert_true(errs.n >= 1);
                assert_non_null(strstr(errs.v[0].text, tmp_path));
            }
            errs_clear(&errs);
        }
        assert_true(loaded > 0 && refused > 0);
        free(db);
        free(orig);
    }
}

/* --- the query-path contract ------------------------------------------- */

static void test_lookup_allocates_nothing(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 8);
    static uint8_t addrs[256][16];
    for (size_t i = 0; i < ARRAY_LEN(addrs); i++) {
        uint64_t x = rng_next(&r), y = rng_next(&r);
        memcpy(addrs[i], &x, 8);
        memcpy(addrs[i] + 8, &y, 8);
    }
    unsigned sum = 0;
    unsigned long before = alloc_count;
    for (int i = 0; i < 10000; i++) {
        geo_answer_t ans;
        int family = i & 1 ? 6 : 4;
        unsigned prefix = (unsigned)(i % 3 == 0 ? (family == 4 ? 32 : 128) : i % 129);
        geo_lookup(i & 2 ? db_flat : db_country, family, addrs[i & 255], prefix, &ans);
        sum += ans.country;
    }
    static geo_req_t reqs[GEO_BATCH_MAX];
    geo_req_t *ptrs[GEO_BATCH_MAX];
    for (int i = 0; i < 1000; i++) {
        for (unsigned j = 0; j < GEO_BATCH_MAX; j++) {
            reqs[j].family = j & 1 ? 6 : 4;
            reqs[j].prefix = (unsigned)((i + j) % 129);
            memcpy(reqs[j].addr, addrs[(i + j) & 255], 16);
            ptrs[j] = &reqs[j];
        }
        geo_lookup_batch(i & 1 ? db_flat : db_country, ptrs, GEO_BATCH_MAX);
        sum += reqs[i % GEO_BATCH_MAX].ans.country;
    }
    unsigned long after = alloc_count;
    assert_int_equal(after, before);
    /* The counter works at all: */
    void *p = malloc(16);
    assert_true(alloc_count > after);
    free(p);
    assert_true(sum > 0);
}

static void test_describe(void **state)
{
    (void)state;
    char line[256];
    geo_db_describe(db_flat, line, sizeof(line));
    assert_non_null(strstr(line, "flat-country-test"));
    assert_non_null(strstr(line, "networks"));
    assert_non_null(strstr(line, "nodes"));
    assert_non_null(strstr(line, "bytes"));
    assert_non_null(strstr(line, " ms"));
    char tiny[8];
    geo_db_describe(db_flat, tiny, sizeof(tiny));
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    geo_db_free(NULL);
}

int main(void)
{
    alloc_counting_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geoip2_country),
        cmocka_unit_test(test_other_maxmind_dbs),
        cmocka_unit_test(test_flat_layout),
        cmocka_unit_test(test_geoip2_edge_records),
        cmocka_unit_test(test_ipv4_db),
        cmocka_unit_test(test_special_blocks),
        cmocka_unit_test(test_mapped),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_prefixes_inside_nodes),
        cmocka_unit_test(test_prefix_halves),
        cmocka_unit_test(test_bits_after_prefix),
        cmocka_unit_test(test_fast_paths_agree),
        cmocka_unit_test(test_multibit_leaves),
        cmocka_unit_test(test_against_libmaxminddb),
        cmocka_unit_test_setup_teardown(test_errors, tmp_setup, tmp_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_fuzz, tmp_setup, tmp_teardown),
        cmocka_unit_test(test_lookup_allocates_nothing),
        cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests_name("geo", tests, group_setup, group_teardown);
}
