/* gen-bench.c -- benchmark inputs: a synthetic snapshot, a dnsperf query file, an ECS wire file.
 *
 *   gen-bench snapshot [-n SERVERS] [-6 PERCENT] [-s SEED] [-S SERIAL]
 *   gen-bench queries  -z APEX [-n QUERIES] [-s SEED]
 *   gen-bench wire     -z APEX -g MMDB [-n QUERIES] [-s SEED] [-6 PERCENT]
 *
 * Everything goes to stdout.  The output depends only on the arguments (and,
 * for wire, the database file), so two runs of the benchmark on two commits
 * feed the server the same data.
 *
 * snapshot: SERVERS pool servers (default 4000, PERCENT of them IPv6, default
 *   25) over ~60 countries on the six inhabited continents, in the snapshot
 *   format weights/ reads.  Addresses come from 198.18.0.0/15 (RFC 2544
 *   benchmarking; then 100.64.0.0/10) and 2001:db8::/32: they are only data.
 *   Net speeds, scores and zones follow the shape of the real pool: mostly
 *   10-100 Mbit/s, few at 1 Gbit/s, some at 512 kbit/s; scores mostly 15-20
 *   with ~10% under 10; every server in its country zone, most in their
 *   continent, many in "@".
 * queries: a dnsperf text file ("name TYPE" per line) mixing the global,
 *   numbered, country, continent and vendor names under APEX, A and AAAA.
 * wire: the same mix as length-prefixed DNS messages (dnsperf -B), each with
 *   an EDNS Client Subnet option (RFC 7871) holding an IPv4 /24 or an IPv6
 *   /56 that the MaxMind database MMDB maps to a real country: every other
 *   query walks all the database's countries in turn, the rest follow the
 *   server countries' weights, so consecutive queries come from different
 *   countries and both the direct and the fallback paths are taken.
 *   Sample networks are found by walking the database's search tree.
 */
#include <errno.h>
#include <inttypes.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/base/compiler.h"
#include "dnsd/base/rng.h"
#include "geo/codes.h"

/* Countries with pool servers, with a weight that says roughly how many of
 * the servers (and, in the query mix, how many of the clients) are there: the
 * real pool is dense in Europe and North America and thin elsewhere. */
static const struct {
    const char *cc;
    unsigned weight;
} countries[] = {
    { "de", 200 }, { "us", 200 }, { "fr", 70 }, { "gb", 70 }, { "nl", 70 }, { "se", 30 },
    { "fi", 25 },  { "ch", 30 },  { "at", 25 }, { "pl", 30 }, { "cz", 30 }, { "it", 25 },
    { "es", 20 },  { "be", 15 },  { "dk", 15 }, { "no", 15 }, { "ie", 8 },  { "ru", 40 },
    { "ua", 15 },  { "ro", 12 },  { "hu", 10 }, { "pt", 8 },  { "gr", 6 },  { "bg", 10 },
    { "sk", 6 },   { "lt", 5 },   { "lv", 4 },  { "ee", 4 },  { "rs", 4 },  { "hr", 4 },
    { "si", 3 },   { "ca", 40 },  { "mx", 5 },  { "pa", 2 },  { "cr", 2 },  { "jp", 30 },
    { "sg", 20 },  { "in", 15 },  { "cn", 10 }, { "hk", 12 }, { "tw", 8 },  { "kr", 8 },
    { "id", 5 },   { "th", 4 },   { "vn", 4 },  { "my", 3 },  { "il", 4 },  { "ae", 3 },
    { "tr", 6 },   { "ph", 2 },   { "bd", 2 },  { "au", 25 }, { "nz", 8 },  { "br", 20 },
    { "ar", 5 },   { "cl", 4 },   { "co", 3 },  { "pe", 2 },  { "uy", 2 },  { "za", 10 },
    { "ke", 2 },   { "ng", 2 },   { "eg", 2 },  { "ma", 2 },
};
#define NCOUNTRIES ARRAY_LEN(countries)

/* Valid country zones with no server in the snapshot: real clients ask for
 * them too, and the server must fall back to the continent. */
static const char *const empty_countries[] = { "is", "lu", "mt", "cy", "qa", "np",
                                               "fj", "bo", "gh", "tz" };

static const char *const continent_names[] = { "europe",  "north-america", "asia",
                                               "oceania", "south-america", "africa" };
static const char *const vendors[] = { "debian", "android" };

static rng_t rng;

F_NORETURN static void usage(void)
{
    fprintf(stderr,
            "usage: gen-bench snapshot [-n SERVERS] [-6 PERCENT] [-s SEED] [-S SERIAL]\n"
            "       gen-bench queries  -z APEX [-n QUERIES] [-s SEED]\n"
            "       gen-bench wire     -z APEX -g MMDB [-n QUERIES] [-s SEED] [-6 PERCENT]\n");
    exit(2);
}

F_NORETURN static void die(const char *msg)
{
    fprintf(stderr, "gen-bench: %s\n", msg);
    exit(1);
}

/* Uniform in [0, n). */
static unsigned pick(unsigned n)
{
    return (unsigned)rng_below(&rng, n);
}

/* True with probability percent/100. */
static bool chance(unsigned percent)
{
    return pick(100) < percent;
}

static unsigned pick_country(void)
{
    static unsigned total;
    if (!total)
        for (unsigned i = 0; i < NCOUNTRIES; i++)
            total += countries[i].weight;
    unsigned r = pick(total);
    for (unsigned i = 0; i < NCOUNTRIES; i++) {
        if (r < countries[i].weight)
            return i;
        r -= countries[i].weight;
    }
    return 0;
}

/* ---- snapshot ---------------------------------------------------------- */

static unsigned net_speed(void)
{
    static const unsigned slow[] = { 1000, 2000, 5000 };
    static const unsigned common[] = { 10000, 15000, 20000, 25000, 50000, 75000, 100000 };
    static const unsigned fast[] = { 200000, 250000, 500000 };
    unsigned r = pick(100);
    if (r < 5)
        return 512;
    if (r < 15)
        return slow[pick(ARRAY_LEN(slow))];
    if (r < 85)
        return common[pick(ARRAY_LEN(common))];
    if (r < 95)
        return fast[pick(ARRAY_LEN(fast))];
    return 1000000;
}

/* Score in tenths: 90% healthy (15.0..20.0), the rest under 10, half of
 * those deep in the negative like servers that have been down for days. */
static int score_tenths(void)
{
    if (!chance(10))
        return 150 + (int)pick(51);
    if (chance(50))
        return (int)pick(100);
    return -1000 + (int)pick(1000);
}

static void print_v4(unsigned long idx)
{
    /* 198.18.0.0/15 holds 131,070 usable addresses; beyond, 100.64.0.0/10. */
    uint32_t a;
    if (idx < 131070)
        a = 0xC6120000u + 1 + (uint32_t)idx;
    else if (idx < 131070 + 4194300)
        a = 0x64400000u + 1 + (uint32_t)(idx - 131070);
    else
        die("too many IPv4 servers");
    printf("%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int cmd_snapshot(unsigned long n, unsigned v6_percent, unsigned long long serial)
{
    unsigned long n6 = n * v6_percent / 100, n4 = n - n6, i4 = 0, i6 = 0;
    printf("# gen-bench snapshot: %lu servers (%lu IPv4, %lu IPv6)\n", n, n4, n6);
    printf("serial %llu\n", serial);
    for (unsigned long i = 0; i < n; i++) {
        /* Interleave the families so any prefix of the file has both. */
        bool v6 = (i + 1) * n6 / n > i * n6 / n;
        unsigned c = pick_country();
        int area = codes_country_by_iso(countries[c].cc, 2);
        if (area < 0)
            die("country table has a code geo/codes.c does not know");
        int score = score_tenths();
        fputs("server ", stdout);
        if (v6) {
            printf("2001:db8:%lx:%lx::%x", (i6 >> 16) & 0xffff, i6 & 0xffff, 0x123 + c);
            i6++;
        } else {
            print_v4(i4++);
        }
        printf(" %u %s%d.%d %s", net_speed(), score < 0 ? "-" : "", abs(score) / 10,
               abs(score) % 10, countries[c].cc);
        if (chance(85))
            printf(" %s", codes_area_name(codes_continent_of((area_t)area)));
        if (chance(60))
            fputs(" @", stdout);
        putchar('\n');
    }
    return 0;
}

/* ---- query names ------------------------------------------------------- */

enum { QT_A = 1, QT_AAAA = 28 };

/* One name of the mix into buf, its type into *qtype.  The shares are a
 * guess at pool traffic: numbered global and vendor names dominate, AAAA is a
 * minority and mostly asked where it exists (subzones 2 and 3), and a few
 * AAAA queries hit names that have none. */
static void gen_name(const char *apex, char *buf, size_t len, int *qtype)
{
    unsigned r = pick(100), n = pick(4), n23 = 2 + pick(2);
    const char *cc = countries[pick_country()].cc;
    const char *cont = continent_names[pick(ARRAY_LEN(continent_names))];
    const char *vendor = vendors[pick(ARRAY_LEN(vendors))];

    if (chance(5))
        cc = empty_countries[pick(ARRAY_LEN(empty_countries))];
    *qtype = QT_A;
    if (r < 13) {
        snprintf(buf, len, "%s", apex);
    } else if (r < 43) {
        snprintf(buf, len, "%u.%s", n, apex);
    } else if (r < 49) {
        snprintf(buf, len, "%u.%s", n23, apex);
        *qtype = QT_AAAA;
    } else if (r < 51) {
        /* AAAA where there is none: NOERROR with no answer. */
        snprintf(buf, len, "%s", apex);
        *qtype = QT_AAAA;
    } else if (r < 59) {
        snprintf(buf, len, "%s.%s", vendor, apex);
    } else if (r < 74) {
        snprintf(buf, len, "%u.%s.%s", n, vendor, apex);
    } else if (r < 77) {
        snprintf(buf, len, "%u.%s.%s", n23, vendor, apex);
        *qtype = QT_AAAA;
    } else if (r < 85) {
        snprintf(buf, len, "%s.%s", cc, apex);
    } else if (r < 92) {
        snprintf(buf, len, "%u.%s.%s", n, cc, apex);
    } else if (r < 94) {
        snprintf(buf, len, "%u.%s.%s", n23, cc, apex);
        *qtype = QT_AAAA;
    } else if (r < 97) {
        snprintf(buf, len, "%s.%s", cont, apex);
    } else {
        snprintf(buf, len, "%u.%s.%s", n, cont, apex);
    }
}

static int cmd_queries(const char *apex, unsigned long n)
{
    char name[256];
    int qtype;
    for (unsigned long i = 0; i < n; i++) {
        gen_name(apex, name, sizeof name, &qtype);
        printf("%s %s\n", name, qtype == QT_AAAA ? "AAAA" : "A");
    }
    return 0;
}

/* ---- sample client networks from the geo database ---------------------- */

/* Up to SAMPLES networks per country and family, kept by reservoir sampling
 * so every network of the tree walk has the same chance. */
#define SAMPLES 16

struct net {
    uint8_t addr[16];   /* IPv4 in the first 4 bytes */
    uint8_t prefix;     /* in the family's own bits */
};

struct country_nets {
    struct net v4[SAMPLES], v6[SAMPLES];
    unsigned long seen4, seen6;
};

static struct country_nets nets[AREA_COUNT];

struct walk {
    const MMDB_s *db;
    unsigned long leaves, unknown;
    /* The data section dedups identical records, so most leaves point at a
     * few hundred offsets: remember the last answers to skip the decoding. */
    uint32_t cache_off[1024];
    int cache_area[1024];
};

static int entry_country(struct walk *w, MMDB_entry_s *entry)
{
    unsigned slot = (entry->offset * 2654435761u) >> 22;
    if (w->cache_off[slot] == entry->offset + 1)
        return w->cache_area[slot];
    MMDB_entry_data_s data;
    int area = -1;
    /* Flat layout first ({"country_code": "DE"}), then GeoIP2's. */
    if ((MMDB_get_value(entry, &data, "country_code", NULL) == MMDB_SUCCESS && data.has_data) ||
        (MMDB_get_value(entry, &data, "country", "iso_code", NULL) == MMDB_SUCCESS &&
         data.has_data)) {
        if (data.type == MMDB_DATA_TYPE_UTF8_STRING)
            area = codes_country_by_iso(data.utf8_string, data.data_size);
    }
    w->cache_off[slot] = entry->offset + 1;
    w->cache_area[slot] = area;
    return area;
}

static void take_network(struct walk *w, const uint8_t *addr, unsigned depth, MMDB_entry_s *entry,
                         bool ipv4_tree)
{
    int area = entry_country(w, entry);
    w->leaves++;
    if (area < 0) {
        w->unknown++;
        return;
    }
    struct country_nets *cn = &nets[area];
    struct net *slots;
    unsigned long *seen;
    struct net net;
    memset(&net, 0, sizeof net);
    if (ipv4_tree) {
        net.prefix = (uint8_t)depth;
        memcpy(net.addr, addr, 4);
    } else if (depth >= 96 && !memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\0\0", 12)) {
        /* ::a.b.c.d/96+n in an IPv6 tree: the IPv4 space. */
        net.prefix = (uint8_t)(depth - 96);
        memcpy(net.addr, addr + 12, 4);
        ipv4_tree = true;
    } else {
        /* Only global unicast (2000::/3); nothing else is a real client. */
        if ((addr[0] & 0xe0) != 0x20)
            return;
        net.prefix = (uint8_t)depth;
        memcpy(net.addr, addr, 16);
    }
    /* The whole ECS prefix (/24, /56) must lie inside the network, or the
     * server may see another country than the one we counted. */
    if (ipv4_tree ? net.prefix > 24 : net.prefix > 56)
        return;
    slots = ipv4_tree ? cn->v4 : cn->v6;
    seen = ipv4_tree ? &cn->seen4 : &cn->seen6;
    if (*seen < SAMPLES)
        slots[*seen] = net;
    else {
        uint64_t j = rng_below(&rng, *seen + 1);
        if (j < SAMPLES)
            slots[j] = net;
    }
    (*seen)++;
}

static void walk(struct walk *w, uint32_t node, uint8_t *addr, unsigned depth, unsigned max_depth)
{
    MMDB_search_node_s sn;
    if (MMDB_read_node(w->db, node, &sn) != MMDB_SUCCESS)
        die("cannot read a search tree node of the geo database");
    for (unsigned bit = 0; bit < 2; bit++) {
        uint8_t type = bit ? sn.right_record_type : sn.left_record_type;
        uint64_t rec = bit ? sn.right_record : sn.left_record;
        MMDB_entry_s entry = bit ? sn.right_record_entry : sn.left_record_entry;
        if (bit)
            addr[depth / 8] |= (uint8_t)(0x80 >> (depth % 8));
        if (type == MMDB_RECORD_TYPE_DATA) {
            take_network(w, addr, depth + 1, &entry, max_depth == 32);
        } else if (type == MMDB_RECORD_TYPE_SEARCH_NODE && depth + 1 < max_depth) {
            bool alias = false;
            /* IPv6 trees alias ::ffff:0:0/96 and 2002::/16 to the IPv4
             * subtree; walking them again would only repeat it. */
            if (max_depth == 128 && depth + 1 == 16 && addr[0] == 0x20 && addr[1] == 0x02)
                alias = true;
            if (max_depth == 128 && depth + 1 == 96 && addr[10] == 0xff && addr[11] == 0xff &&
                !memcmp(addr, "\0\0\0\0\0\0\0\0\0\0", 10))
                alias = true;
            if (!alias)
                walk(w, (uint32_t)rec, addr, depth + 1, max_depth);
        }
        if (bit)
            addr[depth / 8] &= (uint8_t)~(0x80 >> (depth % 8));
    }
}

/* Countries that got at least one network, in a shuffled order. */
static area_t ecs_countries[AREA_COUNT];
static unsigned n_ecs_countries;

static void load_networks(const char *path)
{
    MMDB_s db;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, &db);
    if (rc != MMDB_SUCCESS) {
        fprintf(stderr, "gen-bench: %s: %s\n", path, MMDB_strerror(rc));
        exit(1);
    }
    static struct walk w;
    uint8_t addr[16] = { 0 };
    w.db = &db;
    walk(&w, 0, addr, 0, db.metadata.ip_version == 6 ? 128 : 32);
    for (unsigned a = AREA_FIRST_COUNTRY; a < AREA_COUNT; a++)
        if (nets[a].seen4 || nets[a].seen6)
            ecs_countries[n_ecs_countries++] = (area_t)a;
    for (unsigned i = n_ecs_countries; i > 1; i--) {
        unsigned j = pick(i);
        area_t t = ecs_countries[i - 1];
        ecs_countries[i - 1] = ecs_countries[j];
        ecs_countries[j] = t;
    }
    fprintf(stderr, "gen-bench: %s: %lu networks, %lu without a known country, %u countries\n",
            path, w.leaves, w.unknown, n_ecs_countries);
    if (n_ecs_countries < 2)
        die("the geo database gave fewer than two countries");
    /* Check a few samples the way the server will see them, so a walk bug
     * shows here and not as a puzzling benchmark. */
    for (unsigned i = 0; i < n_ecs_countries && i < 20; i++) {
        struct country_nets *cn = &nets[ecs_countries[i]];
        if (!cn->seen4)
            continue;
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, cn->v4[0].addr, 4);
        int err;
        MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&db, (struct sockaddr *)&sin, &err);
        struct walk check = { .db = &db };
        if (err != MMDB_SUCCESS || !res.found_entry ||
            entry_country(&check, &res.entry) != ecs_countries[i])
            die("a sample network does not map back to its country (tree walk bug)");
    }
    MMDB_close(&db);
}

/* ---- wire format ------------------------------------------------------- */

static size_t put_name(uint8_t *p, const char *name)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        if (l == 0 || l > 63)
            die("bad label in a generated name");
        p[n++] = (uint8_t)l;
        memcpy(p + n, name, l);
        n += l;
        name += l + (dot ? 1 : 0);
    }
    p[n++] = 0;
    return n;
}

static size_t put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

/* One query with an OPT record carrying ECS for a network of area. */
static size_t build_ecs_query(uint8_t *msg, const char *name, int qtype, area_t area,
                              unsigned v6_percent)
{
    struct country_nets *cn = &nets[area];
    bool v6 = cn->seen6 && (!cn->seen4 || chance(v6_percent));
    const struct net *net;
    unsigned prefix = v6 ? 56 : 24, nbytes = prefix / 8;
    uint8_t a[16];
    size_t n = 0;

    net = v6 ? &cn->v6[pick(cn->seen6 < SAMPLES ? (unsigned)cn->seen6 : SAMPLES)]
             : &cn->v4[pick(cn->seen4 < SAMPLES ? (unsigned)cn->seen4 : SAMPLES)];
    /* A random /24 or /56 inside the network: keep its prefix bits, draw
     * the bits between its prefix and ours. */
    memcpy(a, net->addr, 16);
    for (unsigned b = net->prefix; b < prefix; b++) {
        uint8_t m = (uint8_t)(0x80 >> (b % 8));
        if (chance(50))
            a[b / 8] |= m;
        else
            a[b / 8] &= (uint8_t)~m;
    }

    n += put16(msg + n, pick(65536));   /* ID; dnsperf sets its own */
    n += put16(msg + n, 0);             /* flags: a resolver asking, RD=0 */
    n += put16(msg + n, 1);             /* QDCOUNT */
    n += put16(msg + n, 0);
    n += put16(msg + n, 0);
    n += put16(msg + n, 1);             /* ARCOUNT: the OPT record */
    n += put_name(msg + n, name);
    n += put16(msg + n, (unsigned)qtype);
    n += put16(msg + n, 1);             /* IN */
    msg[n++] = 0;                       /* OPT owner: root */
    n += put16(msg + n, 41);
    n += put16(msg + n, 1232);          /* UDP payload size */
    n += put16(msg + n, 0);             /* extended RCODE, version 0 */
    n += put16(msg + n, 0);             /* DO=0 */
    n += put16(msg + n, 4 + 4 + nbytes);
    n += put16(msg + n, 8);             /* option: EDNS Client Subnet */
    n += put16(msg + n, 4 + nbytes);
    n += put16(msg + n, v6 ? 2 : 1);
    msg[n++] = (uint8_t)prefix;         /* source prefix */
    msg[n++] = 0;                       /* scope prefix: 0 in queries */
    memcpy(msg + n, a, nbytes);
    n += nbytes;
    return n;
}

/* Even queries walk every country the database knows, in turn; odd ones
 * come from the weighted server countries, where most real clients are.
 * Either way consecutive queries come from different places and the server
 * sees both the direct and the fallback paths. */
static area_t ecs_area(unsigned long i)
{
    if (i % 2 == 0)
        return ecs_countries[(i / 2) % n_ecs_countries];
    for (int tries = 0; tries < 8; tries++) {
        int a = codes_country_by_iso(countries[pick_country()].cc, 2);
        if (a >= 0 && (nets[a].seen4 || nets[a].seen6))
            return (area_t)a;
    }
    return ecs_countries[(i / 2 + 1) % n_ecs_countries];
}

static int cmd_wire(const char *apex, const char *mmdb, unsigned long n, unsigned v6_percent)
{
    uint8_t msg[600];
    char name[256];
    int qtype;
    load_networks(mmdb);
    for (unsigned long i = 0; i < n; i++) {
        gen_name(apex, name, sizeof name, &qtype);
        size_t len = build_ecs_query(msg + 2, name, qtype, ecs_area(i), v6_percent);
        put16(msg, (unsigned)len);
        if (fwrite(msg, 1, len + 2, stdout) != len + 2)
            die("write error");
    }
    return 0;
}

/* ---- main -------------------------------------------------------------- */

static unsigned long parse_ulong(const char *s, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || v > max)
        usage();
    return (unsigned long)v;
}

int main(int argc, char **argv)
{
    const char *apex = NULL, *mmdb = NULL, *cmd;
    unsigned long n = 0;
    unsigned long long serial = 2026112601ULL, seed = 1;
    unsigned v6_percent = 25;
    int opt;

    if (argc < 2)
        usage();
    cmd = argv[1];
    optind = 2;
    while ((opt = getopt(argc, argv, "n:6:s:S:z:g:")) != -1) {
        switch (opt) {
        case 'n': n = parse_ulong(optarg, 100000000UL); break;
        case '6': v6_percent = (unsigned)parse_ulong(optarg, 100); break;
        case 's': seed = parse_ulong(optarg, ~0UL); break;
        case 'S': serial = parse_ulong(optarg, 4294967295UL); break;
        case 'z': apex = optarg; break;
        case 'g': mmdb = optarg; break;
        default: usage();
        }
    }
    if (optind != argc)
        usage();
    rng_seed(&rng, seed * 0x9e3779b97f4a7c15ULL + 1);
    /* The files are big; a large stdio buffer keeps this I/O-cheap. */
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    int rc;
    if (!strcmp(cmd, "snapshot")) {
        rc = cmd_snapshot(n ? n : 4000, v6_percent, serial);
    } else if (!strcmp(cmd, "queries")) {
        if (!apex)
            usage();
        rc = cmd_queries(apex, n ? n : 100000);
    } else if (!strcmp(cmd, "wire")) {
        if (!apex || !mmdb)
            usage();
        rc = cmd_wire(apex, mmdb, n ? n : 100000, v6_percent);
    } else {
        usage();
    }
    if (fflush(stdout) != 0 || ferror(stdout))
        die("write error");
    return rc;
}
