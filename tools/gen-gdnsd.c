/* gen-gdnsd.c -- a gdnsd 3 configuration that serves the pool the way dnsd does, for the bench's gdnsd rows.
 *
 *   gen-gdnsd -s SNAPSHOT -z APEX -Z ZONEFILE -o DIR -l ADDR:PORT [-g MMDB]
 *             [-V VENDOR]... [-t TTL] [-m MIN_SCORE] [-a MAX_ANSWERS]
 *
 * Writes, for `gdnsd -c DIR start`:
 *   DIR/config             options (one UDP and one TCP thread on ADDR:PORT,
 *                          run_dir and state_dir under DIR) and the weighted
 *                          and geoip plugins' data
 *   DIR/zones/APEX         ZONEFILE (SOA, NS...) followed by one DYNA record
 *                          per pool name
 *   DIR/geoip/nets         client network -> datacenter, from MMDB (without
 *                          -g, every client gets the "world" datacenter, as
 *                          dnsd without geoip)
 *   DIR/run, DIR/state     empty, for gdnsd
 *
 * The selection tables come from dnsd's own code: the snapshot is parsed and
 * built by weights/ with dnsd's options (subzones 4, AAAA in subzones 2 and
 * 3, min-servers 1, and the -t/-m/-a values), so every (zone, family,
 * subzone) names exactly the servers dnsd would draw from, country ->
 * continent -> "@" fallback and min-servers already applied, and each
 * server's inclusion probability (its net-speed share of max-answers places,
 * capped at 1).
 *
 * Each table becomes a gdnsd weighted address set in grouped "multi" mode.
 * There gdnsd draws each group with probability (group weight / largest
 * group weight), and one address of a drawn group with probability (weight /
 * group weight): an address appears with probability weight / largest group
 * weight.  With weight = inclusion probability x 1048575 (gdnsd's largest)
 * and groups whose inclusion probabilities add up to at most 1, a server
 * appears in its dnsd share of answers divided by the largest group's total,
 * and an answer holds on average max-answers addresses divided by that
 * total, one per group drawn.  So the first group should add up to 1: in a
 * table of up to 64 servers it is the subset that comes closest (subset sum),
 * then the rest go first fit, heaviest first, into groups of at most 64
 * addresses (gdnsd's limit, as is 64 groups; both are checked).  In the
 * bench's snapshot the first group reaches 1 within 1% except in a few
 * small tables where no subset does (at worst 4.5 addresses on average
 * instead of 4).  Unlike dnsd's, the count varies from answer to answer: a
 * big table has many light groups (the global one: 1,616 servers in 26
 * groups give 2 to 9 addresses).  A table with at most max-answers servers
 * gives one group per server: all of them, every time.
 *
 * Names: CC.APEX, CONTINENT.APEX and N.CC... point straight at the weighted
 * resource of their table (every country and continent, as dnsd answers
 * them all).  APEX, N.APEX, VENDOR.APEX and N.VENDOR.APEX point at a geoip
 * resource whose map sends each client network to a "datacenter": one per
 * distinct row of answering tables, so a country with servers is its own
 * datacenter and a country without any shares its continent's.  Unknown,
 * private and reserved networks (and 127.0.0.1) get the map's default, the
 * "world" datacenter.  The nets file is the country database as dnsd sees
 * it (geo/flatten.c: merged networks, RFC 6890 blocks answering the world),
 * enumerated through geo_lookup() itself, each network mapped to its
 * datacenter and neighbouring networks with the same datacenter merged.
 * The IPv4-like IPv6 spaces that gdnsd refuses in nets (v4-mapped, SIIT,
 * 64:ff9b::/96, Teredo, 6to4) are left out: gdnsd looks those addresses up
 * as IPv4, as dnsd does for v4-mapped ones.
 *
 * gdnsd resolves both families of a DYNA resource for every query; the
 * unnumbered names and subzones 0 and 1 have IPv4 sets only, so their AAAA
 * answer is NODATA as in dnsd.  Monitoring is off (service_types => []):
 * dnsd has no health state to look up at query time either. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/compiler.h"
#include "dnsd/base/errs.h"
#include "geo/codes.h"
#include "geo/geo.h"
#include "weights/snapshot.h"

#define SUBZONES 4u
#define AAAA_MASK ((1u << 2) | (1u << 3))
#define NSUBS (SUBZONES + 1)    /* index SUBZONES is the unnumbered name */
#define MAX_VENDORS 16

/* gdnsd's weighted plugin limits (plugins/weighted.c). */
#define GD_MAX_GROUPS 64u
#define GD_MAX_PER_GROUP 64u
#define GD_MAX_WEIGHT 1048575u
/* Resolution of the subset sum that fills a small table's first group. */
#define DP_STEPS 4096u

F_NORETURN static void usage(void)
{
    fprintf(stderr, "usage: gen-gdnsd -s SNAPSHOT -z APEX -Z ZONEFILE -o DIR -l ADDR:PORT [-g MMDB]\n"
                    "                 [-V VENDOR]... [-t TTL] [-m MIN_SCORE] [-a MAX_ANSWERS]\n");
    exit(2);
}

F_NORETURN F_PRINTF(1, 2) static void die(const char *fmt, ...);
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gen-gdnsd: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        die("%s: %s", path, strerror(errno));
    return f;
}

static void close_out(FILE *f, const char *name)
{
    if (ferror(f) || fclose(f) != 0)
        die("%s: write error", name);
}

static void make_dir(const char *dir, const char *sub)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "", sub ? sub : "");
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die("%s: %s", path, strerror(errno));
}

/* Column i of res_of[][] as a weights/ subzone: 0..SUBZONES-1, or
 * WSNAP_SUB_ALL (the unnumbered name) for i == SUBZONES. */
static unsigned wsub(unsigned i)
{
    return i == SUBZONES ? WSNAP_SUB_ALL : i;
}

/* ---- weighted resources ------------------------------------------------- */

static const wsnap_server_t *servers;

typedef struct {
    const wtable_t *t[2];   /* IPv4 and IPv6 tables; NULL: no such family */
} res_t;

static res_t *res;
static unsigned nres;
static int res_of[AREA_COUNT][NSUBS];   /* index in res[], -1 when none */

static int res_find(const wtable_t *t4, const wtable_t *t6)
{
    if (!t4 && !t6)
        return -1;
    for (unsigned i = 0; i < nres; i++)
        if (res[i].t[0] == t4 && res[i].t[1] == t6)
            return (int)i;
    res = xreallocarray(res, nres + 1, sizeof *res);
    res[nres] = (res_t){ { t4, t6 } };
    return (int)nres++;
}

typedef struct {
    uint32_t server;    /* index in servers[] */
    uint32_t w;
} item_t;

static int item_cmp(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->server < y->server ? -1 : x->server > y->server;
}

static void fmt_addr(const wsnap_server_t *s, char *buf, size_t len)
{
    if (!inet_ntop(s->family == WSNAP_V4 ? AF_INET : AF_INET6, s->addr, buf, (socklen_t)len))
        die("inet_ntop failed");
}

static unsigned max_answers = 4;            /* -a */

/* Statistics over every address set written. */
static double st_mean_max, st_mean_sum;     /* over sets of more than max_answers */
static unsigned st_sets, st_big, st_max_groups, st_max_addrs;

/* One family of a weighted resource: the table's servers packed into groups. */
static void write_set(FILE *f, const char *stanza, const wtable_t *t)
{
    uint32_t n = wtable_size(t);
    if (n > GD_MAX_GROUPS * GD_MAX_PER_GROUP)
        die("a table of %u servers is more than gdnsd's weighted plugin holds (64 x 64)", n);
    item_t *it = xmalloc(n * sizeof *it);
    for (uint32_t i = 0; i < n; i++) {
        double w = round(wtable_inclusion(t, i) * GD_MAX_WEIGHT);
        it[i].server = wtable_server(t, i);
        it[i].w = w < 1 ? 1 : w > GD_MAX_WEIGHT ? GD_MAX_WEIGHT : (uint32_t)w;
    }
    qsort(it, n, sizeof *it, item_cmp);

    /* Groups of total weight <= 1 answer.  The largest group total decides
     * every address's odds, so it should be as close to 1 as can be: in a
     * small table the first group is the subset that comes closest (subset
     * sum over 1/4096ths, item sizes rounded up so the real total stays
     * <= 1); then first fit, heaviest first, for the rest.  Big tables have
     * enough small weights that first fit alone fills the first group. */
    uint32_t *gsum = xcalloc(n, sizeof *gsum), *gcnt = xcalloc(n, sizeof *gcnt);
    uint32_t *gof = xmalloc(n * sizeof *gof);
    uint32_t ng = 0;
    for (uint32_t i = 0; i < n; i++)
        gof[i] = UINT32_MAX;
    if (n <= GD_MAX_PER_GROUP) {
        static bool can[GD_MAX_PER_GROUP + 1][DP_STEPS + 1];
        uint32_t size[GD_MAX_PER_GROUP];
        memset(can, 0, sizeof can);
        can[0][0] = true;
        for (uint32_t i = 0; i < n; i++) {
            size[i] = (uint32_t)(((uint64_t)it[i].w * DP_STEPS + GD_MAX_WEIGHT - 1) / GD_MAX_WEIGHT);
            for (uint32_t s = 0; s <= DP_STEPS; s++)
                can[i + 1][s] = can[i][s] || (s >= size[i] && can[i][s - size[i]]);
        }
        uint32_t s = DP_STEPS;
        while (!can[n][s])
            s--;
        for (uint32_t i = n; i-- > 0;) {
            if (!can[i][s]) {   /* reached only with item i */
                gof[i] = 0;
                gsum[0] += it[i].w;
                gcnt[0]++;
                s -= size[i];
            }
        }
        ng = 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (gof[i] != UINT32_MAX)
            continue;
        uint32_t g = 0;
        while (g < ng && (gcnt[g] >= GD_MAX_PER_GROUP || gsum[g] + it[i].w > GD_MAX_WEIGHT))
            g++;
        if (g == ng)
            ng++;
        gsum[g] += it[i].w;
        gcnt[g]++;
        gof[i] = g;
    }
    if (ng > GD_MAX_GROUPS)
        die("a table of %u servers needs %u groups, more than gdnsd's 64", n, ng);
    uint64_t total = 0, gmax = 0;
    for (uint32_t g = 0; g < ng; g++) {
        total += gsum[g];
        if (gsum[g] > gmax)
            gmax = gsum[g];
    }
    double mean = (double)total / (double)gmax;
    if (n > max_answers) {
        st_mean_sum += mean;
        if (mean > st_mean_max)
            st_mean_max = mean;
        st_big++;
    }
    st_sets++;
    if (ng > st_max_groups)
        st_max_groups = ng;
    if (n > st_max_addrs)
        st_max_addrs = n;

    fprintf(f, "    %s => { # %s %s: %u servers in %u groups, %.2f addresses per answer on average\n",
            stanza, codes_area_name(wtable_area(t)), stanza + 6, n, ng, mean);
    char addr[INET6_ADDRSTRLEN];
    for (uint32_t g = 0; g < ng; g++) {
        fprintf(f, "      g%u => {", g);
        for (uint32_t i = 0; i < n; i++) {
            if (gof[i] != g)
                continue;
            fmt_addr(&servers[it[i].server], addr, sizeof addr);
            fprintf(f, " s%u => [ \"%s\", %u ]", it[i].server, addr, it[i].w);
        }
        fputs(" }\n", f);
    }
    fputs("    }\n", f);
    free(gsum);
    free(gcnt);
    free(gof);
    free(it);
}

/* ---- datacenters: one per distinct row of res_of ------------------------ */

static unsigned ndc;
static area_t dc_area[AREA_COUNT];     /* the first area with that row */
static unsigned dc_of[AREA_COUNT];

static const char *dc_name(unsigned dc)
{
    return dc_area[dc] == AREA_WORLD ? "world" : codes_area_name(dc_area[dc]);
}

static void make_dcs(void)
{
    for (unsigned a = 0; a < AREA_COUNT; a++) {
        unsigned d = 0;
        while (d < ndc && memcmp(res_of[dc_area[d]], res_of[a], sizeof res_of[a]))
            d++;
        if (d == ndc)
            dc_area[ndc++] = (area_t)a;
        dc_of[a] = d;
    }
    if (ndc > 254)
        die("%u datacenters, more than gdnsd's geoip maps hold (254)", ndc);
}

/* ---- nets: client networks as dnsd locates them, mapped to datacenters - */

enum { V_MIXED = -1, V_ANY = -2 };

typedef struct {
    const geo_db_t *db;
    FILE *f;
    unsigned long emitted;
} nets_t;

/* IPv6 spaces that gdnsd maps to IPv4 and refuses in nets. */
static const struct {
    uint8_t net[16];
    unsigned len;
} v4like[] = {
    { { 0 }, 96 },                                                  /* v4compat ::/96 */
    { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 96 },           /* v4mapped */
    { { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 }, 96 },           /* SIIT */
    { { 0, 0x64, 0xff, 0x9b }, 96 },                                /* RFC 6052 */
    { { 0x20, 0x01, 0, 0 }, 32 },                                   /* Teredo */
    { { 0x20, 0x02 }, 16 },                                         /* 6to4 */
};

static bool bit_of(const uint8_t *a, unsigned i)
{
    return a[i / 8] >> (7 - i % 8) & 1;
}

/* True when addr/len lies inside one of the v4-like spaces. */
static bool in_v4like(const uint8_t *addr, unsigned len)
{
    for (unsigned s = 0; s < ARRAY_LEN(v4like); s++) {
        if (len < v4like[s].len)
            continue;
        unsigned i = 0;
        while (i < v4like[s].len && bit_of(addr, i) == bit_of(v4like[s].net, i))
            i++;
        if (i == v4like[s].len)
            return true;
    }
    return false;
}

/* The datacenter of a client that dnsd locates as ans. */
static int answer_dc(const geo_answer_t *ans)
{
    area_t a = ans->country != AREA_WORLD ? ans->country : ans->continent; /* as dnsd */
    if (a >= AREA_COUNT)
        a = AREA_WORLD;
    return (int)dc_of[a];
}

static void emit(nets_t *nt, int fam, const uint8_t *addr, unsigned len, int dc)
{
    if (dc < 0 || dc_of[AREA_WORLD] == (unsigned)dc)
        return;     /* the map's default */
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, buf, sizeof buf);
    fprintf(nt->f, "\"%s/%u\" => %s\n", buf, len, dc_name((unsigned)dc));
    nt->emitted++;
}

/* The datacenter of the whole network addr/depth, or V_MIXED when it holds
 * several (its uniform parts are written then), or V_ANY for a v4-like IPv6
 * space.  Only geo_lookup() is asked, so the nets are what dnsd answers: a
 * scope shorter than the prefix means one network holds all of it; a scope
 * equal to it means a network of exactly that length, or a split below,
 * which the two halves tell apart.  Bits of addr after depth are zero and
 * are left so. */
static int walk(nets_t *nt, int fam, uint8_t *addr, unsigned depth)
{
    unsigned bits = fam == 4 ? 32 : 128;
    if (fam == 6 && in_v4like(addr, depth))
        return V_ANY;
    geo_answer_t ans;
    geo_lookup(nt->db, fam, addr, depth, &ans);
    if (ans.scope < depth || depth == bits)
        return answer_dc(&ans);
    uint8_t m = (uint8_t)(0x80 >> (depth % 8));
    int l = walk(nt, fam, addr, depth + 1);
    addr[depth / 8] |= m;
    int r = walk(nt, fam, addr, depth + 1);
    int v;
    if (l == V_ANY || r == V_ANY) {
        v = l == V_ANY ? r : l;
    } else if (l == r && l != V_MIXED) {
        v = l;
    } else {
        addr[depth / 8] &= (uint8_t)~m;
        emit(nt, fam, addr, depth + 1, l);
        addr[depth / 8] |= m;
        emit(nt, fam, addr, depth + 1, r);
        v = V_MIXED;
    }
    addr[depth / 8] &= (uint8_t)~m;
    return v;
}

static unsigned long write_nets(const geo_db_t *db, FILE *f)
{
    nets_t nt = { db, f, 0 };
    for (int fam = 4; fam <= 6; fam += 2) {
        uint8_t addr[16] = { 0 };
        int v = walk(&nt, fam, addr, 0);
        if (v >= 0)
            emit(&nt, fam, addr, 0, v);
    }
    return nt.emitted;
}

/* ---- main --------------------------------------------------------------- */

static void copy_file(const char *from, FILE *to)
{
    FILE *f = fopen(from, "r");
    if (!f)
        die("%s: %s", from, strerror(errno));
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, to);
    if (ferror(f))
        die("%s: read error", from);
    fclose(f);
}

static double parse_num(const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        usage();
    return v;
}

int main(int argc, char **argv)
{
    const char *snap_path = NULL, *apex = NULL, *zonefile = NULL, *dir = NULL, *listen = NULL,
               *mmdb = NULL, *vendors[MAX_VENDORS];
    unsigned nvendors = 0, ttl = 150;
    double min_score = 10;
    int opt;
    while ((opt = getopt(argc, argv, "s:z:Z:o:l:g:V:t:m:a:")) != -1) {
        switch (opt) {
        case 's': snap_path = optarg; break;
        case 'z': apex = optarg; break;
        case 'Z': zonefile = optarg; break;
        case 'o': dir = optarg; break;
        case 'l': listen = optarg; break;
        case 'g': mmdb = optarg; break;
        case 'V':
            if (nvendors == MAX_VENDORS)
                usage();
            vendors[nvendors++] = optarg;
            break;
        case 't': ttl = (unsigned)parse_num(optarg, 0, 2147483647); break;
        case 'm': min_score = parse_num(optarg, -100, 20); break;
        case 'a': max_answers = (unsigned)parse_num(optarg, 1, WSNAP_MAX_ANSWERS); break;
        default: usage();
        }
    }
    if (optind != argc || !snap_path || !apex || !zonefile || !dir || !listen)
        usage();

    /* The tables, as dnsd builds them. */
    errs_t errs = ERRS_INIT;
    uint32_t serial;
    wsnap_server_t *sv;
    size_t nsv;
    if (!wsnap_parse(snap_path, &serial, &sv, &nsv, &errs)) {
        errs_print(&errs, stderr, "gen-gdnsd: ");
        return 1;
    }
    servers = sv;
    wsnap_opts_t o = {
        .min_score = min_score,
        .max_answers = max_answers,
        .subzones = SUBZONES,
        .aaaa_mask = AAAA_MASK,
        .ttl = ttl,
        .min_servers = 1,
        .seed = 1,
    };
    wsnap_t *snap = wsnap_build(serial, sv, nsv, &o);
    for (unsigned a = 0; a < AREA_COUNT; a++) {
        for (unsigned i = 0; i < NSUBS; i++) {
            unsigned s = wsub(i);
            const wtable_t *t4 = wsnap_table(snap, (area_t)a, WSNAP_V4, s);
            const wtable_t *t6 = s != WSNAP_SUB_ALL && (AAAA_MASK >> s & 1)
                                     ? wsnap_table(snap, (area_t)a, WSNAP_V6, s) : NULL;
            res_of[a][i] = res_find(t4, t6);
            if (res_of[a][i] < 0)
                die("no eligible server anywhere for zone %s: nothing to configure",
                    codes_area_name((area_t)a));
        }
    }
    make_dcs();

    make_dir(dir, NULL);
    make_dir(dir, "zones");
    make_dir(dir, "geoip");
    make_dir(dir, "run");
    make_dir(dir, "state");

    /* nets first: the config names only datacenters, but say how many. */
    unsigned long nnets = 0;
    if (mmdb) {
        geo_db_t *db = geo_db_load(mmdb, &errs);
        if (!db) {
            errs_print(&errs, stderr, "gen-gdnsd: ");
            return 1;
        }
        FILE *nf = open_out(dir, "geoip/nets");
        fprintf(nf, "# %s mapped to datacenters by tools/gen-gdnsd\n", mmdb);
        nnets = write_nets(db, nf);
        close_out(nf, "geoip/nets");
        geo_db_free(db);
    }

    FILE *f = open_out(dir, "config");
    fprintf(f, "# gdnsd 3 config generated by tools/gen-gdnsd from %s (serial %u)\n", snap_path,
            serial);
    fprintf(f, "options => {\n"
               "  listen => { \"%s\" => { udp_threads => 1, tcp_threads => 1 } }\n"
               "  udp_threads => 1\n"
               "  tcp_threads => 1\n"
               "  zones_rfc1035_threads => 1\n"
               "  run_dir => \"%s/run\"\n"
               "  state_dir => \"%s/state\"\n"
               "}\n",
            listen, dir, dir);
    fputs("plugins => {\n"
          "  weighted => {\n"
          "   multi => true\n"
          "   service_types => []   # no health checks: dnsd has none at query time either\n",
          f);
    for (unsigned r = 0; r < nres; r++) {
        fprintf(f, "   w%u => {\n", r);
        if (res[r].t[0])
            write_set(f, "addrs_v4", res[r].t[0]);
        if (res[r].t[1])
            write_set(f, "addrs_v6", res[r].t[1]);
        fputs("   }\n", f);
    }
    fputs("  }\n"
          "  geoip => {\n"
          "   maps => {\n"
          "    pool => {\n"
          "     # the first one is the default for networks the nets do not list\n"
          "     datacenters => [",
          f);
    for (unsigned d = 0; d < ndc; d++)
        fprintf(f, " %s", dc_name(d));
    fputs(" ]\n", f);
    if (mmdb)
        fputs("     nets => nets\n", f);
    fputs("    }\n"
          "   }\n"
          "   resources => {\n",
          f);
    for (unsigned i = 0; i < NSUBS; i++) {
        if (i == SUBZONES)
            fputs("    pool => { map => pool, dcmap => {", f);
        else
            fprintf(f, "    pool%u => { map => pool, dcmap => {", i);
        for (unsigned d = 0; d < ndc; d++)
            fprintf(f, " %s => %%weighted!w%d", dc_name(d), res_of[dc_area[d]][i]);
        fputs(" } }\n", f);
    }
    fputs("   }\n"
          "  }\n"
          "}\n",
          f);
    close_out(f, "config");

    char zname[512];
    snprintf(zname, sizeof zname, "zones/%s", apex);
    FILE *z = open_out(dir, zname);
    copy_file(zonefile, z);
    fprintf(z, "\n; pool names (tools/gen-gdnsd)\n");
    /* Geo-targeted: the apex, its subzones, the vendors and theirs. */
    for (unsigned v = 0; v <= nvendors; v++) {
        const char *base = v ? vendors[v - 1] : "@";
        fprintf(z, "%s %u DYNA geoip!pool\n", base, ttl);
        for (unsigned i = 0; i < SUBZONES; i++) {
            if (v)
                fprintf(z, "%u.%s %u DYNA geoip!pool%u\n", i, base, ttl, i);
            else
                fprintf(z, "%u %u DYNA geoip!pool%u\n", i, ttl, i);
        }
    }
    /* Every continent and country, with fallback already in the table. */
    for (unsigned a = AREA_AFRICA; a < AREA_COUNT; a++) {
        const char *name = codes_area_name((area_t)a);
        fprintf(z, "%s %u DYNA weighted!w%d\n", name, ttl, res_of[a][SUBZONES]);
        for (unsigned i = 0; i < SUBZONES; i++)
            fprintf(z, "%u.%s %u DYNA weighted!w%d\n", i, name, ttl, res_of[a][i]);
    }
    close_out(z, zname);

    fprintf(stderr,
            "gen-gdnsd: %s: %u weighted resources, %u address sets (up to %u servers, %u groups); "
            "%u sets of more than %u servers give %.2f addresses per answer on average (%.2f at "
            "most), the others all theirs; %u datacenters, %lu nets\n",
            dir, nres, st_sets, st_max_addrs, st_max_groups, st_big, max_answers,
            st_big ? st_mean_sum / st_big : 0.0, st_mean_max, ndc, nnets);
    wsnap_free(snap);
    free(sv);
    free(res);
    return 0;
}
