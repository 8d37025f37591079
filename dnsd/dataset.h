/* dataset.h -- what server.c publishes and query.c reads (daemon-internal).
 *
 * The dataset is everything that changes on reload: the weights snapshot and
 * the geo database, published together behind one RCU pointer so that a
 * query never sees a snapshot with a database from another reload.  The
 * config and zones are loaded once and never change while running. */
#ifndef POOLDNS_DATASET_H
#define POOLDNS_DATASET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "dnsd/conf.h"
#include "dnsd/server.h"
#include "geo/geo.h"
#include "weights/snapshot.h"
#include "zones/zones.h"

typedef struct {
    wsnap_t *snap;          /* owned */
    geo_db_t *geo;          /* owned; NULL: every client is "@" */
    struct stat geo_st;     /* identity of the file geo was read from */
} dnsd_dataset_t;

struct dnsd_server {
    dnsd_conf_t *conf;
    zones_t *zones;
    wsnap_opts_t wopts;
    /* RCU-protected: readers take it with dnsd_dataset_current() inside a
     * read-side section; only server.c (one thread at a time) replaces it,
     * with liburcu's rcu_assign_pointer() or rcu_xchg_pointer(). */
    dnsd_dataset_t *current;
    /* Copies of the config values the query path reads, kept together. */
    uint32_t aaaa_mask;
    bool ecs;
};

/* The current dataset, inside a read-side section: what liburcu's
 * rcu_dereference() does (a load that orders the loads through it; on
 * every target gcc supports that is a plain load), but inline.  Without
 * _LGPL_SOURCE, which this project does not define, rcu_dereference() is a
 * call into the shared library once per receive batch. */
static inline const dnsd_dataset_t *dnsd_dataset_current(const dnsd_server_t *srv)
{
    return __atomic_load_n(&srv->current, __ATOMIC_CONSUME);
}

#endif
