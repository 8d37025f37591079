/* mmdb.c -- the one file that uses libmaxminddb: open, read tree nodes, decode records.
 *
 * Only the loader (flatten.c) and cross-checks call this; the query path
 * never does.  Records are decoded into areas here so no MMDB type leaks out.
 * Both record layouts found in the wild are understood:
 *   GeoIP2/GeoLite2:  country.iso_code (else registered_country.iso_code),
 *                     continent.code
 *   flat (CC0 dbs):   country_code (and continent_code, if a db has it) */
#include "geo/geo_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <maxminddb.h>

#include "dnsd/base/alloc.h"

struct geo_mmdb {
    MMDB_s db;
    const char *path;   /* borrowed from the caller, for error messages */
};

geo_mmdb_t *geo_mmdb_open(const char *path, errs_t *errs)
{
    geo_mmdb_t *m = xcalloc(1, sizeof(*m));
    m->path = path;
    errno = 0;
    int st = MMDB_open(path, MMDB_MODE_MMAP, &m->db);
    if (st != MMDB_SUCCESS) {
        int e = errno;
        if (st == MMDB_FILE_OPEN_ERROR)
            errs_add(errs, path, 0, "cannot open: %s", e ? strerror(e) : MMDB_strerror(st));
        else if (st == MMDB_INVALID_METADATA_ERROR || st == MMDB_UNKNOWN_DATABASE_FORMAT_ERROR)
            errs_add(errs, path, 0, "not a MaxMind DB file (%s)", MMDB_strerror(st));
        else
            errs_add(errs, path, 0, "cannot load: %s", MMDB_strerror(st));
        free(m);
        return NULL;
    }
    unsigned v = m->db.metadata.ip_version;
    if ((v != 4 && v != 6) || m->db.metadata.node_count == 0) {
        errs_add(errs, path, 0, "not a usable MaxMind DB (ip_version %u, %u nodes)", v,
                 (unsigned)m->db.metadata.node_count);
        geo_mmdb_close(m);
        return NULL;
    }
    return m;
}

void geo_mmdb_close(geo_mmdb_t *m)
{
    if (!m)
        return;
    MMDB_close(&m->db);
    free(m);
}

unsigned geo_mmdb_ip_version(const geo_mmdb_t *m) { return m->db.metadata.ip_version; }

uint32_t geo_mmdb_node_count(const geo_mmdb_t *m) { return m->db.metadata.node_count; }

void geo_mmdb_type(const geo_mmdb_t *m, char *buf, size_t len)
{
    const char *t = m->db.metadata.database_type;
    snprintf(buf, len, "%s", t ? t : "");
}

static bool conv_rec(geo_mmdb_t *m, uint8_t type, uint64_t value, const MMDB_entry_s *entry,
                     geo_rec_t *out, uint32_t node, errs_t *errs)
{
    switch (type) {
    case MMDB_RECORD_TYPE_SEARCH_NODE:
        out->kind = GEO_REC_NODE;
        out->value = (uint32_t)value;
        return true;
    case MMDB_RECORD_TYPE_EMPTY:
        out->kind = GEO_REC_EMPTY;
        out->value = 0;
        return true;
    case MMDB_RECORD_TYPE_DATA:
        out->kind = GEO_REC_DATA;
        out->value = entry->offset;
        return true;
    default:
        errs_add(errs, m->path, 0, "corrupt search tree: node %u has an out-of-range record",
                 (unsigned)node);
        return false;
    }
}

bool geo_mmdb_read_node(geo_mmdb_t *m, uint32_t node, geo_rec_t rec[2], errs_t *errs)
{
    MMDB_search_node_s sn;
    int st = MMDB_read_node(&m->db, node, &sn);
    if (st != MMDB_SUCCESS) {
        errs_add(errs, m->path, 0, "corrupt search tree: node %u: %s", (unsigned)node,
                 MMDB_strerror(st));
        return false;
    }
    return conv_rec(m, sn.left_record_type, sn.left_record, &sn.left_record_entry, &rec[0], node,
                    errs) &&
           conv_rec(m, sn.right_record_type, sn.right_record, &sn.right_record_entry, &rec[1],
                    node, errs);
}

/* One string at a path below entry.  Returns 1 found (string in *s, length in *len),
 * 0 absent (missing key, or the path crosses something that is not a map),
 * -1 corrupt data. */
static int get_str(MMDB_entry_s *entry, const char **s, size_t *len, const char *k1,
                   const char *k2)
{
    MMDB_entry_data_s d;
    int st = k2 ? MMDB_get_value(entry, &d, k1, k2, NULL) : MMDB_get_value(entry, &d, k1, NULL);
    if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || st == MMDB_INVALID_LOOKUP_PATH_ERROR)
        return 0;
    if (st != MMDB_SUCCESS)
        return -1;
    if (!d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return 0;
    *s = d.utf8_string;
    *len = d.data_size;
    return 1;
}

static int decode_entry(MMDB_entry_s *entry, area_t *country, area_t *continent)
{
    const char *cc = NULL, *cont = NULL;
    size_t cc_len = 0, cont_len = 0;
    int r;

    /* Country: GeoIP2's physical country first, then the country the block
     * is registered to (anycast and satellite blocks have only that), then
     * the flat layout. */
    if ((r = get_str(entry, &cc, &cc_len, "country", "iso_code")) == 0 &&
        (r = get_str(entry, &cc, &cc_len, "registered_country", "iso_code")) == 0)
        r = get_str(entry, &cc, &cc_len, "country_code", NULL);
    if (r < 0)
        return -1;
    int rc = get_str(entry, &cont, &cont_len, "continent", "code");
    if (rc == 0)
        rc = get_str(entry, &cont, &cont_len, "continent_code", NULL);
    if (rc < 0)
        return -1;

    int c = cc ? codes_country_by_iso(cc, cc_len) : -1;
    int k = cont ? codes_continent_by_code(cont, cont_len) : -1;
    /* Legacy pseudo-countries ("EU" for Europe) name a continent. */
    if (c < 0 && k < 0 && cc)
        k = codes_continent_by_code(cc, cc_len);
    if (c >= 0 && k < 0)
        k = codes_continent_of((area_t)c);
    *country = c >= 0 ? (area_t)c : AREA_WORLD;
    *continent = k >= 0 ? (area_t)k : AREA_WORLD;
    return cc || cont;
}

int geo_mmdb_decode(geo_mmdb_t *m, uint32_t offset, area_t *country, area_t *continent,
                    errs_t *errs)
{
    MMDB_entry_s entry = { .mmdb = &m->db, .offset = offset };
    int r = decode_entry(&entry, country, continent);
    if (r < 0)
        errs_add(errs, m->path, 0, "corrupt data record at offset %u", (unsigned)offset);
    return r;
}

bool geo_mmdb_lookup_direct(geo_mmdb_t *m, int family, const uint8_t *addr, area_t *country,
                            area_t *continent, unsigned *netmask)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    if (family == 4) {
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, addr, 4);
        sa = (const struct sockaddr *)&sin;
    } else {
        memset(&sin6, 0, sizeof(sin6));
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, addr, 16);
        sa = (const struct sockaddr *)&sin6;
    }
    int err = 0;
    MMDB_lookup_result_s res = MMDB_lookup_sockaddr(&m->db, sa, &err);
    if (err != MMDB_SUCCESS)
        return false;
    *country = *continent = AREA_WORLD;
    /* libmaxminddb reports an IPv4 lookup in an IPv6 db in IPv6 bits. */
    unsigned nm = res.netmask;
    if (family == 4 && m->db.metadata.ip_version == 6)
        nm = nm >= 96 ? nm - 96 : 0;
    *netmask = nm;
    if (res.found_entry && decode_entry(&res.entry, country, continent) < 0)
        return false;
    return true;
}
