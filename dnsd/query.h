/* query.h -- the hot path: one DNS message in, its answer out, same buffer.
 *
 * dnsd_query() parses the query in place, classifies the name, looks up the
 * client's area, picks servers from the current snapshot and writes the
 * response into the same buffer, after the question.  It allocates nothing,
 * takes no lock and makes no system call.  The caller must be a thread
 * registered with liburcu (rcu_register_thread) and must hold
 * rcu_read_lock() around the call (workers take it once per receive batch). */
#ifndef POOLDNS_QUERY_H
#define POOLDNS_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dnsd/base/alloc.h"
#include "dnsd/base/compiler.h"

struct dnsd_server;

/* Per-thread query context (scratch, random generator, counters); opaque. */
typedef struct dnsd_qctx dnsd_qctx_t;

/* A context for one thread; seed 0 seeds from the kernel. */
dnsd_qctx_t *dnsd_qctx_new(const struct dnsd_server *srv, uint64_t seed);
/* The same, placed in arena and freed with it (dnsd_qctx_free() leaves it
 * alone): a UDP worker's context shares huge pages with its buffers. */
dnsd_qctx_t *dnsd_qctx_new_in(const struct dnsd_server *srv, uint64_t seed, harena_t *arena);
void dnsd_qctx_free(dnsd_qctx_t *ctx);

/* Biggest response over UDP we ever send, whatever EDNS says (RFC 9715 / DNS
 * flag day 2020: 1232 avoids IP fragmentation). */
#define DNSD_UDP_MAX 1232
/* Buffer size a caller must give for UDP (a query may be this long). */
#define DNSD_UDP_BUF 4096
/* Buffer size a caller must give for TCP: the largest DNS message. */
#define DNSD_TCP_BUF 65535

/* Answer the query in buf[0..len).  cap is the size of buf (>= DNSD_UDP_BUF
 * for UDP, DNSD_TCP_BUF for TCP); all of it is scratch: bytes past the
 * response may be written too.  client is the packet's source address.
 * Returns the response length, or 0 when nothing must be sent (QR=1,
 * shorter than a header). */
size_t dnsd_query(dnsd_qctx_t *ctx, const struct sockaddr *client, uint8_t *buf, size_t len,
                  size_t cap, bool tcp) F_HOT;

/* One UDP message of a batch: the query in buf[0..len) (cap as for
 * dnsd_query()), answered in place; out is set to the response length, 0
 * to send nothing. */
typedef struct {
    const struct sockaddr *client;
    uint8_t *buf;
    size_t len, cap;
    size_t out;
} dnsd_qmsg_t;

/* dnsd_query() over n UDP messages, with the same answers; the database
 * lookups of the batch are made together, so that their cache misses
 * overlap.  Same rules as dnsd_query(): the caller holds the RCU read lock
 * for the whole call; nothing is allocated. */
void dnsd_query_batch(dnsd_qctx_t *ctx, dnsd_qmsg_t *msgs, unsigned n) F_HOT;

/* Tests only: with on, every query of ctx goes through the general parser
 * instead of the shortcut for the usual shapes; the answers must be the
 * same byte for byte. */
void dnsd_qctx_general_parse(dnsd_qctx_t *ctx, bool on);

/* Tests only: the question name of msg[0..len) (at its 12th byte) as the
 * shortcut parser takes it: lower-cased and zero-padded to whole 8-byte
 * words into lname (room for 264 bytes), its length to the first zero
 * byte, and its hash for the zones' name index.  cap is the size of msg's
 * buffer.  False when the shortcut would leave the name to the general
 * parser. */
bool dnsd_qname_scan(const uint8_t *msg, size_t len, size_t cap, uint8_t *lname, unsigned *name_len,
                     uint64_t *hash);

/* Counters of one context, summed by the caller when it needs totals. */
typedef struct {
    uint64_t queries, noerror, nxdomain, refused, formerr, notimp, servfail, badvers;
    uint64_t dropped, truncated, tcp, edns, ecs;
} dnsd_qstats_t;
const dnsd_qstats_t *dnsd_qctx_stats(const dnsd_qctx_t *ctx);

#endif
