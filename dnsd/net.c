/* net.c -- socket set-up, see net.h. */
#include "dnsd/net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/base/alloc.h"

/* Kernel buffer for each UDP socket: room for a burst at the top of the
 * minute (a few thousand queries) while the worker is busy. */
#define NET_UDP_RCVBUF (4 * 1024 * 1024)
#define NET_TCP_BACKLOG 256

static bool is_wildcard(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

static int make_socket(const conf_listen_t *l, int type, bool reuseport, bool pktinfo, const char *file,
                       errs_t *errs)
{
    int fam = l->addr.ss_family;
    /* UDP sockets block: their threads wait in recvmmsg.  TCP listeners are
     * non-blocking: an event loop drives them. */
    int fd = socket(fam, type | (type == SOCK_STREAM ? SOCK_NONBLOCK : 0) | SOCK_CLOEXEC, 0);
    const char *proto = type == SOCK_DGRAM ? "UDP" : "TCP";
    if (fd < 0) {
        errs_add(errs, file, l->line, "listen %s (%s): socket: %s", l->text, proto, strerror(errno));
        return -1;
    }
    int one = 1;
    /* Not for UDP: there SO_REUSEADDR would let several sockets share an
     * address and defeat the probe in net_open(). */
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (fam == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_DGRAM) {
        int sz = NET_UDP_RCVBUF;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
        /* Responses leave with Don't Fragment set and are never fragmented
         * here (RFC 9715: they are at most DNSD_UDP_MAX bytes, which fits
         * the IPv6 minimum MTU), and the path MTU a (possibly forged) ICMP
         * message claims is ignored: PROBE, not DO.  As DF packets need no
         * IP ID, the kernel also skips its shared ID generator, which took
         * about 4% of dnsd's CPU under the bench load. */
        int pmtu = fam == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
        if (fam == AF_INET)
            setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
        else
            setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
        if (pktinfo && fam == AF_INET)
            setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        if (pktinfo && fam == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    } else {
        /* Answers are written whole; do not wait to coalesce them. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0) {
        errs_add(errs, file, l->line, "listen %s (%s): %s", l->text, proto, strerror(errno));
        close(fd);
        return -1;
    }
    if (type == SOCK_STREAM && listen(fd, NET_TCP_BACKLOG) < 0) {
        errs_add(errs, file, l->line, "listen %s (TCP): %s", l->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

net_sock_t *net_open(const dnsd_conf_t *c, unsigned nworkers, errs_t *errs)
{
    size_t before = errs->n;
    unsigned n = nworkers * c->nlistens;
    net_sock_t *s = xcalloc(n, sizeof *s);
    for (unsigned i = 0; i < n; i++)
        s[i].udp = s[i].tcp = -1;
    /* Probe: if another process (say, a second dnsd with SO_REUSEPORT) has
     * the address, our own SO_REUSEPORT bind would succeed and silently
     * share its traffic.  A plain bind fails in that case. */
    for (unsigned l = 0; l < c->nlistens; l++) {
        int u = make_socket(&c->listens[l], SOCK_DGRAM, false, false, c->path, errs);
        int t = u >= 0 ? make_socket(&c->listens[l], SOCK_STREAM, false, false, c->path, errs) : -1;
        if (u >= 0)
            close(u);
        if (t >= 0)
            close(t);
    }
    for (unsigned w = 0; w < nworkers && errs->n == before; w++) {
        for (unsigned l = 0; l < c->nlistens && errs->n == before; l++) {
            const conf_listen_t *ls = &c->listens[l];
            net_sock_t *k = &s[w * c->nlistens + l];
            k->family = ls->addr.ss_family;
            k->pktinfo = is_wildcard(&ls->addr);
            k->udp = make_socket(ls, SOCK_DGRAM, true, k->pktinfo, c->path, errs);
            k->tcp = make_socket(ls, SOCK_STREAM, true, false, c->path, errs);
        }
    }
    if (errs->n != before) {
        net_close(s, n);
        return NULL;
    }
    return s;
}

void net_close(net_sock_t *s, unsigned n)
{
    if (!s)
        return;
    for (unsigned i = 0; i < n; i++) {
        if (s[i].udp >= 0)
            close(s[i].udp);
        if (s[i].tcp >= 0)
            close(s[i].tcp);
    }
    free(s);
}
