/* geo.h -- client address (or EDNS Client Subnet) -> country and continent.
 *
 * A geo_db_t is built once from a MaxMind DB file (GeoIP2/GeoLite2 layout with
 * country.iso_code and continent.code, or the flat "country_code" layout) and
 * is immutable afterwards, so any number of threads may call geo_lookup() on
 * it at once.  The lookup allocates nothing and makes no system call.
 *
 * Private, loopback, reserved and unknown addresses give AREA_WORLD for both
 * country and continent.
 *
 * How answers are made (geo/flatten.c, geo/geo.c):
 *  - country: country.iso_code, else registered_country.iso_code (GeoIP2),
 *    else country_code (flat layout); continent: continent.code, else our
 *    own table (codes_continent_of) when the record has a country.  A code
 *    we do not know gives AREA_WORLD; a legacy pseudo-country that is a
 *    continent code ("EU") gives that continent and no country.
 *  - the RFC 6890 special-purpose blocks (10/8, 127/8, fc00::/7, ...)
 *    answer the world whatever the database says.
 *  - scope is the length of the shortest prefix around the address that
 *    has the same answer throughout (neighbouring networks with the same
 *    answer are merged at load), so it may be shorter than the database
 *    network and, for a special block, shorter than the block.
 *  - when the prefix ends inside a part with several answers, the answer
 *    is country AREA_WORLD, continent the one every address below shares
 *    (AREA_WORLD if any differs, unknown space included), scope = prefix. */
#ifndef POOLDNS_GEO_H
#define POOLDNS_GEO_H

#include <stdint.h>
#include <stddef.h>

#include "dnsd/base/errs.h"
#include "geo/codes.h"

typedef struct geo_db geo_db_t;

typedef struct {
    area_t country;     /* a country area, or AREA_WORLD when unknown */
    area_t continent;   /* a continent area, or AREA_WORLD when unknown */
    uint8_t scope;      /* prefix length (in the address family's own bits:
                         * 0..32 for IPv4, 0..128 for IPv6) of the database
                         * network that decided this answer; never more than
                         * the prefix given to geo_lookup() */
} geo_answer_t;

/* Load and check the database at path.  On failure adds "path: reason" to
 * errs and returns NULL. */
geo_db_t *geo_db_load(const char *path, errs_t *errs);

void geo_db_free(geo_db_t *db);

/* One line for the log: networks, nodes, memory, load time.  Example:
 * "GeoIP2-Country (IPv6 db): 506150 IPv4 + 800362 IPv6 networks,
 * 251 distinct answers, 439494 nodes, 4479870 bytes (4.3 MiB), loaded in
 * 67 ms".  IPv6 networks do not count the IPv4 trie grafted into it. */
void geo_db_describe(const geo_db_t *db, char *buf, size_t len);

/* Look up addr (4 bytes when family is 4, 16 when 6), of which only the
 * first prefix bits are meaningful (32 or 128 for a full address).  An IPv6
 * address that maps IPv4 (::ffff:a.b.c.d/96+n) is looked up as a.b.c.d/n,
 * and its scope is reported in IPv6 bits.  The answer never depends on the
 * bits after prefix (all 4 or 16 bytes must be readable).  A prefix longer
 * than the family's is taken as the full length; a family other than 4 or
 * 6 answers the world with scope 0. */
void geo_lookup(const geo_db_t *db, int family, const uint8_t *addr, unsigned prefix,
                geo_answer_t *out);

/* One lookup of a batch: the arguments of geo_lookup(), and its answer. */
typedef struct {
    int family;
    unsigned prefix;
    uint8_t addr[16];
    geo_answer_t ans;   /* out */
} geo_req_t;

/* Most lookups geo_lookup_batch() takes at once. */
#define GEO_BATCH_MAX 64

/* geo_lookup() for n (<= GEO_BATCH_MAX) requests at once, with the same
 * answers.  Lookups go down the tree a level at a time for the whole batch,
 * prefetching the next level of each, so that the cache misses of
 * different lookups overlap instead of adding up. */
void geo_lookup_batch(const geo_db_t *db, geo_req_t *const *reqs, unsigned n);

#endif
