/* internal.h -- the layout of a built snapshot, shared by build.c and pick.c
 * only.  Everything here is written once by wsnap_build and then read by any
 * number of threads. */
#ifndef POOLDNS_WEIGHTS_INTERNAL_H
#define POOLDNS_WEIGHTS_INTERNAL_H

#include "weights/snapshot.h"

/* One answer slot on the cumulative scale used by systematic sampling: a
 * table's cumulative inclusion probabilities run from 0 to k * WSNAP_UNIT.
 * 2^32 keeps rounding far below anything measurable (a server's share is
 * off by at most 2^-32 of one answer) while k * unit fits easily in 64 bits. */
#define WSNAP_UNIT ((uint64_t)1 << 32)

struct wtable {
    area_t area;            /* zone these servers came from */
    uint8_t family;
    uint32_t n;             /* servers in the table */
    uint32_t *servers;      /* family-local server ids, n of them */
    double *incl;           /* inclusion probability per position */
    uint32_t ncertain;      /* positions in every answer */
    uint32_t *certain;
    uint32_t k;             /* systematic draws among the rest */
    uint32_t nrest;
    uint32_t norders;       /* independent shuffles of the rest */
    uint32_t *order;        /* norders x nrest positions */
    uint64_t *cum;          /* norders x (nrest + 1): cum[0] = 0 ... k * UNIT */
    const uint32_t *orig;   /* family-local id -> index given to wsnap_build */
};

struct wsnap {
    uint32_t serial;
    size_t nservers;
    size_t neligible[2];
    uint8_t *rr[2];         /* answer fragments per family-local id */
    uint32_t *orig[2];      /* family-local id -> input index */
    wtable_t **tables;      /* every table built, for freeing */
    size_t ntables;
    size_t bytes;
    double build_ms;
    /* Answering table per (area, family, subzone or WSNAP_SUB_ALL), fallback
     * and min-servers already applied; NULL: nothing to answer with. */
    const wtable_t *eff[AREA_COUNT][2][WSNAP_SUB_ALL + 1];
};

#endif
