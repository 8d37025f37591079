/* qpath-bench.c -- run queries through dnsd_query() in-process, with no sockets, for instruction counts.
 *
 *   qpath-bench -c CONFIG [-d TEXTFILE] [-B WIREFILE] [-n COUNT] [-a CLIENT] [-s SEED]
 *               [-b BATCH] [-i NS [-w same|reverse|next|far|other]]
 *
 * Loads CONFIG with dnsd_server_load() (the daemon's own loading code),
 * reads queries from a dnsperf text file ("name TYPE" per line) and/or a
 * dnsperf -B wire file (2-byte big-endian length, then the message), and
 * answers COUNT queries (default: each query once), cycling through them.
 * CLIENT is the source address the server sees (default 127.0.0.1, which the
 * geo database maps to no country, like dnsperf on loopback).
 *
 * Prints the number of queries, the responses by RCODE, and the wall time per
 * query.  The loop is in qpath_run(), a function of its own, so that
 *   valgrind --tool=callgrind --toggle-collect=qpath_run qpath-bench ...
 * counts exactly the query path: the total Ir divided by COUNT is the
 * instructions per query, without the loading.  Each query is copied into the
 * work buffer first (dnsd_query answers in place), which adds a few
 * instructions per query, as a real receive would.
 *
 * -i NS also times each dnsd_query_batch() call alone (no copy, no clock
 * outside it) and sleeps NS nanoseconds after each batch, as a worker
 * waits in recvmmsg between batches.  Compare -i 0 with -i 1000: on a
 * virtual machine whose idle CPU halts, the same queries cost much more
 * after each sleep (the caches and predictors come back cold), which is
 * why dnsd's user time per query under dnsperf is well above this tool's.
 *
 * -w MODE (with -i) runs an untimed warm-up batch right before each timed
 * one, to tell apart what the sleep leaves cold:
 *   same   the same queries, in other buffers: everything the batch reads
 *          is warm, and the branch predictors have just seen the very
 *          same sequence of outcomes;
 *   reverse  the same queries in reverse order: the same data warm, but
 *          another sequence of branch outcomes;
 *   next   the next batch's queries: the code, the branch history and the
 *          data every batch shares are warm, while each timed query's own
 *          data (its geo path, its table) was last read one batch and one
 *          sleep earlier (and its branch outcomes, in the same order, last
 *          seen then too, which flatters it as it does same);
 *   far    as many queries from half the query file further on: the same
 *          code and shared data, but other queries' own data;
 *   other  the next batch's queries through a second copy of the server,
 *          loaded from the same CONFIG: the same code and branches, none of
 *          the timed server's data.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <urcu.h>

#include "dnsd/base/compiler.h"
#include "dnsd/base/errs.h"
#include "dnsd/query.h"
#include "dnsd/server.h"

/* All queries, back to back; offs[i]..offs[i+1] is query i. */
struct qset {
    uint8_t *data;
    size_t len, cap;
    size_t *offs;
    size_t n, ncap;
};

/* Messages per dnsd_query_batch() call, at most: the workers' UDP batch. */
#define QPATH_BATCH_MAX 32

F_NORETURN static void usage(void)
{
    fprintf(stderr, "usage: qpath-bench -c CONFIG [-d TEXTFILE] [-B WIREFILE] [-n COUNT] "
                    "[-a CLIENT] [-s SEED] [-b BATCH] [-i NS [-w MODE]]\n"
                    "  -b BATCH  queries per dnsd_query_batch() call, 1..%d (default %d, as the\n"
                    "            workers); 1: one dnsd_query() call per query\n"
                    "  -i NS     time the batch calls alone and sleep NS ns after each batch\n"
                    "            (not with -b 1)\n"
                    "  -w MODE   with -i: an untimed warm-up batch before each timed one, of\n"
                    "            the same queries (same; reverse: in reverse order), the next\n"
                    "            ones (next), ones half the file further on (far), or the\n"
                    "            next ones through a second copy of the server (other)\n",
            QPATH_BATCH_MAX, QPATH_BATCH_MAX);
    exit(2);
}

F_NORETURN static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "qpath-bench: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static void qset_add(struct qset *q, const uint8_t *msg, size_t len)
{
    if (q->len + len > q->cap) {
        q->cap = (q->cap + len) * 2;
        q->data = realloc(q->data, q->cap);
    }
    if (q->n + 2 > q->ncap) {
        q->ncap = (q->ncap + 1) * 2;
        q->offs = realloc(q->offs, q->ncap * sizeof *q->offs);
    }
    if (!q->data || !q->offs)
        die("%s", "out of memory");
    memcpy(q->data + q->len, msg, len);
    q->offs[q->n] = q->len;
    q->len += len;
    q->n++;
    q->offs[q->n] = q->len;
}

static const struct {
    const char *name;
    unsigned code;
} qtypes[] = {
    { "A", 1 },     { "NS", 2 },     { "CNAME", 5 }, { "SOA", 6 },   { "PTR", 12 },
    { "MX", 15 },   { "TXT", 16 },   { "AAAA", 28 }, { "SRV", 33 },  { "DS", 43 },
    { "DNSKEY", 48 }, { "HTTPS", 65 }, { "CAA", 257 }, { "ANY", 255 },
};

static int qtype_code(const char *s)
{
    for (size_t i = 0; i < ARRAY_LEN(qtypes); i++)
        if (!strcasecmp(s, qtypes[i].name))
            return (int)qtypes[i].code;
    if (!strncasecmp(s, "TYPE", 4) && s[4]) {
        char *end;
        unsigned long v = strtoul(s + 4, &end, 10);
        if (!*end && v < 65536)
            return (int)v;
    }
    return -1;
}

/* Encode "name TYPE" the way dnsperf does without -e: RD set, no OPT. */
static bool encode_query(const char *name, int qtype, uint16_t id, uint8_t *msg, size_t *len)
{
    size_t n = 12;
    memset(msg, 0, 12);
    msg[0] = (uint8_t)(id >> 8);
    msg[1] = (uint8_t)id;
    msg[2] = 0x01;          /* RD */
    msg[5] = 1;             /* QDCOUNT */
    while (*name && strcmp(name, ".") != 0) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        if (l == 0 || l > 63 || n + l + 1 > 12 + 255)
            return false;
        msg[n++] = (uint8_t)l;
        memcpy(msg + n, name, l);
        n += l;
        name += l + (dot ? 1 : 0);
    }
    msg[n++] = 0;
    msg[n++] = (uint8_t)(qtype >> 8);
    msg[n++] = (uint8_t)qtype;
    msg[n++] = 0;
    msg[n++] = 1;           /* IN */
    *len = n;
    return true;
}

static void read_text(struct qset *q, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[1024], name[512], type[64];
    unsigned lineno = 0;
    if (!f)
        die("%s: cannot open", path);
    while (fgets(line, sizeof line, f)) {
        uint8_t msg[512];
        size_t len;
        int qtype;
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%511s %63s", name, type) != 2 || (qtype = qtype_code(type)) < 0 ||
            !encode_query(name, qtype, (uint16_t)q->n, msg, &len)) {
            fprintf(stderr, "qpath-bench: %s:%u: not a \"name TYPE\" line\n", path, lineno);
            exit(1);
        }
        qset_add(q, msg, len);
    }
    fclose(f);
}

static void read_wire(struct qset *q, const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t hdr[2], msg[65535];
    if (!f)
        die("%s: cannot open", path);
    while (fread(hdr, 1, 2, f) == 2) {
        size_t len = (size_t)hdr[0] << 8 | hdr[1];
        if (len > DNSD_UDP_BUF || fread(msg, 1, len, f) != len)
            die("%s: truncated or oversized message", path);
        qset_add(q, msg, len);
    }
    fclose(f);
}

enum warm { WARM_NONE, WARM_SAME, WARM_REVERSE, WARM_NEXT, WARM_FAR, WARM_OTHER };

struct counts {
    uint64_t done, silent, bytes;
    uint64_t rcode[16];
    double path_s;          /* inside dnsd_query_batch(), with -i */
};

static inline void count_one(struct counts *c, const dnsd_qmsg_t *m)
{
    if (m->out == 0)
        c->silent++;
    else
        c->rcode[m->buf[3] & 15]++;
    c->bytes += m->out;
}

/* The measured loop.  noinline keeps it a function of its own for
 * callgrind's --toggle-collect.  With batch 1, one dnsd_query() per query,
 * the read-side lock taken per 64; otherwise dnsd_query_batch() over
 * batch messages under one lock, as a worker does per receive. */
static double now_s(void);

/* Copy query *i into buf (dnsd answers in place) and step *i on,
 * cycling; returns its length. */
static inline size_t copy_query(const struct qset *q, size_t *i, uint8_t *buf)
{
    size_t len = q->offs[*i + 1] - q->offs[*i];
    memcpy(buf, q->data + q->offs[*i], len);
    if (++*i == q->n)
        *i = 0;
    return len;
}

/* The -w warm-up: n queries from index i through wctx, in reverse order
 * if asked. */
static void warm_up(dnsd_qctx_t *wctx, const struct qset *q, size_t i, unsigned n, bool reverse,
                    const struct sockaddr *client)
{
    static uint8_t bufs[QPATH_BATCH_MAX][DNSD_UDP_BUF];
    dnsd_qmsg_t m[QPATH_BATCH_MAX];
    for (unsigned j = 0; j < n; j++) {
        unsigned at = reverse ? n - 1 - j : j;
        size_t len = copy_query(q, &i, bufs[at]);
        m[at] = (dnsd_qmsg_t){ .client = client, .buf = bufs[at], .len = len, .cap = DNSD_UDP_BUF };
    }
    dnsd_query_batch(wctx, m, n);
}

__attribute__((noinline, noclone)) void qpath_run(dnsd_qctx_t *ctx, const struct qset *q, uint64_t count,
                                         const struct sockaddr *client, unsigned batch,
                                         long idle_ns, enum warm warm, dnsd_qctx_t *wctx,
                                         struct counts *c);
__attribute__((noinline, noclone)) void qpath_run(dnsd_qctx_t *ctx, const struct qset *q, uint64_t count,
                                         const struct sockaddr *client, unsigned batch,
                                         long idle_ns, enum warm warm, dnsd_qctx_t *wctx,
                                         struct counts *c)
{
    static uint8_t bufs[QPATH_BATCH_MAX][DNSD_UDP_BUF];
    dnsd_qmsg_t m[QPATH_BATCH_MAX];
    size_t i = 0;
    for (uint64_t done = 0; done < count;) {
        unsigned n = batch == 1 ? 64 : batch;
        if (count - done < n)
            n = (unsigned)(count - done);
        rcu_read_lock();
        for (unsigned j = 0; j < n; j++) {
            uint8_t *buf = bufs[batch == 1 ? 0 : j];
            size_t len = copy_query(q, &i, buf);
            if (batch > 1) {
                m[j] = (dnsd_qmsg_t){ .client = client, .buf = buf, .len = len, .cap = DNSD_UDP_BUF };
                continue;
            }
            m[0].out = dnsd_query(ctx, client, buf, len, DNSD_UDP_BUF, false);
            m[0].buf = buf;
            count_one(c, &m[0]);
        }
        if (batch > 1) {
            if (idle_ns >= 0) {
                /* i is past this batch: the next batch starts there. */
                if (warm == WARM_SAME || warm == WARM_REVERSE)
                    warm_up(ctx, q, (i + q->n - n % q->n) % q->n, n, warm == WARM_REVERSE, client);
                else if (warm == WARM_FAR)
                    warm_up(ctx, q, (i + q->n / 2) % q->n, n, false, client);
                else if (warm != WARM_NONE)
                    warm_up(wctx, q, i, n, false, client);
                double t = now_s();
                dnsd_query_batch(ctx, m, n);
                c->path_s += now_s() - t;
            } else {
                dnsd_query_batch(ctx, m, n);
            }
            for (unsigned j = 0; j < n; j++)
                count_one(c, &m[j]);
        }
        rcu_read_unlock();
        done += n;
        if (idle_ns > 0) {
            struct timespec ts = { idle_ns / 1000000000, idle_ns % 1000000000 };
            nanosleep(&ts, NULL);
        }
    }
    c->done += count;
}

static const char *const rcode_names[16] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *conf = NULL, *client_str = "127.0.0.1";
    struct qset q = { 0 };
    long long count = -1;
    unsigned long long seed = 1;
    struct sockaddr_storage client;
    int opt;

    memset(&client, 0, sizeof client);
    unsigned batch = QPATH_BATCH_MAX;
    long idle_ns = -1;
    enum warm warm = WARM_NONE;
    while ((opt = getopt(argc, argv, "c:d:B:n:a:s:b:i:w:")) != -1) {
        switch (opt) {
        case 'c': conf = optarg; break;
        case 'd': read_text(&q, optarg); break;
        case 'B': read_wire(&q, optarg); break;
        case 'n': count = strtoll(optarg, NULL, 10); break;
        case 'a': client_str = optarg; break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'b': batch = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'i': idle_ns = strtol(optarg, NULL, 10); break;
        case 'w':
            warm = !strcmp(optarg, "same") ? WARM_SAME : !strcmp(optarg, "reverse") ? WARM_REVERSE
                 : !strcmp(optarg, "next") ? WARM_NEXT
                 : !strcmp(optarg, "far") ? WARM_FAR : !strcmp(optarg, "other") ? WARM_OTHER
                 : (usage(), WARM_NONE);
            break;
        default: usage();
        }
    }
    if (!conf || optind != argc || count < -1 || batch < 1 || batch > QPATH_BATCH_MAX || idle_ns < -1 ||
        (idle_ns >= 0 && batch == 1) || (warm != WARM_NONE && idle_ns < 0))
        usage();
    if (q.n == 0 && count != 0)
        die("%s", "no queries: give -d TEXTFILE and/or -B WIREFILE");
    if (count < 0)
        count = (long long)q.n;

    struct sockaddr_in *sin = (struct sockaddr_in *)&client;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&client;
    if (inet_pton(AF_INET, client_str, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(40000);
    } else if (inet_pton(AF_INET6, client_str, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(40000);
    } else {
        die("%s: not an IP address", client_str);
    }

    rcu_register_thread();
    errs_t errs = ERRS_INIT;
    double t0 = now_s();
    dnsd_server_t *srv = dnsd_server_load(conf, &errs);
    if (!srv) {
        errs_print(&errs, stderr, "qpath-bench: ");
        return 1;
    }
    double t_load = now_s() - t0;
    /* A fixed seed: the same servers are drawn on every run, so two builds
     * take the same branches and their instruction counts compare. */
    dnsd_qctx_t *ctx = dnsd_qctx_new(srv, seed ? seed : 1);
    dnsd_server_t *srv2 = NULL;
    dnsd_qctx_t *wctx = ctx;
    if (warm == WARM_OTHER) {
        srv2 = dnsd_server_load(conf, &errs);
        if (!srv2) {
            errs_print(&errs, stderr, "qpath-bench: ");
            return 1;
        }
        wctx = dnsd_qctx_new(srv2, (seed ? seed : 1) + 1);
    }
    struct counts c;
    memset(&c, 0, sizeof c);

    t0 = now_s();
    qpath_run(ctx, &q, (uint64_t)count, (const struct sockaddr *)&client, batch, idle_ns, warm, wctx, &c);
    double t_run = now_s() - t0;

    printf("queries %" PRIu64 " (%zu distinct), load %.1f ms\n", c.done, q.n, t_load * 1e3);
    for (unsigned r = 0; r < 16; r++)
        if (c.rcode[r])
            printf("  %-9s %" PRIu64 "\n", rcode_names[r], c.rcode[r]);
    if (c.silent)
        printf("  %-9s %" PRIu64 "\n", "no-answer", c.silent);
    if (c.done)
        printf("average response %.1f bytes, %.0f ns per query (wall clock, %.0f q/s)\n",
               (double)c.bytes / (double)(c.done - c.silent ? c.done - c.silent : 1),
               t_run * 1e9 / (double)c.done, (double)c.done / (t_run > 0 ? t_run : 1e-9));
    if (c.done && idle_ns >= 0)
        printf("inside dnsd_query_batch(): %.0f ns per query (sleeping %ld ns after each batch)\n",
               c.path_s * 1e9 / (double)c.done, idle_ns);

    if (wctx != ctx)
        dnsd_qctx_free(wctx);
    dnsd_server_free(srv2);
    dnsd_qctx_free(ctx);
    dnsd_server_free(srv);
    errs_clear(&errs);
    rcu_unregister_thread();
    free(q.data);
    free(q.offs);
    return 0;
}
