/* trivial-responder.c -- the machine's floor: echo every UDP query back with QR set.
 *
 * Usage: trivial-responder [-b BATCH] ADDRESS:PORT      (IPv6 as [::1]:5353)
 *
 * One thread, one socket, blocking recvmmsg() batches and one sendmmsg() per
 * batch.  Each query becomes its own response in place: QR is set and
 * everything else (ID, question, any OPT record) is kept, so the response has
 * the query's size and dnsperf accepts it (it matches on the ID).  It does no
 * parsing at all, so its CPU per query is what the kernel and the loopback
 * path cost; tools/bench.sh compares dnsd's queries per busy core with this.
 *
 * Prints "ready" on stdout once bound; on SIGTERM or SIGINT prints how many
 * packets it answered and exits 0.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/compiler.h"

#define MAX_BATCH 256
#define PKT_BUF 4096

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

F_NORETURN static void usage(void)
{
    fprintf(stderr, "usage: trivial-responder [-b BATCH] ADDRESS:PORT\n");
    exit(2);
}

/* Split "1.2.3.4:53" or "[::1]:53" into host and port, in place. */
static int split_host_port(char *s, char **host, char **port)
{
    char *colon;
    if (s[0] == '[') {
        char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return -1;
        *end = '\0';
        *host = s + 1;
        *port = end + 2;
        return 0;
    }
    colon = strrchr(s, ':');
    if (!colon)
        return -1;
    *colon = '\0';
    *host = s;
    *port = colon + 1;
    return 0;
}

static int open_socket(const char *arg)
{
    char spec[128], *host, *port;
    struct addrinfo hints, *res;
    int fd, one = 1, rc;

    /* A copy: splitting argv in place would show up in ps. */
    if (strlen(arg) >= sizeof spec || split_host_port(strcpy(spec, arg), &host, &port) != 0)
        usage();
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "trivial-responder: %s:%s: %s\n", host, port, gai_strerror(rc));
        exit(1);
    }
    fd = socket(res->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("trivial-responder: socket");
        exit(1);
    }
    if (res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    /* The same socket options as dnsd's UDP sockets (dnsd/net.c): its
     * receive buffer, and Don't Fragment, which spares the kernel its IP ID
     * generator.  The floor must be measured on the same kernel path as
     * dnsd. */
    int rcvbuf = 4 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int pmtu = res->ai_family == AF_INET ? IP_PMTUDISC_PROBE : IPV6_PMTUDISC_PROBE;
    if (res->ai_family == AF_INET)
        setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
    else
        setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
        perror("trivial-responder: bind");
        exit(1);
    }
    freeaddrinfo(res);
    return fd;
}

int main(int argc, char **argv)
{
    /* Packet buffers and headers in huge pages, as dnsd's UDP threads have
     * them (dnsd/worker.c), so that this stays the floor: with them in
     * 4 KiB pages, the kernel's copies into and out of them cost more. */
    harena_t arena = { 0 };
    uint8_t(*bufs)[PKT_BUF] = harena_alloc(&arena, MAX_BATCH * sizeof *bufs, 64);
    struct sockaddr_storage *addrs = harena_alloc(&arena, MAX_BATCH * sizeof *addrs, 64);
    struct iovec *iovs = harena_alloc(&arena, MAX_BATCH * sizeof *iovs, 64);
    struct mmsghdr *msgs = harena_alloc(&arena, MAX_BATCH * sizeof *msgs, 64);
    struct sigaction sa;
    unsigned batch = 64;
    unsigned long long answered = 0;
    int opt, fd;

    while ((opt = getopt(argc, argv, "b:")) != -1) {
        if (opt == 'b') {
            batch = (unsigned)strtoul(optarg, NULL, 10);
            if (batch < 1 || batch > MAX_BATCH)
                usage();
        } else {
            usage();
        }
    }
    if (optind != argc - 1)
        usage();
    fd = open_socket(argv[optind]);

    /* No SA_RESTART: the blocking recvmmsg() must return EINTR on SIGTERM. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    for (unsigned i = 0; i < batch; i++) {
        iovs[i].iov_base = bufs[i];
        msgs[i].msg_hdr.msg_iov = &iovs[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &addrs[i];
    }
    printf("ready\n");
    fflush(stdout);

    unsigned used = batch;      /* slots the last recvmmsg filled */
    while (!stop_flag) {
        int n, keep = 0;
        /* recvmmsg overwrote these in the slots it filled (the swaps below
         * stay within them); reset only those. */
        for (unsigned i = 0; i < used; i++) {
            msgs[i].msg_hdr.msg_iov->iov_len = PKT_BUF;
            msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        }
        /* MSG_WAITFORONE: block for the first packet, then take what is
         * queued, so a batch never waits for packets that are not coming. */
        n = recvmmsg(fd, msgs, batch, MSG_WAITFORONE, NULL);
        if (n <= 0) {
            if (n < 0 && errno != EINTR && errno != EAGAIN)
                perror("trivial-responder: recvmmsg");
            used = 0;
            continue;
        }
        used = (unsigned)n;
        for (int i = 0; i < n; i++) {
            struct iovec *iov = msgs[i].msg_hdr.msg_iov;
            uint8_t *p = iov->iov_base;
            /* Shorter than a header, or already a response: drop it rather
             * than bounce a packet back and forth with another server.  The
             * slot is swapped out of the way so the send stays one call. */
            if (msgs[i].msg_len < 12 || (p[2] & 0x80))
                continue;
            p[2] |= 0x80;
            iov->iov_len = msgs[i].msg_len;
            if (keep != i) {
                struct mmsghdr t = msgs[keep];
                msgs[keep] = msgs[i];
                msgs[i] = t;
            }
            keep++;
        }
        if (keep == 0)
            continue;
        /* One call per batch; a partial send retries the rest once, then
         * drops them, as a real server would under pressure. */
        int sent = sendmmsg(fd, msgs, (unsigned)keep, 0);
        if (sent >= 0 && sent < keep) {
            int more = sendmmsg(fd, msgs + sent, (unsigned)(keep - sent), 0);
            if (more > 0)
                sent += more;
        }
        if (sent > 0)
            answered += (unsigned)sent;
    }
    printf("answered %llu\n", answered);
    close(fd);
    harena_free(&arena);
    return 0;
}
