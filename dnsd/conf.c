/* conf.c -- config file parser, see conf.h.
 *
 * A table lists every directive with its argument count, whether it may be
 * repeated, and the function that checks and stores its arguments.  Adding a
 * directive is one row and one function (and a line in the README). */
#include "dnsd/conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnsd/base/alloc.h"
#include "geo/codes.h"

#define MAX_ARGS 64

typedef struct {
    dnsd_conf_t *c;
    errs_t *errs;
    const char *file;
    unsigned line;
    char *dir;          /* folder of the config file, for relative paths */
} parse_t;

typedef void (*handler_fn)(parse_t *p, int argc, char **argv);

typedef struct {
    const char *name;
    int min_args, max_args;
    bool repeatable;
    handler_fn fn;
    const char *usage;
} directive_t;

static void perr(parse_t *p, const char *fmt, ...) F_PRINTF(2, 3);
static void perr(parse_t *p, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    errs_add(p->errs, p->file, p->line, "%s", msg);
}

static char *resolve_path(const parse_t *p, const char *rel)
{
    if (rel[0] == '/' || !p->dir[0])
        return xstrdup(rel);
    size_t n = strlen(p->dir) + 1 + strlen(rel) + 1;
    char *s = xmalloc(n);
    snprintf(s, n, "%s/%s", p->dir, rel);
    return s;
}

/* Unsigned decimal in [lo, hi]; false (and an error naming the directive)
 * otherwise. */
static bool parse_uint(parse_t *p, const char *what, const char *s, unsigned long lo,
                       unsigned long hi, unsigned long *out)
{
    char *end;
    if (!isdigit((unsigned char)s[0])) {
        perr(p, "%s: '%s' is not a number", what, s);
        return false;
    }
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (*end) {
        perr(p, "%s: '%s' is not a number", what, s);
        return false;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        perr(p, "%s: %s is out of range (%lu to %lu)", what, s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

bool conf_parse_listen(const char *text, struct sockaddr_storage *out, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    size_t hlen;

    memset(out, 0, sizeof *out);
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close)
            return false;
        hlen = (size_t)(close - text - 1);
        if (hlen >= sizeof host)
            return false;
        memcpy(host, text + 1, hlen);
        host[hlen] = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return false;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon && strchr(text, ':') != colon)
            colon = NULL; /* a bare IPv6 address, no port */
        hlen = colon ? (size_t)(colon - text) : strlen(text);
        if (hlen >= sizeof host)
            return false;
        memcpy(host, text, hlen);
        host[hlen] = '\0';
        if (colon)
            port = colon + 1;
    }
    unsigned long pnum = 53;
    if (port) {
        char *end;
        if (!isdigit((unsigned char)port[0]))
            return false;
        pnum = strtoul(port, &end, 10);
        if (*end || pnum == 0 || pnum > 65535)
            return false;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)pnum);
        *len = sizeof *s4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)pnum);
        *len = sizeof *s6;
        return true;
    }
    return false;
}

unsigned conf_name_to_wire(const char *name, uint8_t out[256])
{
    size_t n = strlen(name);
    unsigned w = 0;
    if (n && name[n - 1] == '.')
        n--;
    if (n == 0) {
        out[0] = 0;
        return 1;
    }
    size_t start = 0;
    while (start <= n) {
        size_t end = start;
        while (end < n && name[end] != '.')
            end++;
        size_t llen = end - start;
        if (llen == 0 || llen > 63 || w + 1 + llen + 1 > 255)
            return 0;
        out[w++] = (uint8_t)llen;
        for (size_t i = start; i < end; i++) {
            unsigned char ch = (unsigned char)name[i];
            if (ch <= ' ' || ch == '\\' || ch >= 0x7f)
                return 0; /* keep names plain: no escapes in the config */
            out[w++] = (uint8_t)tolower(ch);
        }
        start = end + 1;
    }
    out[w++] = 0;
    return w;
}

/* ---- directive handlers ---------------------------------------------- */

static void d_listen(parse_t *p, int argc, char **argv)
{
    (void)argc;
    conf_listen_t l = { .line = p->line };
    if (!conf_parse_listen(argv[1], &l.addr, &l.addrlen)) {
        perr(p, "listen: '%s' is not an address with optional port (e.g. 127.0.0.1:53 or [::1]:53)",
             argv[1]);
        return;
    }
    snprintf(l.text, sizeof l.text, "%s", argv[1]);
    dnsd_conf_t *c = p->c;
    for (unsigned i = 0; i < c->nlistens; i++) {
        if (c->listens[i].addrlen == l.addrlen && !memcmp(&c->listens[i].addr, &l.addr, l.addrlen)) {
            perr(p, "listen: %s is already listed at line %u", argv[1], c->listens[i].line);
            return;
        }
    }
    c->listens = xreallocarray(c->listens, c->nlistens + 1, sizeof *c->listens);
    c->listens[c->nlistens++] = l;
}

static void d_zone(parse_t *p, int argc, char **argv)
{
    (void)argc;
    conf_zone_t z = { .line = p->line };
    z.apex_len = conf_name_to_wire(argv[1], z.apex);
    if (!z.apex_len || z.apex_len == 1) {
        perr(p, "zone: '%s' is not a domain name", argv[1]);
        return;
    }
    dnsd_conf_t *c = p->c;
    for (unsigned i = 0; i < c->nzones; i++) {
        if (c->zones[i].apex_len == z.apex_len && !memcmp(c->zones[i].apex, z.apex, z.apex_len)) {
            perr(p, "zone: %s is already configured at line %u", argv[1], c->zones[i].line);
            return;
        }
    }
    size_t nl = strlen(argv[1]);
    if (nl && argv[1][nl - 1] == '.')
        nl--;
    z.name = xstrndup(argv[1], nl);
    for (char *s = z.name; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    z.file = resolve_path(p, argv[2]);
    c->zones = xreallocarray(c->zones, c->nzones + 1, sizeof *c->zones);
    c->zones[c->nzones++] = z;
}

static void d_snapshot(parse_t *p, int argc, char **argv)
{
    (void)argc;
    p->c->snapshot = resolve_path(p, argv[1]);
}

static void d_ttl(parse_t *p, int argc, char **argv)
{
    unsigned long v;
    (void)argc;
    /* RFC 2181 8: TTLs are 0..2^31-1. */
    if (parse_uint(p, "ttl", argv[1], 0, 2147483647UL, &v))
        p->c->ttl = (uint32_t)v;
}

static void d_max_answers(parse_t *p, int argc, char **argv)
{
    unsigned long v;
    (void)argc;
    if (parse_uint(p, "max-answers", argv[1], 1, CONF_MAX_ANSWERS, &v))
        p->c->max_answers = (unsigned)v;
}

static void d_min_score(parse_t *p, int argc, char **argv)
{
    char *end;
    (void)argc;
    const char *s = argv[1];
    errno = 0;
    double v = strtod(s, &end);
    /* Plain decimals only: no hex floats, inf or nan. */
    bool plain = strspn(s, "+-0123456789.") == strlen(s) && isdigit((unsigned char)s[strspn(s, "+-")]);
    if (!plain || *end || errno || !isfinite(v)) {
        perr(p, "min-score: '%s' is not a decimal number", s);
        return;
    }
    if (v < -100 || v > 20) {
        perr(p, "min-score: %s is out of the pool's score range (-100 to 20)", s);
        return;
    }
    p->c->min_score = v;
}

static void d_subzones(parse_t *p, int argc, char **argv)
{
    unsigned long v;
    (void)argc;
    if (parse_uint(p, "subzones", argv[1], 1, CONF_MAX_SUBZONES, &v))
        p->c->subzones = (unsigned)v;
}

static void d_aaaa_subzones(parse_t *p, int argc, char **argv)
{
    uint32_t mask = 0;
    for (int i = 1; i < argc; i++) {
        unsigned long v;
        if (!parse_uint(p, "aaaa-subzones", argv[i], 0, CONF_MAX_SUBZONES - 1, &v))
            return;
        if (mask & (1u << v)) {
            perr(p, "aaaa-subzones: %lu is listed twice", v);
            return;
        }
        mask |= 1u << v;
    }
    p->c->aaaa_mask = mask;
}

static bool is_number(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

static void d_vendor(parse_t *p, int argc, char **argv)
{
    dnsd_conf_t *c = p->c;
    for (int i = 1; i < argc; i++) {
        const char *v = argv[i];
        size_t n = strlen(v);
        if (n > 63 || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != n || v[0] == '-') {
            perr(p, "vendor: '%s' is not a lower-case DNS label (a-z, 0-9, '-')", v);
            continue;
        }
        if (is_number(v)) {
            perr(p, "vendor: '%s' is a number, which names a subzone", v);
            continue;
        }
        if (codes_area_by_name(v, n) >= 0) {
            perr(p, "vendor: '%s' is already a zone name (country or continent)", v);
            continue;
        }
        bool dup = false;
        for (unsigned j = 0; j < c->nvendors; j++)
            dup |= !strcmp(c->vendors[j], v);
        if (dup) {
            perr(p, "vendor: '%s' is listed twice", v);
            continue;
        }
        c->vendors = xreallocarray(c->vendors, c->nvendors + 1, sizeof *c->vendors);
        c->vendors[c->nvendors++] = xstrdup(v);
    }
}

static void d_geoip(parse_t *p, int argc, char **argv)
{
    (void)argc;
    p->c->geoip = resolve_path(p, argv[1]);
}

static void d_min_servers(parse_t *p, int argc, char **argv)
{
    unsigned long v;
    (void)argc;
    if (parse_uint(p, "min-servers", argv[1], 1, 1000000, &v))
        p->c->min_servers = (unsigned)v;
}

static void d_ecs(parse_t *p, int argc, char **argv)
{
    (void)argc;
    if (!strcmp(argv[1], "yes"))
        p->c->ecs = true;
    else if (!strcmp(argv[1], "no"))
        p->c->ecs = false;
    else
        perr(p, "ecs: '%s' must be yes or no", argv[1]);
}

static void d_threads(parse_t *p, int argc, char **argv)
{
    unsigned long v;
    (void)argc;
    if (parse_uint(p, "threads", argv[1], 1, CONF_MAX_THREADS, &v))
        p->c->threads = (unsigned)v;
}

static void d_tcp_timeout(parse_t *p, int argc, char **argv)
{
    unsigned long v;
    (void)argc;
    if (parse_uint(p, "tcp-timeout", argv[1], 1, 3600, &v))
        p->c->tcp_timeout = (unsigned)v;
}

static void d_tcp_clients(parse_t *p, int argc, char **argv)
{
    unsigned long v;
    (void)argc;
    if (parse_uint(p, "tcp-clients", argv[1], 1, 65536, &v))
        p->c->tcp_clients = (unsigned)v;
}

static const directive_t directives[] = {
    { "listen", 1, 1, true, d_listen, "listen ADDRESS[:PORT]" },
    { "zone", 2, 2, true, d_zone, "zone APEX ZONEFILE" },
    { "snapshot", 1, 1, false, d_snapshot, "snapshot FILE" },
    { "ttl", 1, 1, false, d_ttl, "ttl SECONDS" },
    { "max-answers", 1, 1, false, d_max_answers, "max-answers N" },
    { "min-score", 1, 1, false, d_min_score, "min-score SCORE" },
    { "subzones", 1, 1, false, d_subzones, "subzones N" },
    { "aaaa-subzones", 0, CONF_MAX_SUBZONES, false, d_aaaa_subzones, "aaaa-subzones N..." },
    { "vendor", 1, MAX_ARGS, true, d_vendor, "vendor NAME..." },
    { "geoip", 1, 1, false, d_geoip, "geoip FILE.mmdb" },
    { "min-servers", 1, 1, false, d_min_servers, "min-servers N" },
    { "ecs", 1, 1, false, d_ecs, "ecs yes|no" },
    { "threads", 1, 1, false, d_threads, "threads N" },
    { "tcp-timeout", 1, 1, false, d_tcp_timeout, "tcp-timeout SECONDS" },
    { "tcp-clients", 1, 1, false, d_tcp_clients, "tcp-clients N" },
};

static unsigned directive_index(const char *name)
{
    unsigned i = 0;
    while (strcmp(directives[i].name, name))
        i++;
    return i;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > CONF_MAX_THREADS ? CONF_MAX_THREADS : (unsigned)n;
}

/* Cross-directive checks, after every line was read. */
static void check_whole(parse_t *p, const unsigned *seen_line)
{
    dnsd_conf_t *c = p->c;
    p->line = 0;
    if (!c->nlistens)
        perr(p, "no 'listen' directive: say where to answer, e.g. 'listen 127.0.0.1:5353'");
    if (!c->nzones)
        perr(p, "no 'zone' directive: name at least one pool apex and its zone file");
    if (!c->snapshot)
        perr(p, "no 'snapshot' directive: name the weights snapshot file");
    for (unsigned i = 0; i < CONF_MAX_SUBZONES; i++) {
        if ((c->aaaa_mask >> i & 1) && i >= c->subzones) {
            /* Report at the later of the two lines that conflict. */
            unsigned a = seen_line[directive_index("aaaa-subzones")];
            unsigned s = seen_line[directive_index("subzones")];
            p->line = a > s ? a : s;
            perr(p, "aaaa-subzones: subzone %u does not exist (subzones %u: 0 to %u)", i,
                 c->subzones, c->subzones - 1);
            break;
        }
    }
}

dnsd_conf_t *conf_load(const char *path, errs_t *errs)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        errs_add(errs, path, 0, "cannot open config file: %s", strerror(errno));
        return NULL;
    }
    dnsd_conf_t *c = xcalloc(1, sizeof *c);
    c->path = xstrdup(path);
    c->ttl = 150;
    c->max_answers = 4;
    c->min_score = 10;
    c->subzones = 4;
    c->aaaa_mask = 1u << 2 | 1u << 3;
    c->min_servers = 1;
    c->ecs = true;
    c->threads = default_threads();
    c->tcp_timeout = 10;
    c->tcp_clients = 256;

    parse_t p = { .c = c, .errs = errs, .file = path };
    const char *slash = strrchr(path, '/');
    p.dir = slash ? xstrndup(path, (size_t)(slash - path + (slash == path))) : xstrdup("");

    size_t before = errs->n;
    unsigned seen_line[ARRAY_LEN(directives)] = { 0 };
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        p.line++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *argv[MAX_ARGS + 2];
        int argc = 0;
        bool too_many = false;
        for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
            if (argc == MAX_ARGS + 1) {
                too_many = true;
                break;
            }
            argv[argc++] = tok;
        }
        if (argc == 0)
            continue;
        const directive_t *d = NULL;
        unsigned di = 0;
        for (di = 0; di < ARRAY_LEN(directives); di++) {
            if (!strcmp(directives[di].name, argv[0])) {
                d = &directives[di];
                break;
            }
        }
        if (!d) {
            perr(&p, "unknown directive '%s'", argv[0]);
            continue;
        }
        if (too_many || argc - 1 < d->min_args || argc - 1 > d->max_args) {
            perr(&p, "%s: wrong number of arguments (usage: %s)", d->name, d->usage);
            continue;
        }
        if (!d->repeatable && seen_line[di]) {
            perr(&p, "%s: given twice (first at line %u)", d->name, seen_line[di]);
            continue;
        }
        seen_line[di] = p.line;
        d->fn(&p, argc, argv);
    }
    if (ferror(f))
        errs_add(errs, path, 0, "read error: %s", strerror(errno));
    free(line);
    fclose(f);
    check_whole(&p, seen_line);
    free(p.dir);
    if (errs->n != before) {
        conf_free(c);
        return NULL;
    }
    return c;
}

void conf_free(dnsd_conf_t *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nzones; i++) {
        free(c->zones[i].name);
        free(c->zones[i].file);
    }
    for (unsigned i = 0; i < c->nvendors; i++)
        free(c->vendors[i]);
    free(c->zones);
    free(c->listens);
    free(c->vendors);
    free(c->snapshot);
    free(c->geoip);
    free(c->path);
    free(c);
}
