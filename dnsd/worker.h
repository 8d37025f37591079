/* worker.h -- worker threads.  Each worker is one UDP thread per listen
 * address (blocking recvmmsg/sendmmsg on its own socket) and one TCP thread
 * (an event loop over its listeners and connections), each with its own
 * query context and buffers.  No packet ever moves between threads. */
#ifndef POOLDNS_WORKER_H
#define POOLDNS_WORKER_H

#include <stdbool.h>

#include "dnsd/base/errs.h"
#include "dnsd/net.h"

struct dnsd_server;
typedef struct dnsd_workers dnsd_workers_t;

/* Start nworkers threads serving socks (as made by net_open for nworkers,
 * taken over: closed by dnsd_workers_stop).  Returns NULL on failure. */
dnsd_workers_t *dnsd_workers_start(const struct dnsd_server *srv, net_sock_t *socks, unsigned nworkers,
                                   errs_t *errs);

/* Ask every worker to finish, wait for them, close sockets, free. */
void dnsd_workers_stop(dnsd_workers_t *w);

#endif
