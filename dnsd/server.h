/* server.h -- everything a query needs, loaded: config, zones, the current
 * dataset (snapshot + geo database) behind one RCU pointer, and reload.
 *
 * main.c, the tests and the in-process benchmark all use this, so they run
 * the same loading code as the daemon. */
#ifndef POOLDNS_SERVER_H
#define POOLDNS_SERVER_H

#include <stdbool.h>

#include "dnsd/base/errs.h"

typedef struct dnsd_server dnsd_server_t;

/* Read the config file, its zone files, the geo database and the first
 * snapshot, and publish the dataset.  Every problem is added to errs as
 * "file:line: message"; returns NULL when there was any. */
dnsd_server_t *dnsd_server_load(const char *conf_path, errs_t *errs);

/* Re-read the snapshot (and the geo database when its file changed), build a
 * new dataset and publish it; the old one is freed after a grace period.
 * On error the current dataset keeps serving and errs says why.  Logs one
 * line either way.  Call from one thread at a time (the main thread). */
bool dnsd_server_reload(dnsd_server_t *srv, errs_t *errs);

void dnsd_server_free(dnsd_server_t *srv);

#endif
