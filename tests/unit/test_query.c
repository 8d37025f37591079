/* test_query.c -- the query path without sockets: raw query bytes through
 * dnsd_query(), checking ID, flags, RCODE, counts, records, TC, EDNS and ECS,
 * and that answering allocates nothing. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <urcu.h>

#include "dnsd/base/rng.h"
#include "dnsd/base/wire.h"
#include "dnsd/query.h"
#include "dnsd/server.h"
#include "zones/zones.h"

#include "alloccount.h"

static dnsd_server_t *srv;
static dnsd_qctx_t *ctx;
static struct sockaddr_in client4;

static const char *zone =
    "$ORIGIN pool.example.org.\n$TTL 3600\n"
    "@ SOA ns1.example.org. hostmaster.example.org. 7 3600 600 1209600 150\n"
    "@ NS ns1.example.org.\n@ NS ns2.example.org.\n"
    "www 300 CNAME www.example.org.\n"
    "big TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"1123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"2123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"3123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"4123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"5123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"6123456789012345678901234567890123456789012345678901234567890123456789\"\n"
    "big TXT \"7123456789012345678901234567890123456789012345678901234567890123456789\"\n";

/* Two CN servers, one SE, one US, a world-only pair, and v6.  In MaxMind's
 * test database 175.16.199.0/24 is CN (asia) and 2a02:cf40::/29 NO (europe);
 * networks narrower than /24 (like 81.2.69.160/27, GB) cannot be reached
 * through a client subnet, which is capped at /24. */
static const char *snapshot =
    "serial 11\n"
    "server 192.0.2.1 1000 15 cn asia @\n"
    "server 192.0.2.2 1000 15 cn asia @\n"
    "server 192.0.2.3 1000 15 se europe @\n"
    "server 192.0.2.4 1000 15 us north-america @\n"
    "server 192.0.2.5 1000 15 @\n"
    "server 192.0.2.6 1000 15 @\n"
    "server 192.0.2.7 1000 5 @\n"   /* not eligible */
    "server 2001:db8::1 1000 15 cn asia @\n"
    "server 2001:db8::2 1000 15 us north-america @\n"
    "server 2001:db8::3 1000 15 se europe\n";

static int setup(void **state)
{
    (void)state;
    char dir[256], conf[1024];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    tu_write("q.zone", zone);
    tu_write("snap.txt", snapshot);
    char cwd[512];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    snprintf(conf, sizeof conf,
             "listen 127.0.0.1:5353\nzone pool.example.org q.zone\nsnapshot snap.txt\n"
             /* Vendor names of 24, 32, 33 and 40 bytes: the name index
              * compares up to 4 words without a loop, longer names in one. */
             "vendor debian abcde abcdefghijklm abcdefghijklmn abcdefghijklmnopqrstu\ngeoip %s/tests/data/geo/GeoIP2-Country-Test.mmdb\n",
             cwd);
    char *path = tu_write("q.conf", conf);
    errs_t e = ERRS_INIT;
    srv = dnsd_server_load(path, &e);
    errs_print(&e, stderr, "");
    errs_clear(&e);
    if (!srv)
        return -1;
    ctx = dnsd_qctx_new(srv, 1234);
    client4.sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &client4.sin_addr);
    client4.sin_port = htons(40000);
    rcu_register_thread();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rcu_unregister_thread();
    dnsd_qctx_free(ctx);
    dnsd_server_free(srv);
    tu_cleanup();
    return 0;
}

/* ---- building queries ----------------------------------------------------- */

typedef struct {
    uint8_t b[DNSD_TCP_BUF];
    size_t len;
} pkt_t;

static void q_header(pkt_t *p, uint16_t id, uint8_t f1, uint16_t qd)
{
    memset(p->b, 0, DNS_HDR_LEN);
    wire_put16(p->b, id);
    p->b[2] = f1;
    wire_put16(p->b + 4, qd);
    p->len = DNS_HDR_LEN;
}

/* Name in presentation form, case kept. */
static void q_name(pkt_t *p, const char *name)
{
    const char *s = name;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        p->b[p->len++] = (uint8_t)l;
        memcpy(p->b + p->len, s, l);
        p->len += l;
        s += l + (dot ? 1 : 0);
    }
    p->b[p->len++] = 0;
}

static void q_u16(pkt_t *p, uint16_t v)
{
    wire_put16(p->b + p->len, v);
    p->len += 2;
}

/* A query whose name starts with one label of any bytes (zero bytes too),
 * then name in presentation form. */
static void mkq_label(pkt_t *p, const uint8_t *label, size_t len, const char *name, uint16_t qtype)
{
    q_header(p, 0xbeef, DNS_F_RD, 1);
    p->b[p->len++] = (uint8_t)len;
    memcpy(p->b + p->len, label, len);
    p->len += len;
    q_name(p, name);
    q_u16(p, qtype);
    q_u16(p, DNS_C_IN);
}

static void mkq(pkt_t *p, const char *name, uint16_t qtype)
{
    q_header(p, 0xbeef, DNS_F_RD, 1);
    q_name(p, name);
    q_u16(p, qtype);
    q_u16(p, DNS_C_IN);
}

/* Append an OPT record; opts/olen are raw options. */
static void add_opt(pkt_t *p, uint16_t payload, uint8_t version, bool do_bit, const uint8_t *opts, size_t olen)
{
    p->b[p->len++] = 0;
    q_u16(p, DNS_T_OPT);
    q_u16(p, payload);
    p->b[p->len++] = 0;
    p->b[p->len++] = version;
    q_u16(p, do_bit ? 0x8000 : 0);
    q_u16(p, (uint16_t)olen);
    if (olen)
        memcpy(p->b + p->len, opts, olen);
    p->len += olen;
    wire_put16(p->b + 10, (uint16_t)(wire_get16(p->b + 10) + 1));
}

/* ECS option bytes for addr/source (family from the address). */
static size_t ecs_opt(uint8_t *o, const char *addr, unsigned source)
{
    uint8_t a[16] = { 0 };
    uint16_t fam = strchr(addr, ':') ? 2 : 1;
    inet_pton(fam == 1 ? AF_INET : AF_INET6, addr, a);
    unsigned bytes = (source + 7) / 8;
    wire_put16(o, EDNS_OPT_ECS);
    wire_put16(o + 2, (uint16_t)(4 + bytes));
    wire_put16(o + 4, fam);
    o[6] = (uint8_t)source;
    o[7] = 0;
    memcpy(o + 8, a, bytes);
    if (source % 8)
        o[8 + bytes - 1] &= (uint8_t)(0xff << (8 - source % 8));
    return 8 + bytes;
}

/* ---- reading responses ---------------------------------------------------- */

typedef struct {
    size_t len;
    uint16_t id, qd, an, ns, ar;
    bool qr, aa, tc, rd;
    unsigned opcode, rcode;
    uint8_t addrs[16][16];  /* A/AAAA rdata of answers */
    uint16_t types[16];
    unsigned naddr;
    bool opt;
    unsigned ext_rcode, opt_version;
    uint16_t opt_payload;
    bool opt_do;
    bool ecs;
    uint8_t ecs_source, ecs_scope;
    uint8_t ecs_raw[32];    /* the whole Client Subnet option */
    size_t ecs_rawlen;
    uint16_t ns_type;
    uint32_t first_ttl, ns_ttl;
} resp_t;

static size_t skip_name(const uint8_t *b, size_t off)
{
    for (;;) {
        uint8_t l = b[off];
        if ((l & 0xc0) == 0xc0)
            return off + 2;
        off += 1u + l;
        if (!l)
            return off;
    }
}

static size_t run(pkt_t *p, resp_t *r, bool tcp, const struct sockaddr *from)
{
    memset(r, 0, sizeof *r);
    rcu_read_lock();
    size_t len = dnsd_query(ctx, from ? from : (const struct sockaddr *)&client4, p->b, p->len,
                            tcp ? DNSD_TCP_BUF : DNSD_UDP_BUF, tcp);
    rcu_read_unlock();
    r->len = len;
    if (!len)
        return 0;
    const uint8_t *b = p->b;
    r->id = wire_get16(b);
    r->qr = b[2] & DNS_F_QR;
    r->opcode = (b[2] >> 3) & 0xf;
    r->aa = b[2] & DNS_F_AA;
    r->tc = b[2] & DNS_F_TC;
    r->rd = b[2] & DNS_F_RD;
    r->rcode = b[3] & 0xf;
    r->qd = wire_get16(b + 4);
    r->an = wire_get16(b + 6);
    r->ns = wire_get16(b + 8);
    r->ar = wire_get16(b + 10);
    size_t off = DNS_HDR_LEN;
    for (unsigned i = 0; i < r->qd; i++)
        off = skip_name(b, off) + 4;
    for (unsigned i = 0; i < (unsigned)r->an + r->ns + r->ar; i++) {
        off = skip_name(b, off);
        uint16_t type = wire_get16(b + off), rdlen = wire_get16(b + off + 8);
        uint32_t ttl = wire_get32(b + off + 4);
        if (i < r->an) {
            if (i == 0)
                r->first_ttl = ttl;
            r->types[r->naddr] = type;
            if (type == DNS_T_A || type == DNS_T_AAAA)
                memcpy(r->addrs[r->naddr], b + off + 10, rdlen);
            r->naddr++;
        } else if (i < (unsigned)r->an + r->ns) {
            r->ns_type = type;
            r->ns_ttl = ttl;
        } else if (type == DNS_T_OPT) {
            r->opt = true;
            r->opt_payload = wire_get16(b + off + 2);
            r->ext_rcode = b[off + 4];
            r->opt_version = b[off + 5];
            r->opt_do = b[off + 6] & 0x80;
            const uint8_t *o = b + off + 10;
            if (rdlen >= 8 && wire_get16(o) == EDNS_OPT_ECS) {
                r->ecs = true;
                r->ecs_source = o[6];
                r->ecs_scope = o[7];
                r->ecs_rawlen = 4u + wire_get16(o + 2);
                assert_true(r->ecs_rawlen <= sizeof r->ecs_raw && r->ecs_rawlen <= rdlen);
                memcpy(r->ecs_raw, o, r->ecs_rawlen);
            }
        }
        off += 10u + rdlen;
    }
    assert_int_equal(off, len); /* counts and lengths agree */
    return len;
}

static bool addr_is(const resp_t *r, unsigned i, const char *text)
{
    uint8_t a[16];
    if (strchr(text, ':'))
        return inet_pton(AF_INET6, text, a) == 1 && !memcmp(r->addrs[i], a, 16);
    return inet_pton(AF_INET, text, a) == 1 && !memcmp(r->addrs[i], a, 4);
}

static bool addr_in(const resp_t *r, unsigned i, const char *const *set)
{
    for (; *set; set++)
        if (addr_is(r, i, *set))
            return true;
    return false;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_basic_a(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    mkq(&p, "PoOl.ExAmPlE.oRg", DNS_T_A);
    uint8_t question[64];
    memcpy(question, p.b + 12, p.len - 12);
    size_t qlen = p.len - 12;
    run(&p, &r, false, NULL);
    assert_int_equal(r.id, 0xbeef);
    assert_true(r.qr);
    assert_true(r.aa);
    assert_false(r.tc);
    assert_true(r.rd);
    assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
    assert_int_equal(r.qd, 1);
    assert_int_equal(r.an, 4);
    assert_int_equal(r.ns, 0);
    assert_int_equal(r.ar, 0);
    assert_memory_equal(p.b + 12, question, qlen); /* client's letter case */
    assert_int_equal(r.first_ttl, 150);
    /* From 127.0.0.1 (loopback: "@"): the six eligible world servers. */
    const char *world[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6", NULL };
    for (unsigned i = 0; i < r.naddr; i++) {
        assert_int_equal(r.types[i], DNS_T_A);
        assert_true(addr_in(&r, i, world));
        for (unsigned j = 0; j < i; j++)
            assert_memory_not_equal(r.addrs[i], r.addrs[j], 4);
    }
    /* Owner is a pointer to the question name. */
    assert_int_equal(wire_get16(p.b + 12 + qlen), 0xc00c);
}

static void test_aaaa_rules(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    mkq(&p, "pool.example.org", DNS_T_AAAA); /* unnumbered: NODATA */
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
    assert_int_equal(r.an, 0);
    assert_int_equal(r.ns, 1);
    assert_int_equal(r.ns_type, DNS_T_SOA);
    assert_int_equal(r.ns_ttl, 150); /* min(SOA TTL, MINIMUM) */
    mkq(&p, "1.pool.example.org", DNS_T_AAAA); /* not in aaaa-subzones */
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 0);
    assert_int_equal(r.ns, 1);
    mkq(&p, "2.pool.example.org", DNS_T_AAAA);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 2);
    assert_int_equal(r.types[0], DNS_T_AAAA);
    mkq(&p, "3.debian.pool.example.org", DNS_T_AAAA);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 2);
    mkq(&p, "1.pool.example.org", 15 /* MX */); /* other types at pool names */
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
    assert_int_equal(r.an, 0);
    assert_int_equal(r.ns, 1);
}

static void test_explicit_zones(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    const char *cn[] = { "192.0.2.1", "192.0.2.2", NULL };
    mkq(&p, "cn.pool.example.org", DNS_T_A);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 2);
    assert_true(addr_in(&r, 0, cn) && addr_in(&r, 1, cn));
    mkq(&p, "0.jp.pool.example.org", DNS_T_A); /* no jp servers: asia */
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 2);
    assert_true(addr_in(&r, 0, cn) && addr_in(&r, 1, cn));
    mkq(&p, "2.fr.pool.example.org", DNS_T_A); /* europe has one */
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 1);
    assert_true(addr_is(&r, 0, "192.0.2.3"));
    mkq(&p, "za.pool.example.org", DNS_T_A); /* no africa: world */
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 4);
    mkq(&p, "3.north-america.pool.example.org", DNS_T_A);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 1);
    assert_true(addr_is(&r, 0, "192.0.2.4"));
}

static void test_zone_data(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    mkq(&p, "pool.example.org", DNS_T_SOA);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 1);
    assert_int_equal(r.types[0], DNS_T_SOA);
    assert_int_equal(r.first_ttl, 3600);
    mkq(&p, "pool.example.org", DNS_T_NS);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 2);
    mkq(&p, "www.pool.example.org", DNS_T_A);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 1);
    assert_int_equal(r.types[0], DNS_T_CNAME);
    assert_int_equal(r.first_ttl, 300);
    mkq(&p, "pool.example.org", DNS_T_ANY); /* RFC 8482: one rrset */
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
    assert_int_equal(r.an, 4);
    assert_int_equal(r.types[0], DNS_T_A);
    mkq(&p, "www.pool.example.org", DNS_T_ANY);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 1);
    mkq(&p, "www.pool.example.org", DNS_T_TXT);
    run(&p, &r, false, NULL);
    assert_int_equal(r.types[0], DNS_T_CNAME);
    /* Vendor names of 24, 32, 33 and 40 bytes, each found in the name
     * index; one that differs in its last letter is not a name. */
    static const char *names[] = { "abcde", "abcdefghijklm", "abcdefghijklmn", "abcdefghijklmnopqrstu" };
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        char name[64];
        snprintf(name, sizeof name, "%s.pool.example.org", names[i]);
        mkq(&p, name, DNS_T_A);
        run(&p, &r, false, NULL);
        assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
        assert_int_equal(r.an, 4);
        name[strlen(names[i]) - 1] ^= 1;
        mkq(&p, name, DNS_T_A);
        run(&p, &r, false, NULL);
        assert_int_equal(r.rcode, DNS_RCODE_NXDOMAIN);
    }
}

/* NXDOMAIN, authoritative, with the zone's SOA alone in the authority
 * section. */
static void check_nxdomain(const resp_t *r)
{
    assert_int_equal(r->rcode, DNS_RCODE_NXDOMAIN);
    assert_true(r->aa);
    assert_int_equal(r->an, 0);
    assert_int_equal(r->ns, 1);
    assert_int_equal(r->ns_type, DNS_T_SOA);
}

static void test_negative(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    const char *nx[] = { "4.pool.example.org", "x.0.pool.example.org", "zz.pool.example.org",
                         "a.www.pool.example.org" };
    for (size_t i = 0; i < ARRAY_LEN(nx); i++) {
        mkq(&p, nx[i], DNS_T_A);
        run(&p, &r, false, NULL);
        check_nxdomain(&r);
    }
    mkq(&p, "example.org", DNS_T_A);
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
    assert_false(r.aa);
    assert_int_equal(r.an + r.ns, 0);
    mkq(&p, "pool.example.org", DNS_T_AXFR);
    run(&p, &r, true, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
    mkq(&p, "pool.example.org", DNS_T_IXFR);
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
    /* A real IXFR request carries the client's SOA in the authority
     * section (RFC 1995 3): still REFUSED, not FORMERR. */
    mkq(&p, "pool.example.org", DNS_T_IXFR);
    static const uint8_t soa[] = { 0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22, 0, 0,
                                   0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    memcpy(p.b + p.len, soa, sizeof soa);
    p.len += sizeof soa;
    wire_put16(p.b + 8, 1);
    run(&p, &r, true, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
    q_header(&p, 1, 0, 1); /* class CH */
    q_name(&p, "pool.example.org");
    q_u16(&p, DNS_T_TXT);
    q_u16(&p, DNS_C_CH);
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_REFUSED);
}

static resp_t expect_rcode(pkt_t *p, unsigned rcode)
{
    resp_t r;
    run(p, &r, false, NULL);
    assert_int_not_equal(r.len, 0);
    assert_true(r.qr);
    assert_int_equal(r.rcode, rcode);
    assert_int_equal(r.an, 0);
    return r;
}

static void test_malformed(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    /* Dropped: too short, or a response. */
    q_header(&p, 1, 0, 1);
    p.len = 11;
    run(&p, &r, false, NULL);
    assert_int_equal(r.len, 0);
    mkq(&p, "pool.example.org", DNS_T_A);
    p.b[2] |= DNS_F_QR;
    run(&p, &r, false, NULL);
    assert_int_equal(r.len, 0);

    q_header(&p, 1, 0, 0); /* no question */
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A); /* two questions counted */
    wire_put16(p.b + 4, 2);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A); /* truncated question */
    p.len -= 3;
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A);
    p.len = 12 + 6;
    expect_rcode(&p, DNS_RCODE_FORMERR);
    q_header(&p, 1, 0, 1); /* label longer than 63 */
    p.b[p.len++] = 64;
    memset(p.b + p.len, 'a', 64);
    p.len += 64;
    p.b[p.len++] = 0;
    q_u16(&p, 1);
    q_u16(&p, 1);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    q_header(&p, 1, 0, 1); /* name longer than 255 */
    for (int i = 0; i < 5; i++) {
        p.b[p.len++] = 60;
        memset(p.b + p.len, 'a', 60);
        p.len += 60;
    }
    p.b[p.len++] = 0;
    q_u16(&p, 1);
    q_u16(&p, 1);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    /* The longest name, 255 bytes: parsed (and refused: outside the
     * zone); one byte more is malformed. */
    for (int extra = 0; extra < 2; extra++) {
        q_header(&p, 1, 0, 1);
        for (int i = 0; i < 4; i++) {
            unsigned l = i < 3 ? 63 : 61u + (unsigned)extra;
            p.b[p.len++] = (uint8_t)l;
            memset(p.b + p.len, 'a' + i, l);
            p.len += l;
        }
        p.b[p.len++] = 0;
        q_u16(&p, 1);
        q_u16(&p, 1);
        r = expect_rcode(&p, extra ? DNS_RCODE_FORMERR : DNS_RCODE_REFUSED);
        if (!extra)
            assert_int_equal(r.qd, 1);
    }
    q_header(&p, 1, 0, 1); /* compression pointer in the question */
    p.b[p.len++] = 0xc0;
    p.b[p.len++] = 12;
    q_u16(&p, 1);
    q_u16(&p, 1);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A); /* an answer record in a query */
    wire_put16(p.b + 6, 1);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A); /* ARCOUNT without the record */
    wire_put16(p.b + 10, 1);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A); /* two OPT records */
    add_opt(&p, 1232, 0, false, NULL, 0);
    add_opt(&p, 1232, 0, false, NULL, 0);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A); /* option running past RDATA */
    uint8_t bad_opt[] = { 0, 10, 0, 8, 1, 2 };
    add_opt(&p, 1232, 0, false, bad_opt, sizeof bad_opt);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_OPT); /* meta type as question */
    expect_rcode(&p, DNS_RCODE_FORMERR);

    /* Opcodes other than QUERY; with EDNS the reply has an OPT too. */
    mkq(&p, "pool.example.org", DNS_T_A);
    p.b[2] = (uint8_t)(2 << 3); /* STATUS */
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_NOTIMP);
    assert_int_equal(r.opcode, 2);
    assert_int_equal(r.qd, 0);
    assert_false(r.opt);
    mkq(&p, "pool.example.org", DNS_T_SOA);
    p.b[2] = (uint8_t)(5 << 3); /* UPDATE */
    add_opt(&p, 1232, 0, false, NULL, 0);
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_NOTIMP);
    assert_true(r.opt);
    /* FORMERR for a broken question section has no OPT to echo. */
    mkq(&p, "pool.example.org", DNS_T_A);
    wire_put16(p.b + 4, 2);
    add_opt(&p, 1232, 0, false, NULL, 0);
    r = expect_rcode(&p, DNS_RCODE_FORMERR);
    assert_int_equal(r.qd, 0);
    /* Two questions, both well formed: FORMERR, with OPT, no question. */
    q_header(&p, 1, 0, 2);
    q_name(&p, "pool.example.org");
    q_u16(&p, DNS_T_A);
    q_u16(&p, DNS_C_IN);
    q_name(&p, "pool.example.org");
    q_u16(&p, DNS_T_A);
    q_u16(&p, DNS_C_IN);
    add_opt(&p, 1232, 0, false, NULL, 0);
    r = expect_rcode(&p, DNS_RCODE_FORMERR);
    assert_int_equal(r.qd, 0);
    assert_true(r.opt);
}

/* A label may hold zero bytes.  The parser's shortcut takes the first
 * zero byte for the end of the name (dnsd/query.c: parse_qname_scan) and
 * must find out when it is not: then the labels decide, as in the general
 * parser.  Each of these names starts with such a label, under the zone:
 * NXDOMAIN, with the whole question and the OPT record echoed. */
/* The shortcut's name scan against the name index's own hash: random
 * names of every length, mixed case, any byte but zero in labels, and
 * garbage after them, must come out lower-cased, zero-padded to whole
 * words and hashed as zones_name_hash() hashes the same name.  (A slip
 * here shows in no answer: a name the index misses goes to the
 * classifier, which answers the same, only slower.) */
static void test_qname_scan(void **state)
{
    (void)state;
    rng_t r;
    rng_seed(&r, 77);
    static uint8_t msg[DNS_HDR_LEN + 256 + 64];
    unsigned hit_lengths = 0;
    for (unsigned iter = 0; iter < 20000; iter++) {
        for (size_t i = 0; i < sizeof msg; i++)
            msg[i] = (uint8_t)(1 + rng_below(&r, 255)); /* garbage, no zero */
        unsigned target = 1 + (unsigned)rng_below(&r, 254), n = 0;
        uint8_t *name = msg + DNS_HDR_LEN, want[264] = { 0 };
        while (n + 1 < target) {
            unsigned l = 1 + (unsigned)rng_below(&r, 63);
            if (n + 1 + l + 1 > target)
                l = target - n - 2;
            if (!l)
                break;
            name[n++] = (uint8_t)l;
            for (unsigned j = 0; j < l; j++) {
                unsigned k = (unsigned)rng_below(&r, 4);
                uint8_t c = k == 0 ? (uint8_t)('A' + rng_below(&r, 26))
                          : k == 1 ? (uint8_t)('a' + rng_below(&r, 26))
                          : k == 2 ? (uint8_t)"09-_@[`{"[rng_below(&r, 8)]
                                   : (uint8_t)(1 + rng_below(&r, 255));
                name[n++] = c;
            }
        }
        name[n++] = 0;
        for (unsigned i = 0; i < n; i++)
            want[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (uint8_t)(name[i] | 0x20) : name[i];
        uint8_t got[264];
        unsigned got_len = 0;
        uint64_t hash = 0;
        memset(got, 0xee, sizeof got);
        assert_true(dnsd_qname_scan(msg, DNS_HDR_LEN + n + 4, sizeof msg, got, &got_len, &hash));
        assert_int_equal(got_len, n);
        assert_memory_equal(got, want, (n + 7) / 8 * 8);
        assert_true(hash == zones_name_hash(want, n));
        hit_lengths |= 1u << (n % 16);
    }
    assert_int_equal(hit_lengths, 0xffff); /* every length mod 16 was met */
}

static void test_zero_byte_labels(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        size_t len;
        const char *rest;
    } cases[] = {
        { "a\0b", 3, "pool.example.org" },        /* the shortcut's type and class: "b\4", "po" */
        { "a\0\0)", 4, "pool.example.org" },     /* its type: OPT, a FORMERR as a question */
        { "\0", 1, "0.pool.example.org" },
        { "abcdef\0", 7, "pool.example.org" },   /* the zero ends the first word */
        { "abcdefg\0", 8, "pool.example.org" },  /* the zero starts the second */
        { "0\0", 2, "de.pool.example.org" },
    };
    pkt_t p;
    resp_t r;
    uint8_t o[64];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        for (int with_ecs = 0; with_ecs < 2; with_ecs++) {
            mkq_label(&p, (const uint8_t *)cases[i].label, cases[i].len, cases[i].rest, DNS_T_A);
            size_t qlen = p.len;
            if (with_ecs)
                add_opt(&p, 1232, 0, false, o, ecs_opt(o, "81.2.69.0", 24));
            pkt_t q = p;
            run(&p, &r, false, NULL);
            check_nxdomain(&r);
            assert_int_equal(r.qd, 1);
            assert_memory_equal(p.b + DNS_HDR_LEN, q.b + DNS_HDR_LEN, qlen - DNS_HDR_LEN);
            assert_int_equal(r.opt, with_ecs);
            assert_int_equal(r.ecs, with_ecs);
        }
    }
    /* Labels that do not add up, yet end at a zero byte: the first label
     * says 3 bytes for "pool", the second then starts at 'l'. */
    mkq(&p, "pool.example.org", DNS_T_A);
    p.b[DNS_HDR_LEN] = 3;
    add_opt(&p, 1232, 0, false, NULL, 0);
    r = expect_rcode(&p, DNS_RCODE_FORMERR);
    assert_int_equal(r.qd, 0);
    assert_false(r.opt);
    /* A zero byte in a label of the longest name. */
    q_header(&p, 1, 0, 1);
    for (int i = 0; i < 4; i++) {
        unsigned l = i < 3 ? 63 : 61;
        p.b[p.len++] = (uint8_t)l;
        memset(p.b + p.len, 'a' + i, l);
        p.b[p.len + 5] = 0;
        p.len += l;
    }
    p.b[p.len++] = 0;
    q_u16(&p, 1);
    q_u16(&p, 1);
    r = expect_rcode(&p, DNS_RCODE_REFUSED);
    assert_int_equal(r.qd, 1);
}

static void test_edns(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    mkq(&p, "pool.example.org", DNS_T_A);
    uint8_t unknown[] = { 0xfd, 0xe9, 0, 2, 0xab, 0xcd };
    add_opt(&p, 4096, 0, true, unknown, sizeof unknown);
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
    assert_int_equal(r.an, 4);
    assert_int_equal(r.ar, 1);
    assert_true(r.opt);
    assert_int_equal(r.opt_payload, DNSD_UDP_MAX);
    assert_true(r.opt_do);
    assert_false(r.ecs);
    mkq(&p, "pool.example.org", DNS_T_A); /* version 1: BADVERS */
    add_opt(&p, 1232, 1, false, NULL, 0);
    run(&p, &r, false, NULL);
    assert_int_equal(r.rcode, 0);
    assert_int_equal(r.ext_rcode, 1); /* 16 >> 4 */
    assert_int_equal(r.opt_version, 0);
    assert_int_equal(r.an, 0);
    assert_int_equal(r.qd, 1);
}

static void test_truncation(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    /* 8 x ~83-byte TXT records: ~700 bytes > 512. */
    mkq(&p, "big.pool.example.org", DNS_T_TXT);
    run(&p, &r, false, NULL);
    assert_true(r.tc);
    assert_int_equal(r.an, 0);
    assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
    assert_true(r.len <= 512);
    mkq(&p, "big.pool.example.org", DNS_T_TXT);
    add_opt(&p, 1232, 0, false, NULL, 0);
    run(&p, &r, false, NULL);
    assert_false(r.tc);
    assert_int_equal(r.an, 8);
    mkq(&p, "big.pool.example.org", DNS_T_TXT); /* payload < 512 counts as 512 */
    add_opt(&p, 100, 0, false, NULL, 0);
    run(&p, &r, false, NULL);
    assert_true(r.tc);
    assert_true(r.opt); /* OPT still present when truncated */
    mkq(&p, "big.pool.example.org", DNS_T_TXT);
    run(&p, &r, true, NULL); /* TCP: no limit but 64 KiB */
    assert_false(r.tc);
    assert_int_equal(r.an, 8);
}

static void test_ecs(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    uint8_t o[32];
    mkq(&p, "pool.example.org", DNS_T_A);
    add_opt(&p, 1232, 0, false, o, ecs_opt(o, "175.16.199.0", 24));
    run(&p, &r, false, NULL);
    const char *cn[] = { "192.0.2.1", "192.0.2.2", NULL };
    assert_int_equal(r.an, 2);
    assert_true(addr_in(&r, 0, cn) && addr_in(&r, 1, cn));
    assert_true(r.ecs);
    assert_int_equal(r.ecs_source, 24);
    assert_int_equal(r.ecs_scope, 24);
    /* A /32 subnet is used as its /24 (RFC 7871 11.1); the source prefix is
     * echoed as sent. */
    mkq(&p, "1.pool.example.org", DNS_T_A);
    add_opt(&p, 1232, 0, false, o, ecs_opt(o, "175.16.199.77", 32));
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 2);
    assert_int_equal(r.ecs_source, 32);
    assert_int_equal(r.ecs_scope, 24);
    /* The same address with a shorter prefix is another question:
     * 175.0.0.0/8 holds several countries, so the answer is not CN's. */
    for (int rep = 0; rep < 2; rep++) {
        mkq(&p, "pool.example.org", DNS_T_A);
        add_opt(&p, 1232, 0, false, o, ecs_opt(o, "175.0.0.0", 8));
        run(&p, &r, false, NULL);
        assert_int_equal(r.ecs_scope, 8);
        assert_false(addr_in(&r, 0, cn) && r.an == 2);
        mkq(&p, "pool.example.org", DNS_T_A);
        add_opt(&p, 1232, 0, false, o, ecs_opt(o, "175.16.199.0", 24));
        run(&p, &r, false, NULL);
        assert_int_equal(r.an, 2);
        assert_int_equal(r.ecs_scope, 24);
    }
    /* The packet source is used without ECS: 202.196.224.0/20 is PH (asia). */
    struct sockaddr_in ph = client4;
    inet_pton(AF_INET, "202.196.230.1", &ph.sin_addr);
    mkq(&p, "pool.example.org", DNS_T_A);
    run(&p, &r, false, (const struct sockaddr *)&ph);
    assert_int_equal(r.an, 2);
    assert_true(addr_in(&r, 0, cn) && addr_in(&r, 1, cn));
    assert_false(r.ecs);
    /* Explicit zone: the answer does not depend on the address: scope 0. */
    mkq(&p, "de.pool.example.org", DNS_T_A);
    add_opt(&p, 1232, 0, false, o, ecs_opt(o, "175.16.199.0", 24));
    run(&p, &r, false, NULL);
    assert_true(r.ecs);
    assert_int_equal(r.ecs_scope, 0);
    /* Source prefix 0: nothing to locate: world. */
    mkq(&p, "1.pool.example.org", DNS_T_A);
    add_opt(&p, 1232, 0, false, o, ecs_opt(o, "81.2.69.0", 0));
    run(&p, &r, false, NULL);
    assert_int_equal(r.ecs_scope, 0);
    /* Malformed: address longer than the prefix needs.  The reply still
     * carries an OPT (RFC 6891 7), without the bad option. */
    mkq(&p, "pool.example.org", DNS_T_A);
    size_t l = ecs_opt(o, "81.2.69.0", 24);
    o[6] = 16;
    add_opt(&p, 1232, 0, false, o, l);
    r = expect_rcode(&p, DNS_RCODE_FORMERR);
    assert_true(r.opt);
    assert_false(r.ecs);
    assert_int_equal(r.qd, 1);
    /* Malformed: bits set beyond the prefix. */
    mkq(&p, "pool.example.org", DNS_T_A);
    l = ecs_opt(o, "81.2.69.0", 20);
    o[10] |= 0x01;
    add_opt(&p, 1232, 0, false, o, l);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    /* Malformed: scope set in a query, bad family, prefix too long. */
    mkq(&p, "pool.example.org", DNS_T_A);
    l = ecs_opt(o, "81.2.69.0", 24);
    o[7] = 8;
    add_opt(&p, 1232, 0, false, o, l);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A);
    l = ecs_opt(o, "81.2.69.0", 24);
    o[5] = 3;
    add_opt(&p, 1232, 0, false, o, l);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    mkq(&p, "pool.example.org", DNS_T_A);
    l = ecs_opt(o, "81.2.69.0", 24);
    o[6] = 33;
    add_opt(&p, 1232, 0, false, o, l);
    expect_rcode(&p, DNS_RCODE_FORMERR);
    /* IPv6 client subnet: 2a02:cf40::/29 is NO: no servers, so europe. */
    mkq(&p, "2.pool.example.org", DNS_T_AAAA);
    add_opt(&p, 1232, 0, false, o, ecs_opt(o, "2a02:cf40::", 56));
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 1);
    assert_true(addr_is(&r, 0, "2001:db8::3"));
    assert_true(r.ecs);
    assert_int_equal(r.ecs_source, 56);
    assert_int_equal(r.ecs_scope, 29);
}

/* The Client Subnet option comes back as it was sent, but for the scope
 * (RFC 7871 7.2.1): family, source prefix, and exactly the address bytes
 * the prefix needs, for every length of address. */
static void test_ecs_echo(void **state)
{
    (void)state;
    static const struct {
        const char *addr;
        unsigned source;
    } cases[] = {
        { "81.2.69.0", 0 },      { "81.0.0.0", 7 },        { "81.2.0.0", 16 },
        { "81.2.64.0", 20 },     { "81.2.69.0", 24 },      { "81.2.69.160", 27 },
        { "81.2.69.161", 32 },   { "2a02:cf40::", 29 },    { "2a02:cf40:1200::", 40 },
        { "2a02:cf40:1234:5600::", 56 }, { "2a02:cf40:1234:5678::", 64 },
        { "2a02:cf40:1234:5678:9abc::", 88 }, { "2a02:cf40:1234:5678:9abc:def0:1:2", 128 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pkt_t p;
        resp_t r;
        uint8_t o[32];
        mkq(&p, "pool.example.org", strchr(cases[i].addr, ':') ? DNS_T_AAAA : DNS_T_A);
        size_t l = ecs_opt(o, cases[i].addr, cases[i].source);
        add_opt(&p, 1232, 0, false, o, l);
        run(&p, &r, false, NULL);
        assert_int_equal(r.rcode, DNS_RCODE_NOERROR);
        assert_true(r.ecs);
        assert_int_equal(r.ecs_rawlen, l);
        assert_memory_equal(r.ecs_raw, o, 7);
        assert_memory_equal(r.ecs_raw + 8, o + 8, l - 8);
        assert_true(r.ecs_scope <= (cases[i].source ? 128 : 0));
    }
}

static void test_country_txt(void **state)
{
    (void)state;
    pkt_t p;
    resp_t r;
    uint8_t o[32];
    mkq(&p, "_country.pool.example.org", DNS_T_TXT);
    add_opt(&p, 1232, 0, false, o, ecs_opt(o, "2a02:cf40::", 48));
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 1);
    assert_int_equal(r.types[0], DNS_T_TXT);
    if (!memmem(p.b, r.len, "client 2a02:cf40::/48 (edns-client-subnet) country no continent europe zone europe scope /29", 90))
        fail_msg("TXT was: %.*s", (int)(r.len - 60), p.b + 60);
    assert_int_equal(r.ecs_scope, 29);
    mkq(&p, "_country.pool.example.org", DNS_T_A);
    run(&p, &r, false, NULL);
    assert_int_equal(r.an, 0);
    assert_int_equal(r.ns, 1);
}

/* A mixed set of messages: every kind of name, type, EDNS and Client
 * Subnet shape, and some that are malformed or dropped. */
static unsigned mixed_queries(pkt_t *q, unsigned max)
{
    static const char *names[] = { "pool.example.org", "2.pool.example.org", "3.pool.example.org",
                                   "gb.pool.example.org", "1.cn.pool.example.org",
                                   "debian.pool.example.org", "0.debian.pool.example.org",
                                   "europe.pool.example.org", "x.pool.example.org",
                                   "www.pool.example.org", "_country.pool.example.org",
                                   "example.net", "POOL.Example.ORG" };
    static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_A, DNS_T_AAAA, DNS_T_TXT,
                                      DNS_T_ANY, DNS_T_SOA, DNS_T_AXFR };
    static const struct { const char *addr; unsigned source; } ecs[] = {
        { "175.16.199.0", 24 }, { "175.16.199.77", 32 }, { "175.0.0.0", 8 }, { "81.2.69.0", 24 },
        { "2001:218::", 32 }, { "2a02:cf40::", 48 }, { "::ffff:175.16.199.0", 120 }, { "0.0.0.0", 0 },
        { "10.0.0.0", 8 },
    };
    unsigned n = 0;
    uint8_t o[64];
    for (unsigned i = 0; n < max && i < ARRAY_LEN(names) * ARRAY_LEN(types); i++) {
        mkq(&q[n], names[i % ARRAY_LEN(names)], types[(i / ARRAY_LEN(names) + i) % ARRAY_LEN(types)]);
        if (i % 3 == 1)
            add_opt(&q[n], 1232, 0, i & 4, NULL, 0);
        else if (i % 3 == 2) {
            unsigned e = i / 3 % ARRAY_LEN(ecs);
            add_opt(&q[n], 4096, 0, false, o, ecs_opt(o, ecs[e].addr, ecs[e].source));
        }
        n++;
    }
    if (n + 3 <= max) {
        /* A response (dropped), a bare header (FORMERR), EDNS version 1. */
        mkq(&q[n], "pool.example.org", DNS_T_A);
        q[n++].b[2] |= DNS_F_QR;
        q_header(&q[n++], 7, 0, 0);
        mkq(&q[n], "pool.example.org", DNS_T_A);
        add_opt(&q[n++], 1232, 1, false, NULL, 0);
    }
    if (n + 3 <= max) {
        /* Zero bytes in a label (NXDOMAIN), and a first label one byte
         * longer than its length says (FORMERR). */
        mkq_label(&q[n], (const uint8_t *)"a\0b", 3, "pool.example.org", DNS_T_A);
        add_opt(&q[n], 4096, 0, false, o, ecs_opt(o, "81.2.69.0", 24));
        n++;
        mkq_label(&q[n++], (const uint8_t *)"\0", 1, "2.pool.example.org", DNS_T_AAAA);
        mkq(&q[n], "pool.example.org", DNS_T_A);
        q[n].b[DNS_HDR_LEN] = 3;
        add_opt(&q[n++], 1232, 0, false, NULL, 0);
    }
    return n;
}

/* dnsd_query_batch() answers exactly as dnsd_query() one by one: the same
 * bytes, in batches of every size (also past its own batch size), from
 * IPv4 and IPv6 clients, and the same counters. */
static void test_batch_matches_single(void **state)
{
    (void)state;
    static pkt_t q[128], a[100], b[100];
    unsigned nq = mixed_queries(q, ARRAY_LEN(q));
    assert_true(nq > 90);
    struct sockaddr_in6 client6 = { .sin6_family = AF_INET6, .sin6_port = htons(40000) };
    inet_pton(AF_INET6, "2001:218::1", &client6.sin6_addr);
    dnsd_qctx_t *c1 = dnsd_qctx_new(srv, 99), *c2 = dnsd_qctx_new(srv, 99);
    rng_t r;
    rng_seed(&r, 5);
    dnsd_qmsg_t m[100];
    unsigned answered = 0;
    for (unsigned round = 0; round < 300; round++) {
        unsigned n = 1 + (unsigned)rng_below(&r, ARRAY_LEN(m));
        const struct sockaddr *from = round & 1 ? (const struct sockaddr *)&client6
                                                : (const struct sockaddr *)&client4;
        for (unsigned i = 0; i < n; i++) {
            unsigned k = (unsigned)rng_below(&r, nq);
            a[i] = b[i] = q[k];
            m[i] = (dnsd_qmsg_t){ .client = from, .buf = a[i].b, .len = a[i].len, .cap = DNSD_UDP_BUF };
        }
        rcu_read_lock();
        dnsd_query_batch(c1, m, n);
        for (unsigned i = 0; i < n; i++) {
            size_t len = dnsd_query(c2, from, b[i].b, b[i].len, DNSD_UDP_BUF, false);
            assert_int_equal(m[i].out, len);
            assert_memory_equal(a[i].b, b[i].b, len);
            answered += len > 0;
        }
        rcu_read_unlock();
    }
    assert_true(answered > 10000);
    assert_memory_equal(dnsd_qctx_stats(c1), dnsd_qctx_stats(c2), sizeof(dnsd_qstats_t));
    assert_true(dnsd_qctx_stats(c1)->ecs > 1000 && dnsd_qctx_stats(c1)->dropped > 0);
    dnsd_qctx_free(c1);
    dnsd_qctx_free(c2);
}

/* The parser's shortcut for the usual shapes (dnsd/query.c:
 * parse_simple) answers exactly as the general parser: the same bytes and
 * counters for the mixed set and for 200,000 mutations of it (bytes
 * changed, mostly in the header and the OPT record, cut short, or with
 * bytes added). */
static void test_fast_parse_matches_general(void **state)
{
    (void)state;
    static pkt_t q[128];
    unsigned nq = mixed_queries(q, ARRAY_LEN(q));
    dnsd_qctx_t *c1 = dnsd_qctx_new(srv, 7), *c2 = dnsd_qctx_new(srv, 7);
    dnsd_qctx_general_parse(c2, true);
    rng_t r;
    rng_seed(&r, 11);
    unsigned mutated = 0;
    for (unsigned round = 0; round < 200000; round++) {
        static uint8_t a[DNSD_UDP_BUF], b[DNSD_UDP_BUF];
        const pkt_t *p = &q[rng_below(&r, nq)];
        size_t len = p->len;
        memcpy(a, p->b, len);
        unsigned how = (unsigned)rng_below(&r, 8);
        if (how < 5) {
            /* 1 to 3 bytes changed: a count, a flag, a length, an option. */
            for (unsigned k = 0, nk = 1 + (unsigned)rng_below(&r, 3); k < nk; k++) {
                size_t at = rng_below(&r, 2) ? rng_below(&r, 12) : rng_below(&r, len);
                if (rng_below(&r, 2) && len > 30)
                    at = len - 1 - rng_below(&r, 30); /* the OPT record, if any */
                a[at] = rng_below(&r, 2) ? (uint8_t)rng_below(&r, 256) : (uint8_t)(a[at] ^ 1);
            }
        } else if (how == 5) {
            len = rng_below(&r, len + 1);
        } else if (how == 6 && len + 8 <= sizeof a) {
            for (unsigned k = 0; k < 8; k++)
                a[len++] = (uint8_t)rng_below(&r, 256);
        }
        memcpy(b, a, sizeof a); /* past len too: the parser reads whole words */
        rcu_read_lock();
        size_t la = dnsd_query(c1, (const struct sockaddr *)&client4, a, len, DNSD_UDP_BUF, false);
        size_t lb = dnsd_query(c2, (const struct sockaddr *)&client4, b, len, DNSD_UDP_BUF, false);
        rcu_read_unlock();
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, la);
        mutated += how < 7;
    }
    assert_memory_equal(dnsd_qctx_stats(c1), dnsd_qctx_stats(c2), sizeof(dnsd_qstats_t));
    const dnsd_qstats_t *st = dnsd_qctx_stats(c1);
    /* The mutations reach every outcome. */
    assert_true(st->noerror > 10000 && st->formerr > 1000 && st->badvers > 100 && st->notimp > 100 &&
                st->ecs > 10000 && st->dropped > 1000 && mutated > 150000);
    dnsd_qctx_free(c1);
    dnsd_qctx_free(c2);
}

static void test_no_allocation(void **state)
{
    (void)state;
    alloc_counting_init();
    static const char *names[] = { "pool.example.org", "2.pool.example.org", "gb.pool.example.org",
                                   "x.pool.example.org", "www.pool.example.org", "_country.pool.example.org" };
    /* (the TXT answer uses snprintf and inet_ntop: they must not allocate either) */
    static pkt_t q[12];
    uint8_t o[32];
    for (unsigned i = 0; i < 12; i++) {
        mkq(&q[i], names[i % 6], i & 1 ? DNS_T_AAAA : DNS_T_A);
        if (i >= 6)
            add_opt(&q[i], 1232, 0, false, o, ecs_opt(o, "175.16.199.0", 24));
    }
    static pkt_t work;
    unsigned long before = alloc_count;
    rcu_read_lock();
    for (unsigned i = 0; i < 10000; i++) {
        work = q[i % 12];
        dnsd_query(ctx, (const struct sockaddr *)&client4, work.b, work.len, DNSD_UDP_BUF, false);
    }
    static pkt_t mixed[128];
    unsigned nmixed = mixed_queries(mixed, ARRAY_LEN(mixed));
    dnsd_qmsg_t m[40];
    for (unsigned i = 0; i < 2000; i++) {
        static pkt_t w[40];
        for (unsigned j = 0; j < 40; j++) {
            w[j] = mixed[(i + j * 7) % nmixed];
            m[j] = (dnsd_qmsg_t){ .client = (const struct sockaddr *)&client4, .buf = w[j].b,
                                  .len = w[j].len, .cap = DNSD_UDP_BUF };
        }
        dnsd_query_batch(ctx, m, 40);
    }
    rcu_read_unlock();
    assert_int_equal(alloc_count, before);
    /* Control: the counter does see the library's allocations. */
    dnsd_qctx_free(dnsd_qctx_new(srv, 1));
    assert_int_equal(alloc_count, before + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_a),
        cmocka_unit_test(test_aaaa_rules),
        cmocka_unit_test(test_explicit_zones),
        cmocka_unit_test(test_zone_data),
        cmocka_unit_test(test_negative),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_qname_scan),
        cmocka_unit_test(test_zero_byte_labels),
        cmocka_unit_test(test_edns),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_ecs),
        cmocka_unit_test(test_ecs_echo),
        cmocka_unit_test(test_country_txt),
        cmocka_unit_test(test_batch_matches_single),
        cmocka_unit_test(test_fast_parse_matches_general),
        cmocka_unit_test(test_no_allocation),
    };
    return cmocka_run_group_tests_name("query", tests, setup, teardown);
}
