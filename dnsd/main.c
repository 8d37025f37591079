/* main.c -- dnsd: command line, start-up order, signals, shutdown.
 *
 *   dnsd -c FILE       serve in the foreground, log to stderr
 *   dnsd -c FILE -t    check config, zone files, geo database and snapshot
 *
 * Start-up: config, zones, geo database and first snapshot (server.c), then
 * sockets (net.c), then workers (worker.c), then the "ready" line.  The main
 * thread then only runs a libevent loop for signals: SIGHUP reloads the
 * snapshot (on this thread; workers keep answering from the old one until
 * the new one is published), SIGTERM and SIGINT stop. */
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <urcu.h>

#include "dnsd/base/log.h"
#include "dnsd/dataset.h"
#include "dnsd/net.h"
#include "dnsd/server.h"
#include "dnsd/worker.h"

typedef struct {
    dnsd_server_t *srv;
    struct event_base *base;
    unsigned reloads;
} main_state_t;

static void usage(FILE *f)
{
    fprintf(f, "usage: dnsd -c CONFIG [-t]\n"
               "  -c CONFIG  configuration file (see README.md)\n"
               "  -t         check the configuration, zone files, geo database and snapshot, then exit\n"
               "  -d         debug logging\n"
               "  -h         this help\n");
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    main_state_t *m = arg;
    errs_t errs = ERRS_INIT;
    (void)sig;
    (void)what;
    /* Several SIGHUPs that arrive while a reload runs are delivered here as
     * one callback, so a storm costs a few reloads, not one per signal. */
    m->reloads++;
    dnsd_server_reload(m->srv, &errs);
    errs_clear(&errs);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    main_state_t *m = arg;
    (void)what;
    log_info("signal %d: stopping", (int)sig);
    event_base_loopbreak(m->base);
}

int main(int argc, char **argv)
{
    const char *conf_path = NULL;
    bool check = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:tdh")) != -1) {
        switch (opt) {
        case 'c': conf_path = optarg; break;
        case 't': check = true; break;
        case 'd': log_set_level(LOG_LVL_DEBUG); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!conf_path || optind != argc) {
        usage(stderr);
        return 2;
    }

    /* In check mode only problems are worth printing, not the load log. */
    if (check)
        log_set_level(LOG_LVL_WARN);
    errs_t errs = ERRS_INIT;
    dnsd_server_t *srv = dnsd_server_load(conf_path, &errs);
    if (!srv) {
        errs_print(&errs, stderr, "");
        fprintf(stderr, "dnsd: %zu error%s, %s\n", errs.n, errs.n == 1 ? "" : "s",
                check ? "check failed" : "not started");
        errs_clear(&errs);
        return 1;
    }
    if (check) {
        printf("%s: configuration, zones, geo database and snapshot are OK\n", conf_path);
        dnsd_server_free(srv);
        return 0;
    }

    unsigned nworkers = srv->conf->threads;
    net_sock_t *socks = net_open(srv->conf, nworkers, &errs);
    dnsd_workers_t *workers = socks ? dnsd_workers_start(srv, socks, nworkers, &errs) : NULL;
    if (!workers) {
        errs_print(&errs, stderr, "");
        fprintf(stderr, "dnsd: not started\n");
        errs_clear(&errs);
        dnsd_server_free(srv);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    main_state_t m = { .srv = srv };
    m.base = event_base_new();
    struct event *hup = evsignal_new(m.base, SIGHUP, on_hup, &m);
    struct event *term = evsignal_new(m.base, SIGTERM, on_stop, &m);
    struct event *intr = evsignal_new(m.base, SIGINT, on_stop, &m);
    event_add(hup, NULL);
    event_add(term, NULL);
    event_add(intr, NULL);

    char where[512] = "";
    size_t o = 0;
    for (unsigned i = 0; i < srv->conf->nlistens && o < sizeof where; i++)
        o += (size_t)snprintf(where + o, sizeof where - o, "%s%s", i ? " " : "", srv->conf->listens[i].text);
    log_info("ready: %u zone%s on %s (UDP+TCP), %u worker thread%s", srv->conf->nzones,
             srv->conf->nzones == 1 ? "" : "s", where, nworkers, nworkers == 1 ? "" : "s");

    event_base_dispatch(m.base);

    dnsd_workers_stop(workers);
    event_free(hup);
    event_free(term);
    event_free(intr);
    event_base_free(m.base);
    dnsd_server_free(srv);
    libevent_global_shutdown();
    log_info("stopped after %u reload%s", m.reloads, m.reloads == 1 ? "" : "s");
    return 0;
}
