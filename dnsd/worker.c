/* worker.c -- worker threads: blocking UDP batches, TCP with pipelining.
 *
 * DESIGN
 * Nothing is shared between threads but the read-only server and the
 * RCU-published dataset, so there are no locks, and no packet ever moves
 * between threads.  Each worker w (0..threads-1) is:
 *
 *   - one UDP thread per listen address, on its own SO_REUSEPORT socket.
 *     It blocks in recvmmsg(MSG_WAITFORONE), answers the batch in place
 *     under one RCU read lock, and sends the non-empty replies with one
 *     sendmmsg.  No event loop: under load that is exactly two system calls
 *     per batch, as in the trivial responder the benchmark compares with.
 *     To stop it, the main thread sets a flag and shuts the socket down for
 *     reading, which wakes the blocked recvmmsg.
 *
 *   - one TCP thread running a libevent loop over its TCP listeners (one
 *     per listen address) and connections, plus an eventfd the main thread
 *     writes to ask it to stop.  libevent runs without its thread support
 *     (no evthread locks), since no other thread touches the base.
 *
 * TCP (RFC 7766): a fixed pool of connection slots per worker, their
 * buffers allocated when first used and reused afterwards.  Queries are
 * length-prefixed and may be pipelined; each is answered in order into the
 * slot's output buffer.  A connection idle for tcp-timeout seconds is
 * closed.  When all slots are busy a new connection is closed at once: the
 * client retries, and existing clients are not starved. */
#include "dnsd/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <urcu.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/log.h"
#include "dnsd/base/wire.h"
#include "dnsd/dataset.h"
#include "dnsd/query.h"

/* Datagrams per recvmmsg/sendmmsg.  Large enough that a busy worker makes
 * one pair of system calls per 32 queries; small enough that the batch
 * buffers (32 x 4 KiB) stay in L2 cache. */
#define UDP_BATCH 32
_Static_assert(UDP_BATCH <= 256, "qslot holds a batch index in a byte");
/* New TCP connections taken per readiness event. */
#define TCP_ACCEPTS 32
#define TCP_BUF (2 + DNSD_TCP_BUF)

typedef struct worker worker_t;

/* Room for the larger of IPv4 and IPv6 packet info. */
#define CTRL_LEN CMSG_SPACE(sizeof(struct in6_pktinfo))

typedef struct {
    unsigned id;            /* worker number, for messages */
    int fd;
    bool pktinfo;
    pthread_t thread;
    bool started;
    bool stop;              /* set (atomically) by main before it shuts the socket down */
    dnsd_qctx_t *qctx;
    log_limit_t neterr;
    struct mmsghdr msgs[UDP_BATCH];
    struct mmsghdr out[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct iovec out_iov[UDP_BATCH];
    struct sockaddr_storage addrs[UDP_BATCH];
    uint8_t ctrl[UDP_BATCH][CTRL_LEN] __attribute__((aligned(8)));
    uint8_t *bufs;              /* UDP_BATCH buffers, UDP_BUF_STRIDE apart */
    dnsd_qmsg_t q[UDP_BATCH];
    uint8_t qslot[UDP_BATCH];   /* q[j] came from msgs[qslot[j]] */
} __attribute__((aligned(64))) udp_thread_t; /* no line shared by two threads */

/* Receive buffers are a page plus a cache line apart, not a page: the
 * messages' first lines, which every pass of a batch reads or writes, then
 * fall in different sets of the L1 cache instead of all in the same one
 * (it holds only 12 lines per set). */
#define UDP_BUF_STRIDE (DNSD_UDP_BUF + 64)
static inline uint8_t *udp_buf(const udp_thread_t *u, unsigned i)
{
    return u->bufs + (size_t)i * UDP_BUF_STRIDE;
}

typedef struct {
    worker_t *w;
    int fd;
    struct event ev;
} tcp_listener_t;

typedef struct tcp_conn {
    worker_t *w;
    int fd;                 /* -1: slot free */
    struct event ev;
    bool writing;           /* waiting for the socket to take out[] */
    struct sockaddr_storage peer;
    uint8_t *in;            /* TCP_BUF bytes, allocated on first use */
    size_t in_len;
    uint8_t *out;           /* TCP_BUF bytes */
    size_t out_len, out_off;
    struct tcp_conn *next_free;
} tcp_conn_t;

/* The TCP side of one worker. */
struct worker {
    unsigned id;
    pthread_t thread;
    bool started;
    struct event_base *base;
    int stopfd;
    struct event stop_ev;
    tcp_listener_t *tcpl;
    unsigned nsock;
    tcp_conn_t *conns;
    unsigned nconns;
    tcp_conn_t *free_conns;
    struct timeval tcp_idle;
    dnsd_qctx_t *qctx;
    log_limit_t neterr;
};

struct dnsd_workers {
    worker_t *v;
    unsigned n;
    /* Everything the UDP threads touch per batch (their state, contexts
     * and buffers), in huge pages: each 4 KiB page it would otherwise take
     * can cost a TLB miss per batch, as a worker starts every batch after
     * an idle wait with cold caches. */
    harena_t arena;
    udp_thread_t *udp;      /* n * listens, in arena */
    unsigned nudp;
    net_sock_t *socks;
    unsigned nsocks;
};

/* ---- UDP ------------------------------------------------------------------ */

/* Turn the received packet info into the reply's source address. */
static size_t reply_ctrl(struct msghdr *m)
{
    struct cmsghdr *c = m->msg_controllen ? CMSG_FIRSTHDR(m) : NULL;
    for (; c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
            pi->ipi_spec_dst = pi->ipi_addr;
            pi->ipi_ifindex = 0;
            return c->cmsg_len <= m->msg_controllen ? CMSG_SPACE(sizeof *pi) : 0;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);
            /* The interface only matters for link-local sources. */
            if (!IN6_IS_ADDR_LINKLOCAL(&pi->ipi6_addr))
                pi->ipi6_ifindex = 0;
            return CMSG_SPACE(sizeof *pi);
        }
    }
    return 0;
}

static bool port_is_zero(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_port == 0;
    return ((const struct sockaddr_in6 *)a)->sin6_port == 0;
}

static void *udp_main(void *arg)
{
    udp_thread_t *u = arg;
    rcu_register_thread();
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        struct msghdr *h = &u->msgs[i].msg_hdr;
        u->iov[i].iov_base = udp_buf(u, i);
        h->msg_name = &u->addrs[i];
        h->msg_iov = &u->iov[i];
        h->msg_iovlen = 1;
        h->msg_control = u->pktinfo ? u->ctrl[i] : NULL;
        struct msghdr *o = &u->out[i].msg_hdr;
        o->msg_iov = &u->out_iov[i];
        o->msg_iovlen = 1;
    }
    unsigned used = UDP_BATCH; /* headers the last receive may have changed */
    while (!__atomic_load_n(&u->stop, __ATOMIC_ACQUIRE)) {
        for (unsigned i = 0; i < used; i++) {
            struct msghdr *h = &u->msgs[i].msg_hdr;
            u->iov[i].iov_len = DNSD_UDP_BUF;
            h->msg_namelen = sizeof u->addrs[i];
            h->msg_controllen = u->pktinfo ? CTRL_LEN : 0;
        }
        /* The raw system call: libc's recvmmsg is a thread cancellation
         * point and toggles the cancel state around every call, which we
         * never use and which shows in profiles at this rate. */
        int n = (int)syscall(SYS_recvmmsg, u->fd, u->msgs, UDP_BATCH, MSG_WAITFORONE, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_ratelimited(&u->neterr, "worker %u: recvmmsg: %s", u->id, strerror(errno));
            used = 0;
            continue;
        }
        used = (unsigned)n;
        unsigned nout = 0, nq = 0;
        for (int i = 0; i < n; i++) {
            struct msghdr *h = &u->msgs[i].msg_hdr;
            if (port_is_zero(&u->addrs[i]) || (h->msg_flags & MSG_TRUNC))
                continue;
            u->qslot[nq] = (uint8_t)i;
            u->q[nq++] = (dnsd_qmsg_t){ .client = (const struct sockaddr *)&u->addrs[i],
                                        .buf = udp_buf(u, i), .len = u->msgs[i].msg_len,
                                        .cap = DNSD_UDP_BUF };
        }
        rcu_read_lock();
        dnsd_query_batch(u->qctx, u->q, nq);
        rcu_read_unlock();
        for (unsigned j = 0; j < nq; j++) {
            size_t len = u->q[j].out;
            if (!len)
                continue;
            unsigned i = u->qslot[j];
            struct msghdr *h = &u->msgs[i].msg_hdr;
            struct msghdr *o = &u->out[nout].msg_hdr;
            u->out_iov[nout].iov_base = udp_buf(u, i);
            u->out_iov[nout].iov_len = len;
            o->msg_name = &u->addrs[i];
            o->msg_namelen = h->msg_namelen;
            o->msg_control = NULL;
            o->msg_controllen = 0;
            if (u->pktinfo) {
                size_t cl = reply_ctrl(h);
                o->msg_control = cl ? u->ctrl[i] : NULL;
                o->msg_controllen = cl;
            }
            nout++;
        }
        for (unsigned sent = 0; sent < nout;) {
            int r = (int)syscall(SYS_sendmmsg, u->fd, u->out + sent, nout - sent, MSG_DONTWAIT);
            if (r <= 0) {
                if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                    log_ratelimited(&u->neterr, "worker %u: sendmmsg: %s", u->id, strerror(errno));
                /* A reply that cannot go now is dropped; the client retries.
                 * Skip the one that failed, so one bad destination does not
                 * stop the others. */
                sent++;
                continue;
            }
            sent += (unsigned)r;
        }
    }
    rcu_unregister_thread();
    return NULL;
}

/* ---- TCP ------------------------------------------------------------------- */

static void tcp_close(tcp_conn_t *c)
{
    event_del(&c->ev);
    close(c->fd);
    c->fd = -1;
    c->next_free = c->w->free_conns;
    c->w->free_conns = c;
}

static void tcp_conn_cb(evutil_socket_t fd, short what, void *arg);

static void tcp_watch(tcp_conn_t *c, bool writing)
{
    event_del(&c->ev);
    c->writing = writing;
    event_assign(&c->ev, c->w->base, c->fd, (writing ? EV_WRITE : EV_READ) | EV_PERSIST, tcp_conn_cb, c);
    event_add(&c->ev, &c->w->tcp_idle);
}

/* Send what is pending in out[].  Returns false when the connection died. */
static bool tcp_flush(tcp_conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t r = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            return false;
        }
        c->out_off += (size_t)r;
    }
    c->out_off = c->out_len = 0;
    return true;
}

/* Answer every complete query in in[], in order, stopping when output is
 * pending.  Returns false when the connection must be closed. */
static bool tcp_process(tcp_conn_t *c)
{
    worker_t *w = c->w;
    size_t off = 0;
    bool ok = true;
    while (c->out_len == 0 && c->in_len - off >= 2) {
        size_t mlen = wire_get16(c->in + off);
        if (mlen == 0) {
            ok = false;
            break;
        }
        if (c->in_len - off < 2 + mlen)
            break;
        memcpy(c->out + 2, c->in + off + 2, mlen);
        off += 2 + mlen;
        rcu_read_lock();
        size_t rlen = dnsd_query(w->qctx, (const struct sockaddr *)&c->peer, c->out + 2, mlen,
                                 DNSD_TCP_BUF, true);
        rcu_read_unlock();
        if (!rlen)
            continue;
        wire_put16(c->out, (uint16_t)rlen);
        c->out_len = 2 + rlen;
        c->out_off = 0;
        if (!tcp_flush(c)) {
            ok = false;
            break;
        }
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
    return ok;
}

static void tcp_conn_cb(evutil_socket_t fd, short what, void *arg)
{
    tcp_conn_t *c = arg;
    if (what & EV_TIMEOUT) {
        tcp_close(c);
        return;
    }
    if (c->writing) {
        if (!tcp_flush(c)) {
            tcp_close(c);
            return;
        }
        if (c->out_len)
            return;
        /* Drained: answer what was already read, then read again. */
        if (!tcp_process(c)) {
            tcp_close(c);
            return;
        }
        tcp_watch(c, c->out_len != 0);
        return;
    }
    ssize_t r = recv(fd, c->in + c->in_len, TCP_BUF - c->in_len, MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        tcp_close(c);
        return;
    }
    if (r < 0)
        return;
    c->in_len += (size_t)r;
    if (!tcp_process(c)) {
        tcp_close(c);
        return;
    }
    if (c->out_len)
        tcp_watch(c, true);
}

static void tcp_accept_cb(evutil_socket_t fd, short what, void *arg)
{
    tcp_listener_t *l = arg;
    worker_t *w = l->w;
    (void)what;
    for (unsigned i = 0; i < TCP_ACCEPTS; i++) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int cfd = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_ratelimited(&w->neterr, "worker %u: accept: %s", w->id, strerror(errno));
            return;
        }
        tcp_conn_t *c = w->free_conns;
        if (!c) {
            close(cfd);
            continue;
        }
        w->free_conns = c->next_free;
        if (!c->in) {
            c->in = xmalloc(TCP_BUF);
            c->out = xmalloc(TCP_BUF);
        }
        c->fd = cfd;
        c->peer = peer;
        c->in_len = c->out_len = c->out_off = 0;
        c->writing = false;
        event_assign(&c->ev, w->base, cfd, EV_READ | EV_PERSIST, tcp_conn_cb, c);
        event_add(&c->ev, &w->tcp_idle);
    }
}

/* ---- thread life ------------------------------------------------------------ */

static void stop_cb(evutil_socket_t fd, short what, void *arg)
{
    worker_t *w = arg;
    uint64_t v;
    (void)what;
    if (read(fd, &v, sizeof v) < 0 && errno != EAGAIN)
        log_ratelimited(&w->neterr, "worker %u: eventfd read: %s", w->id, strerror(errno));
    event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    rcu_register_thread();
    event_base_dispatch(w->base);
    rcu_unregister_thread();
    return NULL;
}

static bool worker_init(worker_t *w, const dnsd_server_t *srv, unsigned id, net_sock_t *socks,
                        unsigned nsock, errs_t *errs)
{
    w->id = id;
    w->stopfd = -1;
    struct event_config *cfg = event_config_new();
    /* This base is only ever used by its own thread. */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!w->base) {
        errs_add(errs, NULL, 0, "worker %u: cannot create an event loop", id);
        return false;
    }
    w->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->stopfd < 0) {
        errs_add(errs, NULL, 0, "worker %u: eventfd: %s", id, strerror(errno));
        return false;
    }
    event_assign(&w->stop_ev, w->base, w->stopfd, EV_READ | EV_PERSIST, stop_cb, w);
    event_add(&w->stop_ev, NULL);
    w->qctx = dnsd_qctx_new(srv, 0);
    w->nsock = nsock;
    w->tcpl = xcalloc(nsock, sizeof *w->tcpl);
    for (unsigned i = 0; i < nsock; i++) {
        w->tcpl[i] = (tcp_listener_t){ .w = w, .fd = socks[i].tcp };
        event_assign(&w->tcpl[i].ev, w->base, socks[i].tcp, EV_READ | EV_PERSIST, tcp_accept_cb, &w->tcpl[i]);
        event_add(&w->tcpl[i].ev, NULL);
    }
    w->nconns = srv->conf->tcp_clients;
    w->conns = xcalloc(w->nconns, sizeof *w->conns);
    for (unsigned i = w->nconns; i-- > 0;) {
        w->conns[i].w = w;
        w->conns[i].fd = -1;
        w->conns[i].next_free = w->free_conns;
        w->free_conns = &w->conns[i];
    }
    w->tcp_idle.tv_sec = srv->conf->tcp_timeout;
    return true;
}

static void worker_destroy(worker_t *w)
{
    for (unsigned i = 0; i < w->nconns; i++) {
        if (w->conns[i].fd >= 0) {
            event_del(&w->conns[i].ev);
            close(w->conns[i].fd);
        }
        free(w->conns[i].in);
        free(w->conns[i].out);
    }
    free(w->conns);
    if (w->base) {
        for (unsigned i = 0; i < w->nsock; i++)
            event_del(&w->tcpl[i].ev);
        if (w->stopfd >= 0)
            event_del(&w->stop_ev);
        event_base_free(w->base);
    }
    if (w->stopfd >= 0)
        close(w->stopfd);
    free(w->tcpl);
    dnsd_qctx_free(w->qctx);
}

dnsd_workers_t *dnsd_workers_start(const dnsd_server_t *srv, net_sock_t *socks, unsigned nworkers,
                                   errs_t *errs)
{
    dnsd_workers_t *ws = xcalloc(1, sizeof *ws);
    unsigned per = srv->conf->nlistens;
    ws->n = nworkers;
    ws->v = xcalloc(nworkers, sizeof *ws->v);
    ws->nudp = nworkers * per;
    ws->udp = harena_alloc(&ws->arena, ws->nudp * sizeof *ws->udp, 64);
    ws->socks = socks;
    ws->nsocks = nworkers * per;
    /* Workers must not take the signals the main loop handles. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    bool ok = true;
    for (unsigned i = 0; i < ws->nudp && ok; i++) {
        udp_thread_t *u = &ws->udp[i];
        u->id = i / per;
        u->fd = socks[i].udp;
        u->pktinfo = socks[i].pktinfo;
        u->qctx = dnsd_qctx_new_in(srv, 0, &ws->arena);
        u->bufs = harena_alloc(&ws->arena, (size_t)UDP_BUF_STRIDE * UDP_BATCH, 64);
        int e = pthread_create(&u->thread, NULL, udp_main, u);
        if (e)
            errs_add(errs, NULL, 0, "worker %u: cannot start UDP thread: %s", u->id, strerror(e));
        u->started = !e;
        ok = !e;
    }
    for (unsigned i = 0; i < nworkers && ok; i++) {
        worker_t *w = &ws->v[i];
        ok = worker_init(w, srv, i, socks + i * per, per, errs);
        if (ok) {
            int e = pthread_create(&w->thread, NULL, worker_main, w);
            if (e) {
                errs_add(errs, NULL, 0, "worker %u: cannot start TCP thread: %s", i, strerror(e));
                ok = false;
            }
            w->started = !e;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!ok) {
        dnsd_workers_stop(ws);
        return NULL;
    }
    return ws;
}

void dnsd_workers_stop(dnsd_workers_t *ws)
{
    if (!ws)
        return;
    for (unsigned i = 0; i < ws->nudp; i++) {
        udp_thread_t *u = &ws->udp[i];
        __atomic_store_n(&u->stop, true, __ATOMIC_RELEASE);
        /* Wakes a recvmmsg blocked on the socket (it returns an empty
         * datagram from then on); ENOTCONN is expected on UDP. */
        if (u->started)
            shutdown(u->fd, SHUT_RD);
    }
    for (unsigned i = 0; i < ws->n; i++) {
        uint64_t one = 1;
        if (ws->v[i].started && write(ws->v[i].stopfd, &one, sizeof one) < 0)
            log_err("worker %u: cannot signal stop: %s", i, strerror(errno));
    }
    for (unsigned i = 0; i < ws->nudp; i++) {
        if (ws->udp[i].started)
            pthread_join(ws->udp[i].thread, NULL);
    }
    for (unsigned i = 0; i < ws->n; i++) {
        if (ws->v[i].started)
            pthread_join(ws->v[i].thread, NULL);
        worker_destroy(&ws->v[i]);
    }
    net_close(ws->socks, ws->nsocks);
    harena_free(&ws->arena);
    free(ws->v);
    free(ws);
}
