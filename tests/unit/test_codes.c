/* test_codes.c -- zone name <-> area tables of geo/codes.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "geo/codes.h"

static int by_name(const char *s) { return codes_area_by_name(s, strlen(s)); }
static int by_iso(const char *s) { return codes_country_by_iso(s, strlen(s)); }
static int by_cont(const char *s) { return codes_continent_by_code(s, strlen(s)); }

static void test_area_by_name(void **state)
{
    (void)state;
    assert_int_equal(by_name("@"), AREA_WORLD);
    assert_int_equal(by_name("africa"), AREA_AFRICA);
    assert_int_equal(by_name("antarctica"), AREA_ANTARCTICA);
    assert_int_equal(by_name("asia"), AREA_ASIA);
    assert_int_equal(by_name("europe"), AREA_EUROPE);
    assert_int_equal(by_name("north-america"), AREA_NORTH_AMERICA);
    assert_int_equal(by_name("oceania"), AREA_OCEANIA);
    assert_int_equal(by_name("south-america"), AREA_SOUTH_AMERICA);
    assert_true(by_name("de") >= AREA_FIRST_COUNTRY);
    assert_int_equal(by_name("de"), by_iso("DE"));
    assert_int_equal(by_name("ac"), AREA_FIRST_COUNTRY);   /* alphabetical, "ac" first */

    /* Names as DNS labels are lower case only. */
    assert_int_equal(by_name("DE"), -1);
    assert_int_equal(by_name("De"), -1);
    assert_int_equal(by_name("Europe"), -1);
    assert_int_equal(by_name("EUROPE"), -1);
    assert_int_equal(by_name("deu"), -1);
    assert_int_equal(by_name("d"), -1);
    assert_int_equal(by_name("zz"), -1);
    assert_int_equal(by_name(""), -1);
    assert_int_equal(by_name("world"), -1);
    assert_int_equal(by_name("north america"), -1);
    assert_int_equal(by_name("europ"), -1);
    assert_int_equal(by_name("d1"), -1);
    assert_int_equal(by_name("@@"), -1);
    /* Only len bytes count; the name need not be NUL-terminated. */
    assert_int_equal(codes_area_by_name("dex", 2), by_name("de"));
    assert_int_equal(codes_area_by_name("europe.pool", 6), AREA_EUROPE);
    assert_int_equal(codes_area_by_name("@x", 1), AREA_WORLD);
    assert_int_equal(codes_area_by_name("de", 0), -1);
}

static void test_country_by_iso(void **state)
{
    (void)state;
    int de = by_iso("DE");
    assert_true(de >= AREA_FIRST_COUNTRY && de < AREA_COUNT);
    assert_int_equal(by_iso("de"), de);
    assert_int_equal(by_iso("De"), de);
    assert_int_equal(by_iso("dE"), de);
    assert_true(by_iso("US") != de);
    assert_int_equal(by_iso("ZZ"), -1);
    assert_int_equal(by_iso("zz"), -1);
    assert_int_equal(by_iso("DEU"), -1);
    assert_int_equal(by_iso("D"), -1);
    assert_int_equal(by_iso(""), -1);
    assert_int_equal(by_iso("D1"), -1);
    assert_int_equal(by_iso("@@"), -1);
    assert_int_equal(by_iso("[]"), -1);    /* just past 'Z' and before 'a' */
    assert_int_equal(codes_country_by_iso("DEX", 2), de);
    /* Pseudo-countries of old GeoIP are not countries. */
    assert_int_equal(by_iso("EU"), -1);
    assert_int_equal(by_iso("AP"), -1);
    assert_int_equal(by_iso("A1"), -1);
}

static void test_continent_by_code(void **state)
{
    (void)state;
    assert_int_equal(by_cont("AF"), AREA_AFRICA);
    assert_int_equal(by_cont("AN"), AREA_ANTARCTICA);
    assert_int_equal(by_cont("AS"), AREA_ASIA);
    assert_int_equal(by_cont("EU"), AREA_EUROPE);
    assert_int_equal(by_cont("NA"), AREA_NORTH_AMERICA);
    assert_int_equal(by_cont("OC"), AREA_OCEANIA);
    assert_int_equal(by_cont("SA"), AREA_SOUTH_AMERICA);
    assert_int_equal(by_cont("eu"), AREA_EUROPE);
    assert_int_equal(by_cont("XX"), -1);
    assert_int_equal(by_cont("AP"), -1);
    assert_int_equal(by_cont("E"), -1);
    assert_int_equal(by_cont("EUR"), -1);
    assert_int_equal(by_cont(""), -1);
    assert_int_equal(by_cont("@@"), -1);
    assert_int_equal(by_cont("--"), -1);
}

static void test_area_name_and_label(void **state)
{
    (void)state;
    assert_string_equal(codes_area_name(AREA_WORLD), "@");
    assert_string_equal(codes_area_name(AREA_EUROPE), "europe");
    assert_string_equal(codes_area_name(AREA_NORTH_AMERICA), "north-america");
    assert_string_equal(codes_area_name((area_t)by_iso("DE")), "de");
    assert_string_equal(codes_area_name(AREA_COUNT), "?");
    assert_string_equal(codes_area_name(0xffff), "?");
    assert_string_equal(codes_area_label(AREA_WORLD), "global");
    assert_string_equal(codes_area_label(AREA_EUROPE), "Europe");
    assert_string_equal(codes_area_label((area_t)by_iso("de")), "Germany");
    assert_string_equal(codes_area_label(AREA_COUNT), "?");
    /* Every area's name reads back to it, in order, and has a label. */
    for (unsigned a = 0; a < AREA_COUNT; a++) {
        const char *n = codes_area_name((area_t)a);
        assert_int_equal(by_name(n), (int)a);
        assert_true(strlen(codes_area_label((area_t)a)) > 0);
        if (a > AREA_FIRST_COUNTRY)
            assert_true(strcmp(codes_area_name((area_t)(a - 1)), n) < 0);
        if (a >= AREA_FIRST_COUNTRY)
            assert_int_equal(by_iso(n), (int)a);
    }
}

static void test_continent_of_and_parent(void **state)
{
    (void)state;
    static const struct { const char *cc; area_t cont; } want[] = {
        { "de", AREA_EUROPE },        { "ru", AREA_EUROPE },    { "cy", AREA_EUROPE },
        { "tr", AREA_ASIA },          { "jp", AREA_ASIA },      { "eg", AREA_AFRICA },
        { "za", AREA_AFRICA },        { "us", AREA_NORTH_AMERICA }, { "br", AREA_SOUTH_AMERICA },
        { "au", AREA_OCEANIA },       { "aq", AREA_ANTARCTICA },
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        area_t c = (area_t)by_name(want[i].cc);
        assert_int_equal(codes_continent_of(c), want[i].cont);
        assert_int_equal(codes_parent(c), want[i].cont);
        assert_true(codes_is_country(c));
        assert_false(codes_is_continent(c));
    }
    for (area_t k = AREA_AFRICA; k <= AREA_SOUTH_AMERICA; k++) {
        assert_int_equal(codes_continent_of(k), k);
        assert_int_equal(codes_parent(k), AREA_WORLD);
        assert_true(codes_is_continent(k));
        assert_false(codes_is_country(k));
    }
    assert_int_equal(codes_continent_of(AREA_WORLD), AREA_WORLD);
    assert_int_equal(codes_parent(AREA_WORLD), AREA_WORLD);
    assert_false(codes_is_country(AREA_WORLD));
    assert_false(codes_is_continent(AREA_WORLD));
    assert_int_equal(codes_continent_of(AREA_COUNT), AREA_WORLD);
    assert_int_equal(codes_continent_of(0xffff), AREA_WORLD);
    assert_false(codes_is_country(AREA_COUNT));
    /* Every country has a real continent. */
    for (unsigned a = AREA_FIRST_COUNTRY; a < AREA_COUNT; a++)
        assert_true(codes_is_continent(codes_continent_of((area_t)a)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_area_by_name),
        cmocka_unit_test(test_country_by_iso),
        cmocka_unit_test(test_continent_by_code),
        cmocka_unit_test(test_area_name_and_label),
        cmocka_unit_test(test_continent_of_and_parent),
    };
    return cmocka_run_group_tests_name("codes", tests, NULL, NULL);
}
