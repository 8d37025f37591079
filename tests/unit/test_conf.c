/* test_conf.c -- config file parsing: defaults, every directive, every error. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "dnsd/conf.h"

static const char *good =
    "# comment\n"
    "listen 127.0.0.1:5353   # trailing comment\n"
    "listen [::1]:5353\n"
    "zone Pool.Example.ORG. pool.zone\n"
    "zone pool.example.net /abs/path.zone\n"
    "snapshot snap.txt\n"
    "ttl 300\n"
    "max-answers 6\n"
    "min-score 12.5\n"
    "aaaa-subzones 1 2 3\n"
    "vendor debian android\n"
    "vendor centos\n"
    "geoip geo/x.mmdb\n"
    "min-servers 3\n"
    "ecs no\n"
    "threads 3\n"
    "tcp-timeout 5\n"
    "tcp-clients 10\n";

static void test_good(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    char *path = tu_write("good.conf", good);
    dnsd_conf_t *c = conf_load(path, &e);
    assert_non_null(c);
    assert_int_equal(e.n, 0);
    assert_int_equal(c->nlistens, 2);
    assert_int_equal(c->listens[0].addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&c->listens[0].addr)->sin_port), 5353);
    assert_int_equal(c->listens[1].addr.ss_family, AF_INET6);
    assert_int_equal(c->listens[1].line, 3);
    assert_int_equal(c->nzones, 2);
    assert_string_equal(c->zones[0].name, "pool.example.org");
    assert_int_equal(c->zones[0].apex_len, 18);
    assert_memory_equal(c->zones[0].apex, "\x04pool\x07" "example\x03org", 18);
    /* relative paths resolve against the config's folder */
    char want[512];
    snprintf(want, sizeof want, "%s/pool.zone", tu_tmpdir());
    assert_string_equal(c->zones[0].file, want);
    assert_string_equal(c->zones[1].file, "/abs/path.zone");
    snprintf(want, sizeof want, "%s/geo/x.mmdb", tu_tmpdir());
    assert_string_equal(c->geoip, want);
    assert_int_equal(c->ttl, 300);
    assert_int_equal(c->max_answers, 6);
    assert_true(c->min_score > 12.49 && c->min_score < 12.51);
    assert_int_equal(c->aaaa_mask, 0xe);
    assert_int_equal(c->nvendors, 3);
    assert_string_equal(c->vendors[2], "centos");
    assert_int_equal(c->min_servers, 3);
    assert_false(c->ecs);
    assert_int_equal(c->threads, 3);
    assert_int_equal(c->tcp_timeout, 5);
    assert_int_equal(c->tcp_clients, 10);
    conf_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    char *path = tu_write("min.conf", "listen 127.0.0.1\nzone pool.example.org z\nsnapshot s\n");
    dnsd_conf_t *c = conf_load(path, &e);
    assert_non_null(c);
    assert_int_equal(ntohs(((struct sockaddr_in *)&c->listens[0].addr)->sin_port), 53);
    assert_int_equal(c->ttl, 150);
    assert_int_equal(c->max_answers, 4);
    assert_true(c->min_score == 10);
    assert_int_equal(c->subzones, 4);
    assert_int_equal(c->aaaa_mask, 0xc);
    assert_int_equal(c->min_servers, 1);
    assert_true(c->ecs);
    assert_null(c->geoip);
    assert_true(c->threads >= 1);
    conf_free(c);
}

/* Each case: one config body and the text its error must contain, with the
 * line number. */
static const struct {
    const char *body;
    const char *want;
} bad[] = {
    { "bogus 1\n", ":1: unknown directive 'bogus'" },
    { "\n\nlisten\n", ":3: listen: wrong number of arguments" },
    { "listen 1.2.3.4:53 extra\n", ":1: listen: wrong number" },
    { "listen 300.1.1.1:53\n", ":1: listen: '300.1.1.1:53' is not an address" },
    { "listen 127.0.0.1:0\n", ":1: listen: '127.0.0.1:0'" },
    { "listen 127.0.0.1:65536\n", ":1: listen:" },
    { "listen 127.0.0.1:x\n", ":1: listen:" },
    { "listen [::1:53\n", ":1: listen:" },
    { "listen [::1]x\n", ":1: listen:" },
    { "listen 127.0.0.1:53\nlisten 127.0.0.1:53\n", ":2: listen: 127.0.0.1:53 is already listed at line 1" },
    { "zone pool..example f\n", ":1: zone: 'pool..example' is not a domain name" },
    { "zone . f\n", ":1: zone: '.' is not a domain name" },
    { "zone a.b f\nzone A.B. g\n", ":2: zone: A.B. is already configured at line 1" },
    { "zone a.b\n", ":1: zone: wrong number of arguments (usage: zone APEX ZONEFILE)" },
    { "snapshot a\nsnapshot b\n", ":2: snapshot: given twice (first at line 1)" },
    { "ttl -1\n", ":1: ttl: '-1' is not a number" },
    { "ttl 2147483648\n", ":1: ttl: 2147483648 is out of range (0 to 2147483647)" },
    { "ttl 1x\n", ":1: ttl: '1x' is not a number" },
    { "max-answers 0\n", ":1: max-answers: 0 is out of range (1 to 16)" },
    { "max-answers 17\n", ":1: max-answers: 17 is out of range" },
    { "min-score abc\n", ":1: min-score: 'abc' is not a decimal number" },
    { "min-score 1e3\n", ":1: min-score: '1e3' is not a decimal number" },
    { "min-score nan\n", ":1: min-score: 'nan'" },
    { "min-score 21\n", ":1: min-score: 21 is out of the pool's score range" },
    { "subzones 0\n", ":1: subzones: 0 is out of range (1 to 16)" },
    { "aaaa-subzones 16\n", ":1: aaaa-subzones: 16 is out of range" },
    { "aaaa-subzones 2 2\n", ":1: aaaa-subzones: 2 is listed twice" },
    { "subzones 2\naaaa-subzones 1 3\n", ":2: aaaa-subzones: subzone 3 does not exist" },
    { "vendor Debian\n", ":1: vendor: 'Debian' is not a lower-case DNS label" },
    { "vendor de\n", ":1: vendor: 'de' is already a zone name" },
    { "vendor europe\n", ":1: vendor: 'europe' is already a zone name" },
    { "vendor 7\n", ":1: vendor: '7' is a number" },
    { "vendor a\nvendor a\n", ":2: vendor: 'a' is listed twice" },
    { "vendor\n", ":1: vendor: wrong number of arguments" },
    { "geoip\n", ":1: geoip: wrong number" },
    { "min-servers 0\n", ":1: min-servers: 0 is out of range" },
    { "ecs maybe\n", ":1: ecs: 'maybe' must be yes or no" },
    { "threads 0\n", ":1: threads: 0 is out of range (1 to 256)" },
    { "threads 1000\n", ":1: threads: 1000 is out of range" },
    { "tcp-timeout 0\n", ":1: tcp-timeout: 0 is out of range" },
    { "tcp-clients 0\n", ":1: tcp-clients: 0 is out of range" },
};

static void test_bad_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        char body[512];
        errs_t e = ERRS_INIT;
        /* Whatever the case lacks is appended after it, so only the case's
         * own error (and, for lines meant to be missing, that one) shows. */
        snprintf(body, sizeof body, "%s", bad[i].body);
        if (!strstr(bad[i].body, "listen"))
            strcat(body, "listen 127.0.0.1:5353\n");
        if (!strstr(bad[i].body, "zone "))
            strcat(body, "zone pool.example.org z\n");
        if (!strstr(bad[i].body, "snapshot"))
            strcat(body, "snapshot s\n");
        char *path = tu_write("bad.conf", body);
        dnsd_conf_t *c = conf_load(path, &e);
        if (c || !tu_errs_have(&e, bad[i].want))
            fail_msg("case %zu (%s) did not give \"%s\"", i, bad[i].body, bad[i].want);
        /* Every message starts with the file name. */
        assert_true(strncmp(e.v[0].text, path, strlen(path)) == 0);
        errs_clear(&e);
    }
}

static void test_missing_required_and_all_reported(void **state)
{
    (void)state;
    errs_t e = ERRS_INIT;
    char *path = tu_write("empty.conf", "ttl x\nbogus\n");
    assert_null(conf_load(path, &e));
    assert_true(tu_errs_have(&e, ":1: ttl:"));
    assert_true(tu_errs_have(&e, ":2: unknown directive 'bogus'"));
    assert_true(tu_errs_have(&e, "no 'listen' directive"));
    assert_true(tu_errs_have(&e, "no 'zone' directive"));
    assert_true(tu_errs_have(&e, "no 'snapshot' directive"));
    assert_int_equal(e.n, 5);
    errs_clear(&e);

    assert_null(conf_load("/nonexistent/dnsd.conf", &e));
    assert_true(tu_errs_have(&e, "/nonexistent/dnsd.conf: cannot open config file"));
    errs_clear(&e);
}

static void test_listen_forms(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    assert_true(conf_parse_listen("[::]:53", &ss, &len));
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_true(conf_parse_listen("::1", &ss, &len));
    assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 53);
    assert_true(conf_parse_listen("0.0.0.0:5353", &ss, &len));
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_false(conf_parse_listen("localhost:53", &ss, &len));
    assert_false(conf_parse_listen("", &ss, &len));
    assert_false(conf_parse_listen("[fe80::1%eth0]:53", &ss, &len));
}

static void test_name_to_wire(void **state)
{
    (void)state;
    uint8_t w[256];
    assert_int_equal(conf_name_to_wire("A.b.", w), 5);
    assert_memory_equal(w, "\x01" "a\x01" "b\x00", 5);
    assert_int_equal(conf_name_to_wire(".", w), 1);
    assert_int_equal(conf_name_to_wire("a..b", w), 0);
    char big[300];
    memset(big, 'a', 64);
    big[64] = 0;
    assert_int_equal(conf_name_to_wire(big, w), 0); /* label > 63 */
    for (int i = 0; i < 150; i++) {
        big[2 * i] = 'a';
        big[2 * i + 1] = '.';
    }
    big[299] = 0;
    assert_int_equal(conf_name_to_wire(big, w), 0); /* name > 255 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_missing_required_and_all_reported),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_name_to_wire),
    };
    int rc = cmocka_run_group_tests_name("conf", tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
