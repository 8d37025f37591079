/* net.h -- listening sockets: one UDP socket and one TCP listener per listen
 * address per worker, all bound with SO_REUSEPORT so the kernel spreads
 * packets and connections over the workers and no socket is shared. */
#ifndef POOLDNS_NET_H
#define POOLDNS_NET_H

#include <stdbool.h>

#include "dnsd/base/errs.h"
#include "dnsd/conf.h"

typedef struct {
    int udp;                /* fd */
    int tcp;                /* fd */
    bool pktinfo;           /* bound to a wildcard: replies need the
                             * destination address of the query as source */
    int family;
} net_sock_t;

/* socks[worker * nlistens + listen] for every worker and listen address.
 * First checks that no other process holds an address (a bind without
 * SO_REUSEPORT must succeed), so two daemons cannot silently share a port.
 * Errors name the config line of the listen directive. */
net_sock_t *net_open(const dnsd_conf_t *c, unsigned nworkers, errs_t *errs);
void net_close(net_sock_t *socks, unsigned n);

#endif
