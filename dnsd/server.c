/* server.c -- load everything, publish datasets, reload on request.
 *
 * DESIGN
 * The dataset (snapshot + geo database) is built completely by the caller's
 * thread while the old one keeps serving, then swapped in with
 * rcu_xchg_pointer().  synchronize_rcu() waits until no worker can still be
 * reading the old one, and only then is it freed, by this thread.  A reload
 * that fails frees only what it built; the published pointer is untouched.
 * The geo database is re-read only when its file changed (device, inode,
 * size or mtime); otherwise the new dataset takes over the old one's
 * database: ownership moves once the old dataset is unpublished and no
 * reader can see it, and freeing the old dataset then leaves it alone. */
#include "dnsd/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <urcu.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/log.h"
#include "dnsd/dataset.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void dataset_free(dnsd_dataset_t *d)
{
    if (!d)
        return;
    wsnap_free(d->snap);
    geo_db_free(d->geo);
    free(d);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Load the geo database for a new dataset.  old: the dataset being replaced
 * (NULL at start-up); its database is shared when the file is unchanged
 * or, on reload, when the new one cannot be read (the error is logged and
 * the snapshot still goes ahead: scores must not go stale because of a
 * broken database file). */
static bool load_geo(dnsd_server_t *srv, dnsd_dataset_t *d, dnsd_dataset_t *old, errs_t *errs)
{
    const char *path = srv->conf->geoip;
    if (!path)
        return true;
    struct stat st;
    if (stat(path, &st) == 0 && old && old->geo && same_file(&st, &old->geo_st)) {
        d->geo = old->geo;
        d->geo_st = old->geo_st;
        return true;
    }
    errs_t gerrs = ERRS_INIT;
    double t0 = now_ms();
    geo_db_t *g = geo_db_load(path, &gerrs);
    if (g) {
        char desc[256];
        geo_db_describe(g, desc, sizeof desc);
        log_info("geoip %s loaded in %.1f ms: %s", path, now_ms() - t0, desc);
        d->geo = g;
        d->geo_st = st;
        errs_clear(&gerrs);
        return true;
    }
    if (!old) {
        for (size_t i = 0; i < gerrs.n; i++)
            errs_add(errs, NULL, 0, "%s", gerrs.v[i].text);
        errs_clear(&gerrs);
        return false;
    }
    for (size_t i = 0; i < gerrs.n; i++)
        log_err("geoip reload refused, the previous database keeps serving: %s", gerrs.v[i].text);
    errs_clear(&gerrs);
    d->geo = old->geo;
    d->geo_st = old->geo_st;
    return true;
}

/* Build a dataset.  On failure returns NULL, errs says why, and old is
 * untouched. */
static dnsd_dataset_t *build_dataset(dnsd_server_t *srv, dnsd_dataset_t *old, errs_t *errs)
{
    size_t before = errs->n;
    dnsd_dataset_t *d = xcalloc(1, sizeof *d);
    d->snap = wsnap_load(srv->conf->snapshot, &srv->wopts, errs);
    if (!d->snap) {
        free(d);
        return NULL;
    }
    if (!load_geo(srv, d, old, errs) || errs->n != before) {
        if (old && d->geo == old->geo)
            d->geo = NULL; /* still old's */
        dataset_free(d);
        return NULL;
    }
    return d;
}

static void log_published(const dnsd_dataset_t *d, double total_ms)
{
    wsnap_info_t in;
    wsnap_info(d->snap, &in);
    log_info("snapshot %u published: %zu servers, %zu eligible (%zu IPv4, %zu IPv6), %zu tables, "
             "%.1f MB, built in %.1f ms, load+build+swap %.1f ms",
             in.serial, in.servers, in.eligible, in.eligible_v4, in.eligible_v6, in.tables,
             in.bytes / 1e6, in.build_ms, total_ms);
}

dnsd_server_t *dnsd_server_load(const char *conf_path, errs_t *errs)
{
    dnsd_server_t *srv = xcalloc(1, sizeof *srv);
    srv->conf = conf_load(conf_path, errs);
    if (!srv->conf) {
        free(srv);
        return NULL;
    }
    const dnsd_conf_t *c = srv->conf;
    zones_spec_t *specs = xcalloc(c->nzones, sizeof *specs);
    for (unsigned i = 0; i < c->nzones; i++)
        specs[i] = (zones_spec_t){ c->zones[i].apex, c->zones[i].apex_len, c->zones[i].name, c->zones[i].file };
    srv->zones = zones_load(specs, c->nzones, c->vendors, c->nvendors, c->subzones, errs);
    free(specs);
    srv->wopts = (wsnap_opts_t){
        .min_score = c->min_score,
        .max_answers = c->max_answers,
        .subzones = c->subzones,
        .aaaa_mask = c->aaaa_mask,
        .ttl = c->ttl,
        .min_servers = c->min_servers,
    };
    srv->aaaa_mask = c->aaaa_mask;
    srv->ecs = c->ecs;
    double t0 = now_ms();
    /* Snapshot and geo errors are reported even when a zone failed, so the
     * operator sees everything in one run. */
    dnsd_dataset_t *d = build_dataset(srv, NULL, errs);
    if (!srv->zones || !d) {
        dataset_free(d);
        dnsd_server_free(srv);
        return NULL;
    }
    rcu_assign_pointer(srv->current, d);
    log_published(d, now_ms() - t0);
    return srv;
}

bool dnsd_server_reload(dnsd_server_t *srv, errs_t *errs)
{
    double t0 = now_ms();
    /* Only this thread writes srv->current, so it may read it plainly. */
    dnsd_dataset_t *old = srv->current;
    dnsd_dataset_t *d = build_dataset(srv, old, errs);
    if (!d) {
        for (size_t i = 0; i < errs->n; i++)
            log_err("snapshot refused, serial %u keeps serving: %s", wsnap_serial(old->snap),
                    errs->v[i].text);
        return false;
    }
    old = rcu_xchg_pointer(&srv->current, d);
    synchronize_rcu();
    if (old->geo == d->geo)
        old->geo = NULL; /* now owned by d */
    dataset_free(old);
    log_published(d, now_ms() - t0);
    return true;
}

void dnsd_server_free(dnsd_server_t *srv)
{
    if (!srv)
        return;
    dataset_free(srv->current);
    zones_free(srv->zones);
    conf_free(srv->conf);
    free(srv);
}
