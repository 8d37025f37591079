/* zones.c -- zone sets: loading checks, the name hash and the pool-name
 * classifier, see zones.h. */
#include "zones/zones.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/wire.h"

/* Room for a subzone number as text. */
#define WIRE_NUM_LEN 12

/* ---- names ------------------------------------------------------------- */

static uint32_t name_hash(const uint8_t *name, unsigned len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (unsigned i = 0; i < len; i++)
        h = (h ^ name[i]) * 16777619u;
    return h;
}

/* Offsets of each label of a valid wire name; returns the label count
 * (the root label not counted). */
static unsigned label_offsets(const uint8_t *name, unsigned len, uint8_t *offs)
{
    unsigned n = 0;
    for (unsigned i = 0; i < len && name[i]; i += name[i] + 1u)
        offs[n++] = (uint8_t)i;
    return n;
}

/* Name as text, for messages ("www.pool.example.org"). */
static void name_text(const uint8_t *w, unsigned len, char *out, size_t outlen)
{
    size_t o = 0;
    for (unsigned i = 0; i < len && w[i] && o + 1 < outlen; i += w[i] + 1u) {
        if (o && o + 1 < outlen)
            out[o++] = '.';
        for (unsigned j = 1; j <= w[i] && o + 1 < outlen; j++) {
            uint8_t c = w[i + j];
            out[o++] = (c > ' ' && c < 0x7f) ? (char)c : '?';
        }
    }
    if (!o && outlen > 1)
        out[o++] = '.';
    out[o] = '\0';
}

const zone_node_t *zone_find_node(const zone_t *z, const uint8_t *lname, unsigned name_len)
{
    if (!z->slots)
        return NULL; /* still loading: no node exists yet */
    uint32_t i = name_hash(lname, name_len) & z->slot_mask;
    for (;;) {
        uint32_t s = z->slots[i];
        if (!s)
            return NULL;
        const zone_node_t *n = &z->nodes[s - 1];
        if (n->name_len == name_len && !memcmp(n->name, lname, name_len))
            return n;
        i = (i + 1) & z->slot_mask;
    }
}

const zone_rrset_t *zone_node_rrset(const zone_node_t *n, uint16_t type)
{
    for (unsigned i = 0; i < n->nrrsets; i++)
        if (n->rrsets[i].type == type)
            return &n->rrsets[i];
    return NULL;
}

/* ---- classification ---------------------------------------------------- */

static int vendor_index(const zones_t *zs, const uint8_t *label)
{
    for (unsigned i = 0; i < zs->nvendors; i++) {
        size_t l = strlen(zs->vendors[i]);
        if (l == label[0] && !memcmp(zs->vendors[i], label + 1, l))
            return (int)i;
    }
    return -1;
}

/* A subzone number: decimal digits without a leading zero (so "00" is not
 * subzone 0), below the configured count. */
static int subzone_number(const zones_t *zs, const uint8_t *label)
{
    unsigned len = label[0], v = 0;
    if (len == 0 || len > 2 || (len > 1 && label[1] == '0'))
        return -1;
    for (unsigned i = 1; i <= len; i++) {
        if (label[i] < '0' || label[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(label[i] - '0');
    }
    return v < zs->subzones ? (int)v : -1;
}

static const uint8_t country_label[] = "\x08_country";

void zones_classify(const zones_t *zs, const uint8_t *lname, unsigned name_len, qname_info_t *out)
{
    uint8_t offs[DNS_MAX_LABELS];
    unsigned nl = label_offsets(lname, name_len, offs);
    const zone_t *best = NULL;
    unsigned best_label = 0;

    memset(out, 0, sizeof *out);
    out->sub = -1;
    for (unsigned i = 0; i < zs->n; i++) {
        const zone_t *z = &zs->v[i];
        if (z->apex_len > name_len || (best && z->apex_len <= best->apex_len))
            continue;
        unsigned off = name_len - z->apex_len;
        /* off must start a label: find it among the label offsets. */
        for (unsigned l = 0; l <= nl && l < DNS_MAX_LABELS; l++) {
            unsigned lo = l < nl ? offs[l] : name_len - 1;
            if (lo == off) {
                if (!memcmp(lname + off, z->apex, z->apex_len)) {
                    best = z;
                    best_label = l;
                }
                break;
            }
            if (lo > off)
                break;
        }
    }
    if (!best)
        return;
    out->zone = best;
    out->apex_off = (uint16_t)(name_len - best->apex_len);
    out->kind = QK_OTHER;
    out->node = zone_find_node(best, lname, name_len);

    /* best_label relative labels precede the apex. */
    const uint8_t *l0 = lname, *l1 = best_label == 2 ? lname + offs[1] : NULL;
    int area, sub;
    switch (best_label) {
    case 0:
        out->kind = QK_POOL;
        out->geo = true;
        return;
    case 1:
        if ((sub = subzone_number(zs, l0)) >= 0) {
            out->kind = QK_POOL;
            out->geo = true;
            out->sub = (int8_t)sub;
        } else if ((area = codes_area_by_name((const char *)l0 + 1, l0[0])) > 0) {
            out->kind = QK_POOL;
            out->area = (area_t)area;
        } else if (vendor_index(zs, l0) >= 0) {
            out->kind = QK_POOL;
            out->geo = true;
        } else if (!memcmp(l0, country_label, sizeof country_label - 1)) {
            out->kind = QK_DEBUG;
        }
        return;
    case 2:
        if ((sub = subzone_number(zs, l0)) < 0)
            return;
        if ((area = codes_area_by_name((const char *)l1 + 1, l1[0])) > 0) {
            out->kind = QK_POOL;
            out->area = (area_t)area;
            out->sub = (int8_t)sub;
        } else if (vendor_index(zs, l1) >= 0) {
            out->kind = QK_POOL;
            out->geo = true;
            out->sub = (int8_t)sub;
        }
        return;
    default:
        return;
    }
}

/* ---- loading ------------------------------------------------------------ */

/* Order in which a minimal ANY answer (RFC 8482) and the node's rrset list
 * present types: SOA first at the apex, then NS, then by number. */
static int type_rank(uint16_t t)
{
    return t == DNS_T_SOA ? 0 : t == DNS_T_NS ? 1 : 2 + t;
}

static int rec_cmp(const void *a, const void *b)
{
    const zone_rec_t *x = a, *y = b;
    if (x->owner_len != y->owner_len)
        return x->owner_len < y->owner_len ? -1 : 1;
    int c = memcmp(x->owner, y->owner, x->owner_len);
    if (c)
        return c;
    if (x->type != y->type)
        return type_rank(x->type) < type_rank(y->type) ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static const char *type_name(uint16_t t, char *buf, size_t len)
{
    static const struct { uint16_t t; const char *name; } names[] = {
        { DNS_T_A, "A" }, { DNS_T_NS, "NS" }, { DNS_T_CNAME, "CNAME" }, { DNS_T_SOA, "SOA" },
        { 12, "PTR" }, { 13, "HINFO" }, { 15, "MX" }, { DNS_T_TXT, "TXT" }, { DNS_T_AAAA, "AAAA" },
        { 33, "SRV" }, { 35, "NAPTR" }, { 39, "DNAME" }, { 43, "DS" }, { 44, "SSHFP" },
        { 46, "RRSIG" }, { 48, "DNSKEY" }, { 52, "TLSA" }, { 64, "SVCB" }, { 65, "HTTPS" },
        { 257, "CAA" },
    };
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (names[i].t == t)
            return names[i].name;
    snprintf(buf, len, "TYPE%u", t);
    return buf;
}

/* Check one record against the rules of a pool zone; false if it is refused. */
static bool check_record(const zones_t *zs, const zone_t *z, const zone_rec_t *r, errs_t *errs)
{
    char owner[1024], tb[16];
    name_text(r->owner, r->owner_len, owner, sizeof owner);
    const char *tn = type_name(r->type, tb, sizeof tb);
    unsigned off = r->owner_len - z->apex_len;
    bool in_zone = r->owner_len >= z->apex_len && !memcmp(r->owner + off, z->apex, z->apex_len);
    if (in_zone) {
        uint8_t offs[DNS_MAX_LABELS];
        unsigned nl = label_offsets(r->owner, r->owner_len, offs);
        in_zone = off == 0;
        for (unsigned l = 0; l < nl && !in_zone; l++)
            in_zone = offs[l] == off;
    }
    if (!in_zone) {
        errs_add(errs, z->file, r->line, "%s is outside the zone %s", owner, z->name);
        return false;
    }
    if (r->rclass != DNS_C_IN) {
        errs_add(errs, z->file, r->line, "%s %s: only class IN is served", owner, tn);
        return false;
    }
    if (r->owner[0] == 1 && r->owner[1] == '*') {
        errs_add(errs, z->file, r->line, "%s: wildcard names are not supported", owner);
        return false;
    }
    if (r->type == DNS_T_SOA && off != 0) {
        errs_add(errs, z->file, r->line, "%s: SOA is allowed at the apex only", owner);
        return false;
    }
    if (r->type == DNS_T_NS && off != 0) {
        errs_add(errs, z->file, r->line, "%s: delegations (NS below the apex) are not supported", owner);
        return false;
    }
    if (r->type == 39 /* DNAME */) {
        errs_add(errs, z->file, r->line, "%s: DNAME is not supported", owner);
        return false;
    }
    if (r->type == DNS_T_CNAME && off == 0) {
        errs_add(errs, z->file, r->line, "%s: a CNAME cannot be at the apex", owner);
        return false;
    }
    if (r->type == DNS_T_OPT || (r->type >= 128 && r->type <= 255)) {
        errs_add(errs, z->file, r->line, "%s: %s is not a data type", owner, tn);
        return false;
    }
    qname_info_t qi;
    zones_classify(zs, r->owner, r->owner_len, &qi);
    if (qi.zone == z && (qi.kind == QK_POOL || qi.kind == QK_DEBUG) &&
        (r->type == DNS_T_A || r->type == DNS_T_AAAA || r->type == DNS_T_CNAME ||
         qi.kind == QK_DEBUG)) {
        errs_add(errs, z->file, r->line,
                 "%s %s: this name is answered by the pool; remove the record", owner, tn);
        return false;
    }
    return true;
}

static void insert_slot(zone_t *z, unsigned idx)
{
    const zone_node_t *n = &z->nodes[idx];
    uint32_t i = name_hash(n->name, n->name_len) & z->slot_mask;
    while (z->slots[i])
        i = (i + 1) & z->slot_mask;
    z->slots[i] = idx + 1;
}

static zone_node_t *add_node(zone_t *z, unsigned *cap, const uint8_t *name, unsigned len)
{
    if (z->nnodes == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        z->nodes = xreallocarray(z->nodes, *cap, sizeof *z->nodes);
    }
    zone_node_t *n = &z->nodes[z->nnodes++];
    memset(n, 0, sizeof *n);
    n->name = xmalloc(len);
    memcpy(n->name, name, len);
    n->name_len = len;
    return n;
}

/* Group sorted records into nodes and rrsets; checks that need the whole
 * name (CNAME and other data, the apex SOA/NS). */
static bool build_zone(zone_t *z, zone_rec_t *recs, unsigned n, errs_t *errs)
{
    bool ok = true;
    unsigned cap = 0;
    qsort(recs, n, sizeof *recs, rec_cmp);
    for (unsigned i = 0; i < n;) {
        unsigned j = i;
        while (j < n && recs[j].owner_len == recs[i].owner_len &&
               !memcmp(recs[j].owner, recs[i].owner, recs[i].owner_len))
            j++;
        zone_node_t *node = add_node(z, &cap, recs[i].owner, recs[i].owner_len);
        bool has_cname = false;
        for (unsigned k = i; k < j;) {
            unsigned m = k;
            while (m < j && recs[m].type == recs[k].type)
                m++;
            if (recs[k].type == DNS_T_CNAME)
                has_cname = true;
            /* One rrset: drop exact duplicates, one TTL for all (the
             * smallest, as RFC 2181 5.2 wants a single TTL per set). */
            uint32_t ttl = recs[k].ttl;
            size_t bytes = 0;
            unsigned count = 0;
            for (unsigned r = k; r < m; r++) {
                bool dup = false;
                for (unsigned q = k; q < r && !dup; q++)
                    dup = recs[q].rdlen == recs[r].rdlen && !memcmp(recs[q].rdata, recs[r].rdata, recs[r].rdlen);
                recs[r].dup = dup;
                if (dup)
                    continue;
                ttl = recs[r].ttl < ttl ? recs[r].ttl : ttl;
                bytes += 10u + recs[r].rdlen;
                count++;
            }
            if (recs[k].type == DNS_T_SOA && count > 1) {
                errs_add(errs, z->file, recs[k + 1].line, "a second SOA record at the apex");
                ok = false;
            }
            if (recs[k].type == DNS_T_CNAME && count > 1) {
                errs_add(errs, z->file, recs[k + 1].line, "more than one CNAME at one name");
                ok = false;
            }
            node->rrsets = xreallocarray(node->rrsets, node->nrrsets + 1, sizeof *node->rrsets);
            zone_rrset_t *rs = &node->rrsets[node->nrrsets++];
            rs->type = recs[k].type;
            rs->count = (uint16_t)(count > 65535 ? 65535 : count);
            rs->len = (uint32_t)bytes;
            rs->wire = xmalloc(bytes);
            uint8_t *w = rs->wire;
            for (unsigned r = k; r < m; r++) {
                if (recs[r].dup)
                    continue;
                wire_put16(w, recs[r].type);
                wire_put16(w + 2, DNS_C_IN);
                wire_put32(w + 4, ttl);
                wire_put16(w + 8, recs[r].rdlen);
                memcpy(w + 10, recs[r].rdata, recs[r].rdlen);
                w += 10 + recs[r].rdlen;
            }
            k = m;
        }
        if (has_cname && node->nrrsets > 1) {
            char owner[1024];
            name_text(node->name, node->name_len, owner, sizeof owner);
            errs_add(errs, z->file, recs[i].line, "%s: a CNAME cannot share its name with other records",
                     owner);
            ok = false;
        }
        i = j;
    }

    /* Empty non-terminals: every ancestor of a name, up to the apex, exists
 * (RFC 8020: NODATA, not NXDOMAIN).  Zone files are small, so a linear
 * search is fine here. */
    unsigned real = z->nnodes;
    for (unsigned i = 0; i < real; i++) {
        uint8_t name[256];
        unsigned len = z->nodes[i].name_len;
        memcpy(name, z->nodes[i].name, len);
        unsigned off = 0;
        while (len - off > z->apex_len) {
            off += name[off] + 1u;
            bool found = false;
            for (unsigned k = 0; k < z->nnodes && !found; k++)
                found = z->nodes[k].name_len == len - off && !memcmp(z->nodes[k].name, name + off, len - off);
            if (!found)
                add_node(z, &cap, name + off, len - off);
        }
    }
    return ok;
}

static void free_zone(zone_t *z)
{
    for (unsigned i = 0; i < z->nnodes; i++) {
        for (unsigned j = 0; j < z->nodes[i].nrrsets; j++)
            free(z->nodes[i].rrsets[j].wire);
        free(z->nodes[i].rrsets);
        free(z->nodes[i].name);
    }
    free(z->nodes);
    free(z->slots);
    free(z->soa_neg);
    free(z->name);
    free(z->file);
}

/* Hash, apex node, and the SOA used in negative answers. */
static bool finish_zone(zone_t *z, errs_t *errs)
{
    uint32_t size = 16;
    while (size < z->nnodes * 2u)
        size *= 2;
    z->slots = xcalloc(size, sizeof *z->slots);
    z->slot_mask = size - 1;
    for (unsigned i = 0; i < z->nnodes; i++)
        insert_slot(z, i);
    z->apex_node = zone_find_node(z, z->apex, z->apex_len);
    const zone_rrset_t *soa = z->apex_node ? zone_node_rrset(z->apex_node, DNS_T_SOA) : NULL;
    const zone_rrset_t *ns = z->apex_node ? zone_node_rrset(z->apex_node, DNS_T_NS) : NULL;
    bool ok = true;
    if (!soa) {
        errs_add(errs, z->file, 0, "no SOA record at the apex %s", z->name);
        ok = false;
    }
    if (!ns) {
        errs_add(errs, z->file, 0, "no NS records at the apex %s", z->name);
        ok = false;
    }
    if (!ok)
        return false;
    /* SOA RDATA ends with SERIAL REFRESH RETRY EXPIRE MINIMUM, 4 bytes each. */
    const uint8_t *rd = soa->wire + 10;
    uint16_t rdlen = wire_get16(soa->wire + 8);
    if (rdlen < 22) {
        errs_add(errs, z->file, 0, "the SOA record of %s is malformed", z->name);
        return false;
    }
    uint32_t ttl = wire_get32(soa->wire + 4), minimum = wire_get32(rd + rdlen - 4);
    z->serial = wire_get32(rd + rdlen - 20);
    z->soa_neg_len = soa->len;
    z->soa_neg = xmalloc(soa->len);
    memcpy(z->soa_neg, soa->wire, soa->len);
    wire_put32(z->soa_neg + 4, minimum < ttl ? minimum : ttl);
    return true;
}

static void build_name_index(zones_t *zs);

zones_t *zones_load(const zones_spec_t *specs, unsigned n, char *const *vendors, unsigned nvendors,
                    unsigned subzones, errs_t *errs)
{
    zones_t *zs = xcalloc(1, sizeof *zs);
    size_t before = errs->n;
    zs->subzones = subzones;
    zs->nvendors = nvendors;
    zs->vendors = xcalloc(nvendors, sizeof *zs->vendors);
    for (unsigned i = 0; i < nvendors; i++)
        zs->vendors[i] = xstrdup(vendors[i]);
    /* Every apex first, so that classifying a record sees the longest
     * matching zone even when zones nest. */
    zs->v = xcalloc(n, sizeof *zs->v);
    zs->n = n;
    for (unsigned i = 0; i < n; i++) {
        zone_t *z = &zs->v[i];
        memcpy(z->apex, specs[i].apex, specs[i].apex_len);
        z->apex_len = specs[i].apex_len;
        z->name = xstrdup(specs[i].name);
        z->file = xstrdup(specs[i].file);
    }
    for (unsigned i = 0; i < n; i++) {
        zone_t *z = &zs->v[i];
        zone_rec_t *recs = NULL;
        unsigned nrecs = 0, cap = 0;
        bool ok = zonefile_read(z->file, z->apex, z->apex_len, &recs, &nrecs, &cap, errs);
        unsigned kept = 0;
        for (unsigned r = 0; r < nrecs; r++) {
            if (ok && check_record(zs, z, &recs[r], errs))
                recs[kept++] = recs[r];
            else
                free(recs[r].rdata);
        }
        if (errs->n == before) {
            build_zone(z, recs, kept, errs);
            if (errs->n == before)
                finish_zone(z, errs);
        }
        for (unsigned r = 0; r < kept; r++)
            free(recs[r].rdata);
        free(recs);
    }
    if (errs->n != before) {
        zones_free(zs);
        return NULL;
    }
    build_name_index(zs);
    return zs;
}

/* ---- the name index ------------------------------------------------------ */

typedef struct {
    zones_t *zs;
    struct zname *names;    /* zs->nnames of them, until they go in the slots */
    size_t cap;
    uint8_t *arena;
    size_t arena_len, arena_cap;
} nidx_t;

/* Add a name (lower-case wire) if it classifies as something that exists. */
static void index_name(nidx_t *x, const uint8_t *name, unsigned len)
{
    zones_t *zs = x->zs;
    qname_info_t qi;
    zones_classify(zs, name, len, &qi);
    if (qi.kind == QK_OUTSIDE || (qi.kind == QK_OTHER && !qi.node))
        return;
    size_t padded = (len + 7u) & ~7u;
    if (x->arena_len + padded > x->arena_cap) {
        x->arena_cap = x->arena_cap ? x->arena_cap * 2 : 16384;
        x->arena = xrealloc(x->arena, x->arena_cap);
    }
    memset(x->arena + x->arena_len, 0, padded);
    memcpy(x->arena + x->arena_len, name, len);
    if (zs->nnames == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 1024;
        x->names = xreallocarray(x->names, x->cap, sizeof *x->names);
    }
    struct zname *e = &x->names[zs->nnames++];
    e->hash = zones_name_hash(x->arena + x->arena_len, len);
    e->name = (const uint8_t *)(uintptr_t)x->arena_len; /* offset until the arena stops moving */
    e->len = len;
    e->info = qi;
    x->arena_len += padded;
}

/* name = prefix labels + apex. */
static void index_under(nidx_t *x, const zone_t *z, const char *l1, const char *l2)
{
    uint8_t w[256];
    unsigned n = 0;
    const char *labels[2] = { l1, l2 };
    for (unsigned i = 0; i < 2; i++) {
        if (!labels[i])
            continue;
        size_t l = strlen(labels[i]);
        if (n + 1 + l + z->apex_len > 255)
            return;
        w[n++] = (uint8_t)l;
        memcpy(w + n, labels[i], l);
        n += (unsigned)l;
    }
    memcpy(w + n, z->apex, z->apex_len);
    index_name(x, w, n + z->apex_len);
}

static void build_name_index(zones_t *zs)
{
    nidx_t x = { .zs = zs };
    char num[WIRE_NUM_LEN];
    for (unsigned zi = 0; zi < zs->n; zi++) {
        const zone_t *z = &zs->v[zi];
        /* The pool's names: [N.][AREA|VENDOR.]apex and _country.apex. */
        for (int sub = -1; sub < (int)zs->subzones; sub++) {
            const char *nl = NULL;
            if (sub >= 0) {
                snprintf(num, sizeof num, "%d", sub);
                nl = num;
            }
            index_under(&x, z, nl, NULL);
            for (unsigned a = 1; a < AREA_COUNT; a++)
                index_under(&x, z, nl, codes_area_name((area_t)a));
            for (unsigned v = 0; v < zs->nvendors; v++)
                index_under(&x, z, nl, zs->vendors[v]);
        }
        index_under(&x, z, "_country", NULL);
        /* Every name of the zone file (pool names among them are already
         * in and are skipped below). */
        for (unsigned i = 0; i < z->nnodes; i++) {
            qname_info_t qi;
            zones_classify(zs, z->nodes[i].name, z->nodes[i].name_len, &qi);
            if (qi.kind == QK_OTHER)
                index_name(&x, z->nodes[i].name, z->nodes[i].name_len);
        }
    }
    uint32_t size = 16;
    while (size < zs->nnames * 2u)
        size *= 2;
    zs->name_mask = size - 1;
    /* Every query reads the index at random: in huge pages, it spares the
     * query a TLB miss per part.  The names' bytes move there; the slots,
     * with the entries in them, are made there (zeroed: all empty). */
    zs->name_slots = harena_alloc(&zs->index_mem, (size_t)size * sizeof *zs->name_slots, 64);
    zs->name_arena = harena_alloc(&zs->index_mem, x.arena_len + ZONES_CMP_WORDS * 8, 64);
    if (x.arena_len)
        memcpy(zs->name_arena, x.arena, x.arena_len);
    for (unsigned i = 0; i < zs->nnames; i++) {
        struct zname e = x.names[i];
        e.name = zs->name_arena + (uintptr_t)e.name;
        uint32_t k = (uint32_t)e.hash & zs->name_mask;
        while (zs->name_slots[k].len)
            k = (k + 1) & zs->name_mask;
        zs->name_slots[k] = e;
    }
    free(x.names);
    free(x.arena);
}

void zones_free(zones_t *zs)
{
    if (!zs)
        return;
    harena_free(&zs->index_mem);
    for (unsigned i = 0; i < zs->n; i++)
        free_zone(&zs->v[i]);
    for (unsigned i = 0; i < zs->nvendors; i++)
        free(zs->vendors[i]);
    free(zs->vendors);
    free(zs->v);
    free(zs);
}
