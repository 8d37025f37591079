/* conf.h -- the config file (dnsd.conf) as an immutable struct.
 *
 * One directive a line, '#' starts a comment.  Every problem is reported as
 * "file:line: what is wrong" into the caller's errs_t, and parsing goes on so
 * the operator sees all of them at once.  Unknown directives are errors.
 * Relative paths are resolved against the config file's folder. */
#ifndef POOLDNS_CONF_H
#define POOLDNS_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dnsd/base/errs.h"
#include "weights/snapshot.h"

/* Subzones and answers are bounded by what a snapshot's tables hold. */
#define CONF_MAX_SUBZONES WSNAP_MAX_SUBZONES
#define CONF_MAX_ANSWERS WSNAP_MAX_ANSWERS
#define CONF_MAX_THREADS 256

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char text[64];          /* as written, for messages */
    unsigned line;
} conf_listen_t;

typedef struct {
    uint8_t apex[256];      /* lower-case wire name */
    unsigned apex_len;
    char *name;             /* presentation, no trailing dot, lower case */
    char *file;             /* resolved path of the zone file */
    unsigned line;
} conf_zone_t;

typedef struct {
    char *path;             /* the config file as given */
    conf_listen_t *listens;
    unsigned nlistens;
    conf_zone_t *zones;
    unsigned nzones;
    char *snapshot;         /* resolved path */
    uint32_t ttl;           /* TTL of pool answers */
    unsigned max_answers;   /* addresses per answer */
    double min_score;       /* eligible when score > min_score */
    unsigned subzones;      /* numbered subzones 0..subzones-1 */
    uint32_t aaaa_mask;     /* bit n set: subzone n answers AAAA */
    char **vendors;         /* vendor labels, lower case */
    unsigned nvendors;
    char *geoip;            /* resolved path, or NULL: every client is "@" */
    unsigned min_servers;   /* fewer eligible servers: try the next level */
    bool ecs;               /* use EDNS Client Subnet */
    unsigned threads;       /* worker threads */
    unsigned tcp_timeout;   /* seconds a TCP connection may stay idle */
    unsigned tcp_clients;   /* TCP connections per worker */
} dnsd_conf_t;

/* Parse path.  Returns NULL and fills errs when anything is wrong. */
dnsd_conf_t *conf_load(const char *path, errs_t *errs);
void conf_free(dnsd_conf_t *c);

/* Parse "ADDR:PORT", "[ADDR6]:PORT", or an address alone (port 53) into out.
 * Returns false on a malformed address. */
bool conf_parse_listen(const char *text, struct sockaddr_storage *out, socklen_t *len);

/* Turn a presentation domain name ("pool.example.org" or with a trailing
 * dot) into a lower-case wire name.  Returns the wire length, 0 if invalid. */
unsigned conf_name_to_wire(const char *name, uint8_t out[256]);

#endif
