/* codes.c -- zone name <-> area number tables, see codes.h. */
#include "codes.h"

#include <string.h>

struct country_info {
    const char *code;     /* lower-case ISO 3166-1 alpha-2 */
    area_t continent;
    const char *name;
};

#include "codes_table.inc"

_Static_assert(CODES_NCOUNTRIES_GEN == CODES_NCOUNTRIES,
               "codes.h CODES_NCOUNTRIES must match geo/country-continent.tsv");

/* Continent names as the NTP Pool spells its zones, and GeoIP2's codes. */
static const struct {
    const char *name, *code, *label;
} continents[CODES_NCONTINENTS + 1] = {
    [AREA_WORLD] = { "@", "", "global" },
    [AREA_AFRICA] = { "africa", "AF", "Africa" },
    [AREA_ANTARCTICA] = { "antarctica", "AN", "Antarctica" },
    [AREA_ASIA] = { "asia", "AS", "Asia" },
    [AREA_EUROPE] = { "europe", "EU", "Europe" },
    [AREA_NORTH_AMERICA] = { "north-america", "NA", "North America" },
    [AREA_OCEANIA] = { "oceania", "OC", "Oceania" },
    [AREA_SOUTH_AMERICA] = { "south-america", "SA", "South America" },
};

static int letter(char c, bool any_case)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (any_case && c >= 'A' && c <= 'Z')
        return c - 'A';
    return -1;
}

static int country_lookup(const char *cc, size_t len, bool any_case)
{
    if (len != 2)
        return -1;
    int a = letter(cc[0], any_case), b = letter(cc[1], any_case);
    if (a < 0 || b < 0)
        return -1;
    area_t area = country_index[a * 26 + b];
    return area ? (int)area : -1;
}

int codes_area_by_name(const char *name, size_t len)
{
    if (len == 2)
        return country_lookup(name, len, false);
    for (unsigned i = 0; i <= CODES_NCONTINENTS; i++)
        if (strlen(continents[i].name) == len && memcmp(continents[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

int codes_country_by_iso(const char *cc, size_t len)
{
    return country_lookup(cc, len, true);
}

int codes_continent_by_code(const char *code, size_t len)
{
    if (len != 2)
        return -1;
    for (unsigned i = 1; i <= CODES_NCONTINENTS; i++)
        if ((continents[i].code[0] == code[0] || continents[i].code[0] == (code[0] & ~0x20)) &&
            (continents[i].code[1] == code[1] || continents[i].code[1] == (code[1] & ~0x20)))
            return (int)i;
    return -1;
}

const char *codes_area_name(area_t a)
{
    if (a <= CODES_NCONTINENTS)
        return continents[a].name;
    if (a < AREA_COUNT)
        return country_table[a - AREA_FIRST_COUNTRY].code;
    return "?";
}

const char *codes_area_label(area_t a)
{
    if (a <= CODES_NCONTINENTS)
        return continents[a].label;
    if (a < AREA_COUNT)
        return country_table[a - AREA_FIRST_COUNTRY].name;
    return "?";
}

area_t codes_continent_of(area_t a)
{
    if (a >= AREA_FIRST_COUNTRY && a < AREA_COUNT)
        return country_table[a - AREA_FIRST_COUNTRY].continent;
    return a < AREA_COUNT ? a : AREA_WORLD;
}
