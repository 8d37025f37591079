/* geo-probe.c -- look addresses up in a MaxMind DB through geo/, or time and cross-check lookups.
 *
 *   geo-probe DB.mmdb ADDR[/PREFIX] ...   country, continent and scope of each
 *   geo-probe [-n N] [-k K] DB.mmdb       time N random lookups of each kind
 *                                         (or of kind K only: 0 IPv4/32,
 *                                         1 IPv4/24, 2 IPv6/128, 3 IPv6/56)
 *   geo-probe -c [-n N] DB.mmdb           compare N random addresses with
 *                                         libmaxminddb's own answers
 *
 * Instructions per lookup (the figures in the report come from this):
 *   valgrind --tool=callgrind --callgrind-out-file=cg.out \
 *       --toggle-collect='timed_loop*' build/tools/geo-probe -n 1000000 -k K DB.mmdb
 *   callgrind_annotate --inclusive=yes cg.out | grep geo_lookup
 * and divide geo_lookup's inclusive Ir by N.
 * Random addresses are drawn from a fixed seed, so runs are comparable; the
 * timed ones are those the db places in a country (see bench()). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsd/base/rng.h"
#include "geo/geo.h"
#include "geo/geo_internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A random address of one kind: 0 IPv4/32, 1 IPv4/24, 2 IPv6 in 2000::/3
 * /128, 3 the same /56 (a typical ECS prefix). */
static void random_addr(rng_t *r, int kind, int *family, uint8_t *a, unsigned *prefix)
{
    uint64_t x = rng_next(r), y = rng_next(r);
    memcpy(a, &x, 8);
    memcpy(a + 8, &y, 8);
    *family = kind < 2 ? 4 : 6;
    *prefix = (unsigned[]){ 32, 24, 128, 56 }[kind];
    if (*family == 6)
        a[0] = (uint8_t)(0x20 | (a[0] & 0x1f));
}

/* The measured loop, on its own so callgrind can collect just it
 * (--toggle-collect='timed_loop*', as gcc may rename a clone of it). */
__attribute__((noinline)) static unsigned timed_loop(const geo_db_t *db, int family,
                                                     unsigned prefix, uint8_t (*addrs)[16],
                                                     long batch, long n)
{
    unsigned sum = 0;
    for (long i = 0; i < n; i++) {
        geo_answer_t ans;
        geo_lookup(db, family, addrs[i & (batch - 1)], prefix, &ans);
        sum += ans.country + ans.scope;
    }
    return sum;
}

static void bench(const geo_db_t *db, long n, int only)
{
    static const char *const names[] = { "IPv4 /32", "IPv4 /24", "IPv6 /128", "IPv6 /56" };
    for (int kind = 0; kind < 4; kind++) {
        if (only >= 0 && kind != only)
            continue;
        /* Addresses are made first so the timing is the lookup alone. */
        /* 2^20 distinct addresses (16 MiB): far more than the caches
         * hold, like the many resolvers a public server hears from.  A
         * small batch would measure a trie that sits in L1/L2. */
        enum { BATCH = 1 << 20 };
        static uint8_t addrs[BATCH][16];
        int family = 4;
        unsigned prefix = 32;
        rng_t r;
        rng_seed(&r, 42 + (uint64_t)kind);
        /* Only addresses the db places in a country: real clients are
         * there, not in unallocated space that a short walk dismisses. */
        for (int i = 0; i < BATCH; i++) {
            geo_answer_t ans;
            do {
                random_addr(&r, kind, &family, addrs[i], &prefix);
                geo_lookup(db, family, addrs[i], prefix, &ans);
            } while (ans.country == AREA_WORLD);
        }
        double t0 = now_s();
        unsigned sum = timed_loop(db, family, prefix, addrs, BATCH, n);
        double dt = now_s() - t0;
        printf("%-10s %ld lookups, %.1f ns each (checksum %u)\n", names[kind], n, dt * 1e9 / n,
               sum);
    }
}

/* Every answer must equal libmaxminddb's for the address (the world for the
 * special-purpose blocks), and also for a second address that shares only
 * the first `scope` bits (so the scope is honest). */
static int check(const geo_db_t *db, const char *path, long n)
{
    errs_t errs = ERRS_INIT;
    geo_mmdb_t *m = geo_mmdb_open(path, &errs);
    if (!m) {
        errs_print(&errs, stderr, "geo-probe: ");
        errs_clear(&errs);
        return 1;
    }
    rng_t r;
    rng_seed(&r, 7);
    long bad = 0, tried = 0;
    for (long i = 0; i < n; i++) {
        int family;
        unsigned prefix, nm;
        uint8_t a[16], b[16];
        random_addr(&r, (int)(i & 2), &family, a, &prefix);
        if (i % 8 == 7 && family == 6) {
            memset(a, 0, 10);    /* IPv4-mapped */
            a[10] = a[11] = 0xff;
        }
        geo_answer_t ga, gb;
        geo_lookup(db, family, a, prefix, &ga);
        /* b: a's first ga.scope bits, then random. */
        random_addr(&r, (int)(i & 2), &family, b, &prefix);
        for (unsigned bit = 0; bit < ga.scope; bit++) {
            uint8_t mask = (uint8_t)(0x80 >> (bit & 7));
            b[bit / 8] = (uint8_t)((b[bit / 8] & ~mask) | (a[bit / 8] & mask));
        }
        geo_lookup(db, family, b, prefix, &gb);
        for (int j = 0; j < 2; j++) {
            const uint8_t *x = j ? b : a;
            area_t c, k;
            /* Mapped addresses are IPv4 by definition, whatever the db's
             * ::ffff:0:0/96 holds (the npm flat dbs leave it empty). */
            static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
            bool mapped = family == 6 && memcmp(x, v4mapped, 12) == 0;
            if (!(mapped ? geo_mmdb_lookup_direct(m, 4, x + 12, &c, &k, &nm)
                         : geo_mmdb_lookup_direct(m, family, x, &c, &k, &nm)))
                continue;
            if (geo_addr_is_special(family, x))
                c = k = AREA_WORLD;
            tried++;
            if (c != ga.country || k != ga.continent || (j && (gb.country != ga.country ||
                                                              gb.continent != ga.continent))) {
                char s[INET6_ADDRSTRLEN];
                inet_ntop(family == 4 ? AF_INET : AF_INET6, x, s, sizeof(s));
                if (bad++ < 20)
                    printf("MISMATCH %s: mmdb %s/%s (netmask %u), geo %s/%s scope %u\n", s,
                           codes_area_name(c), codes_area_name(k), nm,
                           codes_area_name(ga.country), codes_area_name(ga.continent),
                           ga.scope);
            }
        }
    }
    geo_mmdb_close(m);
    printf("checked %ld addresses against libmaxminddb: %ld mismatches\n", tried, bad);
    return bad != 0;
}

static int probe(const geo_db_t *db, const char *arg)
{
    char buf[INET6_ADDRSTRLEN + 8];
    snprintf(buf, sizeof(buf), "%s", arg);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    uint8_t a[16] = { 0 };
    int family = strchr(buf, ':') ? 6 : 4;
    unsigned prefix = family == 4 ? 32 : 128;
    if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, a) != 1 ||
        (slash && ((prefix = (unsigned)atoi(slash + 1)) > (family == 4 ? 32u : 128u)))) {
        fprintf(stderr, "geo-probe: bad address %s\n", arg);
        return 1;
    }
    geo_answer_t ans;
    geo_lookup(db, family, a, prefix, &ans);
    printf("%s/%u %s %s %u\n", buf, prefix, codes_area_name(ans.country),
           codes_area_name(ans.continent), ans.scope);
    return 0;
}

int main(int argc, char **argv)
{
    long n = 10000000;
    int do_check = 0, only = -1, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0)
            do_check = 1;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = atol(argv[++i]);
        else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc)
            only = atoi(argv[++i]);
        else
            break;
    }
    if (i >= argc || n <= 0) {
        fprintf(stderr, "usage: geo-probe [-c] [-n N] [-k KIND] DB.mmdb [ADDR[/PREFIX] ...]\n");
        return 2;
    }
    const char *path = argv[i++];
    errs_t errs = ERRS_INIT;
    geo_db_t *db = geo_db_load(path, &errs);
    if (!db) {
        errs_print(&errs, stderr, "geo-probe: ");
        errs_clear(&errs);
        return 1;
    }
    char line[256];
    geo_db_describe(db, line, sizeof(line));
    printf("# %s\n", line);
    int rc = 0;
    if (i < argc)
        for (; i < argc; i++)
            rc |= probe(db, argv[i]);
    else if (do_check)
        rc = check(db, path, n);
    else
        bench(db, n, only);
    geo_db_free(db);
    return rc;
}
