/* test_net.c -- listening sockets: one UDP and one TCP socket per worker and
 * listen address, with the UDP options the answers rely on. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dnsd/conf.h"
#include "dnsd/net.h"

static bool have_ipv6_loopback(void)
{
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Open 2 workers x (127.0.0.1 and, if usable, ::1) on a free port. */
static net_sock_t *open_some(dnsd_conf_t **cp, unsigned *n)
{
    bool v6 = have_ipv6_loopback();
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int attempt = 0; attempt < 20; attempt++) {
        unsigned port = 20000 + (unsigned)rand() % 40000;
        char body[256];
        if (v6)
            snprintf(body, sizeof body,
                     "listen 127.0.0.1:%u\nlisten [::1]:%u\nzone pool.example.org z\nsnapshot s\n", port, port);
        else
            snprintf(body, sizeof body, "listen 127.0.0.1:%u\nzone pool.example.org z\nsnapshot s\n", port);
        errs_t e = ERRS_INIT;
        dnsd_conf_t *c = conf_load(tu_write("net.conf", body), &e);
        assert_non_null(c);
        net_sock_t *s = net_open(c, 2, &e);
        errs_clear(&e);
        if (s) {
            *cp = c;
            *n = 2 * c->nlistens;
            return s;
        }
        conf_free(c);       /* the port was taken: another one */
    }
    fail_msg("no free port for the test");
    return NULL;
}

static int sockopt_int(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    assert_int_equal(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

/* Responses leave with Don't Fragment and ignore forged path MTU values:
 * IP_PMTUDISC_PROBE (IPV6_PMTUDISC_PROBE), not the kernel's default. */
static void test_udp_dont_fragment(void **state)
{
    (void)state;
    dnsd_conf_t *c;
    unsigned n;
    net_sock_t *s = open_some(&c, &n);
    for (unsigned i = 0; i < n; i++) {
        assert_true(s[i].udp >= 0 && s[i].tcp >= 0);
        if (s[i].family == AF_INET)
            assert_int_equal(sockopt_int(s[i].udp, IPPROTO_IP, IP_MTU_DISCOVER), IP_PMTUDISC_PROBE);
        else
            assert_int_equal(sockopt_int(s[i].udp, IPPROTO_IPV6, IPV6_MTU_DISCOVER), IPV6_PMTUDISC_PROBE);
        assert_int_equal(sockopt_int(s[i].udp, SOL_SOCKET, SO_REUSEPORT), 1);
    }
    /* Control: a socket of our own has the kernel's default. */
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(sockopt_int(fd, IPPROTO_IP, IP_MTU_DISCOVER) != IP_PMTUDISC_PROBE);
    close(fd);
    net_close(s, n);
    conf_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_dont_fragment),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tu_cleanup();
    return rc;
}
