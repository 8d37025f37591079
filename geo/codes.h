/* codes.h -- the pool's zones as small integers ("areas").
 *
 * Area 0 is the global zone "@", areas 1..7 the continents, and from
 * AREA_FIRST_COUNTRY on the ISO 3166 countries in alphabetical order.  Every
 * table that is indexed by zone (selection tables, fallbacks) uses these
 * numbers, so no string is compared at query time.  Pure tables: no library,
 * no allocation. */
#ifndef POOLDNS_CODES_H
#define POOLDNS_CODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint16_t area_t;

enum {
    AREA_WORLD = 0,
    AREA_AFRICA,
    AREA_ANTARCTICA,
    AREA_ASIA,
    AREA_EUROPE,
    AREA_NORTH_AMERICA,
    AREA_OCEANIA,
    AREA_SOUTH_AMERICA,
    AREA_FIRST_COUNTRY,
};

#define CODES_NCONTINENTS 7
#define CODES_NCOUNTRIES 253
#define AREA_COUNT (AREA_FIRST_COUNTRY + CODES_NCOUNTRIES)

/* Area for a zone name as the snapshot and the DNS names spell it: "@",
 * a continent ("europe", "north-america"), or a lower-case country code
 * ("de").  Returns -1 when the name is none of these.  len is the length of
 * name (it need not be NUL-terminated). */
int codes_area_by_name(const char *name, size_t len);

/* Country area for a two-letter ISO code in either case ("DE", "de"), or -1. */
int codes_country_by_iso(const char *cc, size_t len);

/* Continent area for a two-letter continent code as GeoIP2 writes it
 * ("EU", "NA", "AN"...), or -1. */
int codes_continent_by_code(const char *code, size_t len);

/* The zone name of an area: "@", "europe", "de". */
const char *codes_area_name(area_t a);

/* English name of a country or continent ("Germany", "Europe", "global"). */
const char *codes_area_label(area_t a);

/* The continent a country belongs to; a continent or the world maps to itself. */
area_t codes_continent_of(area_t a);

/* The next zone to try when area a has too few servers: country -> its
 * continent -> world; world has none and returns AREA_WORLD. */
static inline area_t codes_parent(area_t a)
{
    return a >= AREA_FIRST_COUNTRY ? codes_continent_of(a) : AREA_WORLD;
}

static inline bool codes_is_country(area_t a) { return a >= AREA_FIRST_COUNTRY && a < AREA_COUNT; }
static inline bool codes_is_continent(area_t a) { return a >= AREA_AFRICA && a <= AREA_SOUTH_AMERICA; }

#endif
