/* test_zones.c -- zone file loading (records, checks, errors with file:line)
 * and classification of query names under an apex. */
#include "testutil.h"

#include "dnsd/base/wire.h"
#include "dnsd/conf.h"
#include "zones/zones.h"

static const char *zone_text =
    "$ORIGIN pool.example.org.\n"
    "$TTL 3600\n"
    "@ IN SOA ns1.example.org. hostmaster.example.org. ( 7 3600 600 1209600 150 )\n"
    "  IN NS ns1.example.org.\n"
    "  IN NS ns2.example.org.\n"
    "  IN NS ns2.example.org.\n"   /* duplicate: dropped */
    "  IN MX 10 mail.example.org.\n"
    "www 300 IN CNAME www.example.org.\n"
    "a.b.c IN TXT \"deep\"\n"
    "0 IN TXT \"numbered pool names may carry other types\"\n";

static char *write_zone(const char *name, const char *text)
{
    char *p = tu_write(name, text);
    static char keep[4][256];
    static unsigned n;
    char *k = keep[n++ % 4];
    snprintf(k, 256, "%s", p);
    return k;
}

static zones_t *load(const char *text, errs_t *e)
{
    uint8_t apex[256];
    unsigned alen = conf_name_to_wire("pool.example.org", apex);
    char *file = write_zone("pool.zone", text);
    zones_spec_t spec = { apex, alen, "pool.example.org", file };
    char *vendors[] = { "debian", "android" };
    return zones_load(&spec, 1, vendors, 2, 4, e);
}

static unsigned wire(const char *name, uint8_t *out)
{
    return conf_name_to_wire(name, out);
}

/* The name index (zones_lookup) as the query parser uses it: the name
 * zero-padded to whole words, anything after those, and its hash.  Names
 * of 24, 32, 33 and 40 bytes: up to 4 words are compared without a loop,
 * longer names in one.  Each is found whatever lies past its words; with
 * its hash but one letter changed, in its first word or its last, it is
 * not. */
static void test_name_index(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    uint8_t apex[256];
    unsigned alen = conf_name_to_wire("pool.example.org", apex);
    char *file = write_zone("pool.zone", zone_text);
    zones_spec_t spec = { apex, alen, "pool.example.org", file };
    char *vendors[] = { "abcde", "abcdefghijklm", "abcdefghijklmn", "abcdefghijklmnopqrstu" };
    zones_t *zs = zones_load(&spec, 1, vendors, 4, 4, &e);
    errs_print(&e, stderr, "");
    assert_non_null(zs);
    static const unsigned lens[] = { 24, 32, 33, 40 };
    for (unsigned i = 0; i < 4; i++) {
        char text[64];
        uint8_t name[256], buf[256 + 8];
        snprintf(text, sizeof text, "%s.pool.example.org", vendors[i]);
        unsigned len = wire(text, name);
        assert_int_equal(len, lens[i]);
        unsigned padded = (len + 7) / 8 * 8;
        memset(buf, 0xa5, sizeof buf);
        memset(buf, 0, padded);
        memcpy(buf, name, len);
        uint64_t h = zones_name_hash(buf, len);
        const qname_info_t *qi = zones_lookup(zs, buf, len, h);
        assert_non_null(qi);
        assert_int_equal(qi->kind, QK_POOL);
        /* With the right hash, a name one byte off anywhere is not it. */
        for (unsigned b = 0; b < len; b++) {
            buf[b] ^= 1;
            if (zones_lookup(zs, buf, len, h))
                fail_msg("%s with byte %u changed was found", text, b);
            buf[b] ^= 1;
        }
    }
    zones_free(zs);
}

static void test_load_records(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    zones_t *zs = load(zone_text, &e);
    errs_print(&e, stderr, "");
    assert_non_null(zs);
    const zone_t *z = &zs->v[0];
    assert_int_equal(z->serial, 7);
    assert_non_null(z->apex_node);
    /* SOA first (ANY prefers it), NS has 2 distinct records. */
    assert_int_equal(z->apex_node->rrsets[0].type, DNS_T_SOA);
    const zone_rrset_t *ns = zone_node_rrset(z->apex_node, DNS_T_NS);
    assert_non_null(ns);
    assert_int_equal(ns->count, 2);
    /* Negative-answer SOA: TTL = min(3600, minimum 150). */
    assert_int_equal(wire_get32(z->soa_neg + 4), 150);
    assert_int_equal(wire_get16(z->soa_neg), DNS_T_SOA);

    uint8_t w[256];
    unsigned l = wire("www.pool.example.org", w);
    w[1] = 'W';
    assert_null(zone_find_node(z, w, l)); /* lookups take lower case */
    l = wire("www.pool.example.org", w);
    const zone_node_t *n = zone_find_node(z, w, l);
    assert_non_null(n);
    const zone_rrset_t *cn = zone_node_rrset(n, DNS_T_CNAME);
    assert_non_null(cn);
    assert_int_equal(wire_get32(cn->wire + 4), 300);
    /* Empty non-terminals exist with no records. */
    l = wire("b.c.pool.example.org", w);
    n = zone_find_node(z, w, l);
    assert_non_null(n);
    assert_int_equal(n->nrrsets, 0);
    l = wire("c.pool.example.org", w);
    assert_non_null(zone_find_node(z, w, l));
    l = wire("x.c.pool.example.org", w);
    assert_null(zone_find_node(z, w, l));
    zones_free(zs);
}

static void classify(const zones_t *zs, const char *name, qname_info_t *qi)
{
    uint8_t w[256];
    unsigned l = wire(name, w);
    assert_true(l > 0);
    zones_classify(zs, w, l, qi);
}

static void test_classify(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    zones_t *zs = load(zone_text, &e);
    assert_non_null(zs);
    qname_info_t qi;
    area_t de = (area_t)codes_area_by_name("de", 2);

    classify(zs, "pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_true(qi.geo);
    assert_int_equal(qi.sub, -1);
    assert_int_equal(qi.apex_off, 0);
    assert_non_null(qi.node);

    classify(zs, "3.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_true(qi.geo);
    assert_int_equal(qi.sub, 3);
    assert_int_equal(qi.apex_off, 2);

    classify(zs, "0.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_non_null(qi.node); /* its TXT from the zone file */

    classify(zs, "de.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_false(qi.geo);
    assert_int_equal(qi.area, de);
    assert_int_equal(qi.sub, -1);

    classify(zs, "2.de.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_int_equal(qi.area, de);
    assert_int_equal(qi.sub, 2);
    assert_int_equal(qi.apex_off, 5);

    classify(zs, "1.north-america.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_int_equal(qi.area, AREA_NORTH_AMERICA);
    assert_int_equal(qi.sub, 1);

    classify(zs, "debian.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_true(qi.geo);
    assert_int_equal(qi.sub, -1);

    classify(zs, "2.android.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL);
    assert_true(qi.geo);
    assert_int_equal(qi.sub, 2);

    classify(zs, "_country.pool.example.org", &qi);
    assert_int_equal(qi.kind, QK_DEBUG);

    /* Not pool names. */
    const char *other[] = { "4.pool.example.org", "00.pool.example.org", "x.0.pool.example.org",
                            "zz.pool.example.org", "0.zz.pool.example.org", "de.0.pool.example.org",
                            "0.1.pool.example.org", "1.2.de.pool.example.org", "0.de.de.pool.example.org",
                            "www.pool.example.org", "debian.de.pool.example.org", "@.pool.example.org" };
    for (size_t i = 0; i < ARRAY_LEN(other); i++) {
        classify(zs, other[i], &qi);
        if (qi.kind != QK_OTHER)
            fail_msg("%s classified as %d", other[i], qi.kind);
        assert_ptr_equal(qi.zone, &zs->v[0]);
    }
    classify(zs, "www.pool.example.org", &qi);
    assert_non_null(qi.node);
    classify(zs, "4.pool.example.org", &qi);
    assert_null(qi.node);

    const char *outside[] = { "example.org", "org", "pool.example.org.evil", "xpool.example.org", "." };
    for (size_t i = 0; i < ARRAY_LEN(outside); i++) {
        classify(zs, outside[i], &qi);
        if (qi.kind != QK_OUTSIDE)
            fail_msg("%s classified as %d", outside[i], qi.kind);
        assert_null(qi.zone);
    }
    zones_free(zs);
}

static void test_nested_zones(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    uint8_t a1[256], a2[256];
    unsigned l1 = conf_name_to_wire("example.org", a1), l2 = conf_name_to_wire("pool.example.org", a2);
    char f1[256];
    snprintf(f1, sizeof f1, "%s", tu_write("outer.zone", "$ORIGIN example.org.\n@ SOA a. b. 1 2 3 4 5\n@ NS a.\n"));
    char *f2 = tu_write("inner.zone", "$ORIGIN pool.example.org.\n@ SOA a. b. 1 2 3 4 5\n@ NS a.\n");
    zones_spec_t specs[] = { { a1, l1, "example.org", f1 }, { a2, l2, "pool.example.org", f2 } };
    zones_t *zs = zones_load(specs, 2, NULL, 0, 4, &e);
    errs_print(&e, stderr, "");
    assert_non_null(zs);
    qname_info_t qi;
    classify(zs, "1.pool.example.org", &qi);
    assert_ptr_equal(qi.zone, &zs->v[1]); /* the longest apex wins */
    assert_int_equal(qi.kind, QK_POOL);
    classify(zs, "www.example.org", &qi);
    assert_ptr_equal(qi.zone, &zs->v[0]);
    classify(zs, "de.example.org", &qi);
    assert_int_equal(qi.kind, QK_POOL); /* every configured apex is a pool apex */
    zones_free(zs);
}

static const struct {
    const char *body;
    const char *want;
} bad[] = {
    { "@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\nwww IN A 999.1.1.1\n", "pool.zone:3: " },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ IN NS a.\nwww IN BOGUS x\n", "pool.zone:3: " },
    { "@ IN NS a.\n", "pool.zone: no SOA record at the apex pool.example.org" },
    { "@ IN SOA a. b. 1 2 3 4 5\n", "pool.zone: no NS records at the apex" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\nwww.example.com. IN A 192.0.2.1\n",
      "pool.zone:3: www.example.com is outside the zone pool.example.org" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\nxpool.example.org. IN A 192.0.2.1\n", ":3: xpool.example.org is outside" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\nwww CH TXT \"x\"\n", ":3: www.pool.example.org TXT: only class IN" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\n* IN TXT \"x\"\n", ":3: *.pool.example.org: wildcard names are not supported" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\nsub IN NS ns.sub\n", ":3: sub.pool.example.org: delegations" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\nsub IN SOA a. b. 1 2 3 4 5\n", ":3: sub.pool.example.org: SOA is allowed at the apex only" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\n@ IN CNAME x.\n", ":3: pool.example.org: a CNAME cannot be at the apex" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\nwww CNAME a.\nwww TXT \"x\"\n", "www.pool.example.org: a CNAME cannot share its name" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\nwww CNAME a.\nwww CNAME b.\n", ":4: more than one CNAME" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ IN SOA c. d. 1 2 3 4 5\n@ NS a.\n", ":2: a second SOA record" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\n@ IN A 192.0.2.1\n", ":3: pool.example.org A: this name is answered by the pool" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\n2.de IN AAAA 2001:db8::1\n", ":3: 2.de.pool.example.org AAAA: this name is answered by the pool" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\ndebian IN CNAME x.\n", ":3: debian.pool.example.org CNAME: this name is answered" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\n_country IN TXT \"x\"\n", ":3: _country.pool.example.org TXT: this name" },
    { "@ IN SOA a. b. 1 2 3 4 5\n@ NS a.\n$INCLUDE other.zone\n", ":3: $INCLUDE is not supported" },
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        errs_t e = ERRS_INIT;
        char body[512];
        snprintf(body, sizeof body, "$ORIGIN pool.example.org.\n$TTL 60\n%s", bad[i].body);
        /* Two header lines: shift the expected line numbers by two. */
        char want[256];
        const char *colon = strstr(bad[i].want, ":");
        if (colon && colon[1] >= '0' && colon[1] <= '9') {
            int line = atoi(colon + 1);
            const char *rest = strchr(colon + 1, ':');
            snprintf(want, sizeof want, "%.*s:%d%s", (int)(colon - bad[i].want), bad[i].want, line + 2, rest);
        } else {
            snprintf(want, sizeof want, "%s", bad[i].want);
        }
        zones_t *zs = load(body, &e);
        if (zs || !tu_errs_have(&e, want))
            fail_msg("case %zu did not give \"%s\"", i, want);
        errs_clear(&e);
    }
    errs_t e = ERRS_INIT;
    uint8_t apex[256];
    unsigned alen = conf_name_to_wire("pool.example.org", apex);
    zones_spec_t spec = { apex, alen, "pool.example.org", "/nonexistent/z.zone" };
    assert_null(zones_load(&spec, 1, NULL, 0, 4, &e));
    assert_true(tu_errs_have(&e, "/nonexistent/z.zone: cannot open zone file"));
    errs_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_records),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_nested_zones),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_name_index),
    };
    int rc = cmocka_run_group_tests_name("zones", tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
