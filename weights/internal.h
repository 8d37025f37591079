/* internal.h -- the layout of a built snapshot, shared by build.c and pick.c
 * only.  Everything here is written once by wsnap_build and then read by any
 * number of threads. */
#ifndef POOLDNS_WEIGHTS_INTERNAL_H
#define POOLDNS_WEIGHTS_INTERNAL_H

#include "dnsd/base/alloc.h"
#include "weights/snapshot.h"

/* One answer slot on the cumulative scale used by systematic sampling: a
 * table's cumulative inclusion probabilities run from 0 to k * WSNAP_UNIT.
 * 2^27 keeps rounding far below anything measurable (a server's share is
 * off by at most 2^-27 of one answer) while k * unit <= 2^31 fits in 32
 * bits, which halves the memory a draw touches. */
#define WSNAP_UNIT ((uint32_t)1 << 27)

/* One server on the line of an order: where its interval ends. */
typedef struct {
    uint32_t end;           /* cumulative inclusion up to and with it */
    uint32_t id;            /* family-local server id */
} wslot_t;

/* Bucket entries: a server id when the whole bucket lies inside one
 * server's interval (one memory access answers the draw), else this flag
 * and the slot where the bucket starts. */
#define WSNAP_BUCKET_SCAN 0x80000000u

/* Entries after the last of a bucket array, and a table's whole array when
 * it has no draw (k = 0): draw_ids() reads this many from where a draw's
 * k start, whatever k. */
#define WSNAP_BUCKET_PAD 4

/* See build_buckets(). */
#define WSNAP_BUCKETS_BIG 16384

/* A table, its certain, slots and bucket arrays live in the snapshot's
 * arena (huge pages); servers and incl, for tests, on the heap. */
struct wtable {
    /* What a draw reads comes first: one cache line. */
    uint8_t family;
    area_t area;            /* zone these servers came from */
    uint32_t ncertain;      /* servers in every answer */
    uint32_t k;             /* systematic draws among the rest */
    uint32_t nrest;
    uint32_t norders;       /* independent shuffles of the rest */
    uint32_t bshift;        /* see bucket */
    uint32_t nbuckets;      /* per order */
    uint32_t *certain;      /* family-local ids of the certain servers; room
                             * for WSNAP_MAX_ANSWERS, the rest zero */
    wslot_t *slots;         /* norders x nrest; the last end is k * UNIT */
    /* Bucket index over the cumulative scale, so a draw needs no search:
     * bucket b covers [b << bshift, (b + 1) << bshift).  With 16 to 32
     * buckets per server (4 to 8 in the largest tables) most buckets lie inside one server's interval and
     * name it directly; the others give the slot to scan from.  Stored
     * interleaved: with U = UNIT >> bshift buckets per unit, bucket b is at
     * (b % U) * k + b / U, so the k points of one draw (u + j * UNIT) read
     * k neighbouring entries.  Every table with a draw (k > 0) has one,
     * the smallest too: a scan of their slots mispredicted about once per
     * point, as where each point lands changes from one query to the next,
     * and the index costs 2 MB on the bench's 4,000-server snapshot. */
    uint32_t *bucket;       /* norders x nbuckets, then WSNAP_BUCKET_PAD
                             * entries; only those (zero) when k = 0 */
    /* For inspection and tests only. */
    uint32_t n;             /* servers in the table */
    uint32_t *servers;      /* family-local server ids, n of them */
    double *incl;           /* inclusion probability per position */
    const uint32_t *orig;   /* family-local id -> index given to wsnap_build */
} __attribute__((aligned(64)));

struct wsnap {
    uint32_t serial;
    harena_t arena;         /* what queries read: answer records, table headers and arrays */
    size_t nservers;
    size_t neligible[2];
    uint8_t *rr[2];         /* answer fragments per family-local id (arena) */
    uint32_t *orig[2];      /* family-local id -> input index */
    wtable_t **tables;      /* every table built, for freeing */
    size_t ntables;
    size_t bytes;
    double build_ms;
    /* Answering table per (area, family, subzone or WSNAP_SUB_ALL), fallback
     * and min-servers already applied; NULL: nothing to answer with.  The
     * table itself rather than its index, so a query's lookup is one
     * dependent load, not two. */
    const wtable_t *eff[AREA_COUNT][2][WSNAP_SUB_ALL + 1];
};

#endif
