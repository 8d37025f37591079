/* parse.c -- read a snapshot file into server records, with file:line
 * errors.  Every line is checked and every problem reported (up to a cap),
 * so the scorer's author sees all of them at once. */
#include "weights/snapshot.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/base/alloc.h"

/* After this many errors the rest of the file is not worth reporting: it is
 * probably not a snapshot at all. */
#define PARSE_MAX_ERRORS 50

typedef struct {
    const char *path;
    errs_t *errs;
    size_t nerr;
} pctx_t;

static void perr(pctx_t *p, unsigned line, const char *fmt, ...) F_PRINTF(3, 4);
static void perr(pctx_t *p, unsigned line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    p->nerr++;
    if (p->nerr > PARSE_MAX_ERRORS)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->nerr == PARSE_MAX_ERRORS)
        errs_add(p->errs, p->path, line, "%s (too many errors; stopping here)", msg);
    else
        errs_add(p->errs, p->path, line, "%s", msg);
}

static bool parse_u32(const char *s, unsigned long long max, uint32_t *out)
{
    if (!isdigit((unsigned char)s[0]))
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* A plain decimal: optional sign, digits, optional fraction.  No exponent,
 * hex, inf or nan: the scorer writes plain numbers, anything else is a bug. */
static bool parse_score(const char *s, double *out)
{
    const char *q = s;
    if (*q == '+' || *q == '-')
        q++;
    size_t digits = strspn(q, "0123456789");
    q += digits;
    if (*q == '.') {
        size_t frac = strspn(q + 1, "0123456789");
        if (!frac)
            return false;
        q += 1 + frac;
    }
    if (!digits || *q)
        return false;
    *out = strtod(s, NULL);
    return isfinite(*out);
}

static bool parse_addr(const char *s, wsnap_server_t *sv, const char **why)
{
    *why = NULL;
    if (inet_pton(AF_INET, s, sv->addr) == 1) {
        sv->family = WSNAP_V4;
        if (sv->addr[0] == 0 || sv->addr[0] >= 224)
            *why = "is not a unicast IPv4 address";
        return !*why;
    }
    if (inet_pton(AF_INET6, s, sv->addr) == 1) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        static const uint8_t zero[16];
        sv->family = WSNAP_V6;
        if (!memcmp(sv->addr, mapped, 12))
            *why = "is an IPv4-mapped IPv6 address; list the IPv4 address itself";
        else if (!memcmp(sv->addr, zero, 16) || sv->addr[0] == 0xff)
            *why = "is not a unicast IPv6 address";
        return !*why;
    }
    *why = "is not an IPv4 or IPv6 address";
    return false;
}

static void parse_server(pctx_t *p, unsigned line, int argc, char **argv, wsnap_server_t *sv, bool *ok)
{
    const char *why;
    memset(sv, 0, sizeof *sv);
    sv->line = line;
    *ok = false;
    if (argc < 5) {
        perr(p, line, "server: expected 'server ADDRESS NETSPEED SCORE ZONE...'%s",
             argc == 4 ? " (no zone listed)" : "");
        return;
    }
    bool good = true;
    if (!parse_addr(argv[1], sv, &why)) {
        perr(p, line, "server: '%s' %s", argv[1], why);
        good = false;
    }
    if (!parse_u32(argv[2], WSNAP_MAX_NETSPEED, &sv->netspeed)) {
        perr(p, line, "server %s: net speed '%s' is not a whole number of kbit/s from 0 to %u",
             argv[1], argv[2], WSNAP_MAX_NETSPEED);
        good = false;
    }
    if (!parse_score(argv[3], &sv->score)) {
        perr(p, line, "server %s: score '%s' is not a decimal number", argv[1], argv[3]);
        good = false;
    } else if (sv->score < -100 || sv->score > 20) {
        perr(p, line, "server %s: score %s is outside the pool's range (-100 to 20)", argv[1], argv[3]);
        good = false;
    }
    if (argc - 4 > WSNAP_MAX_SERVER_ZONES) {
        perr(p, line, "server %s: lists %d zones, at most %d allowed", argv[1], argc - 4,
             WSNAP_MAX_SERVER_ZONES);
        return;
    }
    for (int i = 4; i < argc; i++) {
        int a = codes_area_by_name(argv[i], strlen(argv[i]));
        if (a < 0) {
            bool upper = strlen(argv[i]) == 2 && codes_country_by_iso(argv[i], 2) >= 0;
            perr(p, line, "server %s: unknown zone '%s'%s", argv[1], argv[i],
                 upper ? " (zone names are lower case)" : " (want a country code, a continent or @)");
            good = false;
            continue;
        }
        for (unsigned j = 0; j < sv->nareas; j++) {
            if (sv->areas[j] == a) {
                perr(p, line, "server %s: zone '%s' is listed twice", argv[1], argv[i]);
                good = false;
            }
        }
        sv->areas[sv->nareas++] = (area_t)a;
    }
    *ok = good;
}

static int cmp_addr(const void *a, const void *b)
{
    const wsnap_server_t *x = *(const wsnap_server_t *const *)a, *y = *(const wsnap_server_t *const *)b;
    if (x->family != y->family)
        return x->family < y->family ? -1 : 1;
    int c = memcmp(x->addr, y->addr, 16);
    if (c)
        return c;
    return x->line < y->line ? -1 : x->line > y->line;
}

static void check_duplicates(pctx_t *p, wsnap_server_t *sv, size_t n)
{
    if (n < 2)
        return;
    const wsnap_server_t **v = xcalloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = &sv[i];
    qsort(v, n, sizeof *v, cmp_addr);
    for (size_t i = 1; i < n; i++) {
        if (v[i]->family == v[i - 1]->family && !memcmp(v[i]->addr, v[i - 1]->addr, 16)) {
            size_t first = i - 1;
            while (first > 0 && v[first - 1]->family == v[i]->family && !memcmp(v[first - 1]->addr, v[i]->addr, 16))
                first--;
            char text[INET6_ADDRSTRLEN];
            inet_ntop(v[i]->family == WSNAP_V4 ? AF_INET : AF_INET6, v[i]->addr, text, sizeof text);
            perr(p, v[i]->line, "server %s: duplicate address (first at line %u)", text, v[first]->line);
        }
    }
    free(v);
}

bool wsnap_parse(const char *path, uint32_t *serial, wsnap_server_t **servers, size_t *nservers,
                 errs_t *errs)
{
    pctx_t p = { .path = path, .errs = errs };
    FILE *f = fopen(path, "r");
    *servers = NULL;
    *nservers = 0;
    if (!f) {
        errs_add(errs, path, 0, "cannot open snapshot: %s", strerror(errno));
        return false;
    }
    wsnap_server_t *sv = NULL;
    size_t n = 0, cap = 0;
    unsigned serial_line = 0, line = 0;
    char *buf = NULL;
    size_t bufcap = 0;
    while (getline(&buf, &bufcap, f) >= 0) {
        line++;
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *argv[WSNAP_MAX_SERVER_ZONES + 8];
        int argc = 0;
        for (char *t = strtok(buf, " \t\r\n"); t; t = strtok(NULL, " \t\r\n")) {
            if (argc < (int)ARRAY_LEN(argv))
                argv[argc] = t;
            argc++;
        }
        if (argc > (int)ARRAY_LEN(argv))
            argc = (int)ARRAY_LEN(argv);
        if (!argc)
            continue;
        if (!strcmp(argv[0], "server")) {
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                sv = xreallocarray(sv, cap, sizeof *sv);
            }
            bool ok;
            parse_server(&p, line, argc, argv, &sv[n], &ok);
            if (ok)
                n++;
        } else if (!strcmp(argv[0], "serial")) {
            if (serial_line) {
                perr(&p, line, "serial: given twice (first at line %u)", serial_line);
            } else if (argc != 2 || !parse_u32(argv[1], 4294967295ULL, serial)) {
                perr(&p, line, "serial: expected one whole number from 0 to 4294967295");
                serial_line = line;
            } else {
                serial_line = line;
            }
        } else {
            perr(&p, line, "unknown keyword '%s' (expected 'serial' or 'server')", argv[0]);
        }
    }
    if (ferror(f))
        perr(&p, 0, "read error: %s", strerror(errno));
    free(buf);
    fclose(f);
    if (!serial_line)
        perr(&p, 0, "no 'serial' line");
    check_duplicates(&p, sv, n);
    if (p.nerr) {
        free(sv);
        return false;
    }
    *servers = sv;
    *nservers = n;
    return true;
}

wsnap_t *wsnap_load(const char *path, const wsnap_opts_t *opts, errs_t *errs)
{
    uint32_t serial = 0;
    wsnap_server_t *sv;
    size_t n;
    if (!wsnap_parse(path, &serial, &sv, &n, errs))
        return NULL;
    wsnap_t *s = wsnap_build(serial, sv, n, opts);
    free(sv);
    return s;
}
