/* snapshot.h -- the weights snapshot: servers, scores and net speeds as the
 * scorer wrote them, turned into ready-to-answer selection tables.
 *
 * A wsnap_t is built entirely off the query path (wsnap_load) and is
 * immutable once built, so any number of readers may use it while it is
 * published.  Everything a query needs is precomputed:
 *
 *   - every eligible server's answer record (TYPE CLASS TTL RDLEN ADDR) in
 *     wire form, owner name left to the caller;
 *   - for each zone (area), address family and subzone a selection table:
 *     the servers that are in every answer, and for the rest a few shuffled
 *     orders with cumulative inclusion probabilities for systematic
 *     probability-proportional-to-size sampling (see pick.c);
 *   - the fallback: for each (area, family, subzone) the table that answers
 *     once country -> continent -> "@" and min-servers are applied.
 *
 * File format (one directive a line, '#' comments):
 *   serial 2026112601
 *   server ADDRESS NETSPEED SCORE ZONE...
 * NETSPEED in kbit/s (0..3,000,000), SCORE a decimal in -100..20, ZONEs are
 * lower-case ISO country codes, continents and "@". */
#ifndef POOLDNS_SNAPSHOT_H
#define POOLDNS_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsd/base/errs.h"
#include "dnsd/base/rng.h"
#include "geo/codes.h"

#define WSNAP_MAX_NETSPEED 3000000u
#define WSNAP_MAX_SUBZONES 16
#define WSNAP_MAX_ANSWERS 16
/* Zones one server line may list. */
#define WSNAP_MAX_SERVER_ZONES 16
/* Table index for the unnumbered name: subzones use 0..15. */
#define WSNAP_SUB_ALL WSNAP_MAX_SUBZONES

enum { WSNAP_V4 = 0, WSNAP_V6 = 1 };

/* Built from the config by the caller. */
typedef struct {
    double min_score;       /* eligible when score > min_score */
    unsigned max_answers;   /* 1..WSNAP_MAX_ANSWERS */
    unsigned subzones;      /* numbered subzones serving A: 0..subzones-1 */
    uint32_t aaaa_mask;     /* subzones serving AAAA */
    uint32_t ttl;           /* TTL written in answer records */
    unsigned min_servers;   /* a country/continent table with fewer is skipped */
    uint64_t seed;          /* 0: random; else reproducible partitions and orders */
} wsnap_opts_t;

/* One server as parsed (also what the tests inspect). */
typedef struct {
    uint8_t family;         /* WSNAP_V4 or WSNAP_V6 */
    uint8_t addr[16];
    uint32_t netspeed;
    double score;
    uint32_t line;
    uint16_t nareas;
    area_t areas[WSNAP_MAX_SERVER_ZONES]; /* zones listed, in file order */
} wsnap_server_t;

typedef struct wtable wtable_t;
typedef struct wsnap wsnap_t;

/* Parse the file and build the snapshot.  Errors go to errs with file:line;
 * returns NULL when there was any. */
wsnap_t *wsnap_load(const char *path, const wsnap_opts_t *opts, errs_t *errs);

/* Same from servers already parsed (tests, benchmarks).  Takes a copy. */
wsnap_t *wsnap_build(uint32_t serial, const wsnap_server_t *servers, size_t n, const wsnap_opts_t *opts);

/* Parse only: fills *servers (caller frees) and *serial. */
bool wsnap_parse(const char *path, uint32_t *serial, wsnap_server_t **servers, size_t *n, errs_t *errs);

void wsnap_free(wsnap_t *s);

uint32_t wsnap_serial(const wsnap_t *s);

typedef struct {
    uint32_t serial;
    size_t servers, eligible, eligible_v4, eligible_v6;
    size_t tables, bytes;   /* selection tables and memory they use */
    double build_ms;        /* wall time of the build step */
} wsnap_info_t;
void wsnap_info(const wsnap_t *s, wsnap_info_t *out);

/* The table answering (area, family, sub) after fallback, or NULL when no
 * zone up to "@" has an eligible server.  sub is 0..subzones-1 or
 * WSNAP_SUB_ALL.  Constant time. */
const wtable_t *wsnap_table(const wsnap_t *s, area_t area, int family, unsigned sub);

/* The zone whose servers a table holds. */
area_t wtable_area(const wtable_t *t);
/* Servers in the table. */
uint32_t wtable_size(const wtable_t *t);

/* Bytes of one answer record fragment: TYPE CLASS TTL RDLEN + address.
 * Every fragment of either family can be read as WSNAP_RR_V6 bytes (the
 * arrays end with room for that), so a copy need not depend on which. */
#define WSNAP_RR_V4 14
#define WSNAP_RR_V6 26

/* Pick up to max_answers distinct servers, each with probability
 * proportional to its net speed (capped at "in every answer"), in random
 * order.  Writes pointers to their record fragments into out (room for
 * WSNAP_MAX_ANSWERS) and returns how many.  No allocation, no system call. */
unsigned wsnap_pick(const wsnap_t *s, const wtable_t *t, rng_t *rng, const uint8_t **out);

/* wsnap_pick() with its one random word given: the answer is a function of
 * r, so a caller can draw r early, and first ask for the memory the pick
 * will read with wtable_prefetch_draw(t, r) (which reads t's first cache
 * line), so that the cache misses of a batch of answers overlap. */
unsigned wsnap_pick_r(const wsnap_t *s, const wtable_t *t, uint64_t r, const uint8_t **out);
void wtable_prefetch_draw(const wtable_t *t, uint64_t r);

/* Same, returning the servers' indices as given to wsnap_build (tests). */
unsigned wtable_pick_servers(const wtable_t *t, rng_t *rng, uint32_t *out);
/* Server number (as given to wsnap_build) of the table's i-th server. */
uint32_t wtable_server(const wtable_t *t, uint32_t i);
/* Inclusion probability of the table's i-th server (tests). */
double wtable_inclusion(const wtable_t *t, uint32_t i);

#endif
