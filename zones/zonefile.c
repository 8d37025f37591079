/* zonefile.c -- read an RFC 1035 zone file with ldns; the only file that
 * includes <ldns/ldns.h>. */
#include "zones/zones.h"

#include <errno.h>
#include <ldns/ldns.h>
#include <string.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/wire.h"

/* TTL for records that have none and no $TTL before them (ldns's default,
 * made explicit). */
#define ZONEFILE_DEFAULT_TTL 3600

static void lower_wire(uint8_t *w, unsigned len)
{
    for (unsigned i = 0; i < len;) {
        unsigned l = w[i];
        for (unsigned j = 1; j <= l && i + j < len; j++)
            w[i + j] = wire_lower(w[i + j]);
        i += l + 1;
        if (!l)
            break;
    }
}

bool zonefile_read(const char *path, const uint8_t *apex, unsigned apex_len, zone_rec_t **recs,
                   unsigned *n, unsigned *cap, errs_t *errs)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        errs_add(errs, path, 0, "cannot open zone file: %s", strerror(errno));
        return false;
    }
    ldns_rdf *origin = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, apex_len, apex);
    ldns_rdf *prev = ldns_rdf_clone(origin);
    uint32_t default_ttl = ZONEFILE_DEFAULT_TTL;
    int line = 0;
    bool ok = true;
    ldns_buffer *buf = ldns_buffer_new(512);

    while (!feof(f)) {
        ldns_rr *rr = NULL;
        int before = line;
        ldns_status s = ldns_rr_new_frm_fp_l(&rr, f, &default_ttl, &origin, &prev, &line);
        if (s == LDNS_STATUS_SYNTAX_EMPTY || s == LDNS_STATUS_SYNTAX_TTL ||
            s == LDNS_STATUS_SYNTAX_ORIGIN)
            continue;
        if (s == LDNS_STATUS_SYNTAX_INCLUDE) {
            errs_add(errs, path, (unsigned)line, "$INCLUDE is not supported");
            ok = false;
            break;
        }
        if (s != LDNS_STATUS_OK) {
            /* ldns stops at the first syntax error; the line is where it
             * stopped reading, which for a multi-line record is its end. */
            errs_add(errs, path, (unsigned)(line > before ? line : before + 1), "%s",
                     ldns_get_errorstr_by_id(s));
            ok = false;
            break;
        }
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 16;
            *recs = xreallocarray(*recs, *cap, sizeof **recs);
        }
        zone_rec_t *r = &(*recs)[*n];
        memset(r, 0, sizeof *r);
        ldns_rdf *owner = ldns_rr_owner(rr);
        r->owner_len = (unsigned)ldns_rdf_size(owner);
        memcpy(r->owner, ldns_rdf_data(owner), r->owner_len);
        lower_wire(r->owner, r->owner_len);
        r->type = (uint16_t)ldns_rr_get_type(rr);
        r->rclass = (uint16_t)ldns_rr_get_class(rr);
        r->ttl = ldns_rr_ttl(rr);
        r->line = (unsigned)line;
        ldns_buffer_clear(buf);
        if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK || ldns_buffer_position(buf) > 65535) {
            errs_add(errs, path, (unsigned)line, "record data cannot be encoded");
            ldns_rr_free(rr);
            ok = false;
            break;
        }
        r->rdlen = (uint16_t)ldns_buffer_position(buf);
        r->rdata = xmalloc(r->rdlen);
        memcpy(r->rdata, ldns_buffer_begin(buf), r->rdlen);
        (*n)++;
        ldns_rr_free(rr);
    }
    ldns_buffer_free(buf);
    ldns_rdf_deep_free(origin);
    ldns_rdf_deep_free(prev);
    fclose(f);
    return ok;
}
