#!/usr/bin/env bash
# t_protocol.sh -- DNS protocol behaviour seen through dig: EDNS0 (OPT echoed,
# DO copied, BADVERS for version 1, unknown options ignored), the 512-byte
# limit without EDNS, payload sizes below 512 read as 512, TC=1 with an
# empty answer when a UDP answer does not fit and the full answer over TCP,
# NOTIMP for opcodes other than QUERY, REFUSED for classes other than IN,
# minimal ANY, FORMERR for a query without a question, several queries on
# one TCP connection.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

AT4="192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8 192.0.2.9 192.0.2.10 192.0.2.11 192.0.2.12"

setup_conf basic.conf pool.example.org.zone snap-basic.txt
start_dnsd

for tr in udp tcp; do
    if [[ $tr == tcp ]]; then opts=(+tcp +keepopen); else opts=(+notcp); fi
    # -- EDNS0
    bq "$tr OPT echoed (NOERROR), payload 1232 advertised" --status NOERROR --an 4 --opt \
        --has '^; EDNS: version: 0, flags:; udp: 1232$' -- pool.example.org A
    bq "$tr OPT echoed (NXDOMAIN)" --status NXDOMAIN --opt -- 4.pool.example.org A
    bq "$tr OPT echoed (NODATA)" --status NOERROR --an 0 --opt -- pool.example.org AAAA
    bq "$tr OPT echoed (REFUSED)" --status REFUSED --opt -- example.com A
    bq "$tr no EDNS in the query, no OPT in the response" --status NOERROR --an 4 --noopt \
        -- pool.example.org A +noedns
    bq "$tr DO bit copied into the response (RFC 3225)" --status NOERROR --an 4 --opt \
        --has '^; EDNS: version: 0, flags: do; udp: 1232$' -- pool.example.org A +dnssec
    bq "$tr EDNS Z flags (MBZ) are not echoed (RFC 6891 6.1.4), DO is" --status NOERROR --an 4 \
        --has '^; EDNS: version: 0, flags: do; udp: 1232$' -- pool.example.org A +dnssec +ednsflags=0x7fff
    bq "$tr EDNS version 1: BADVERS with an OPT of version 0 (RFC 6891 6.1.3)" --status BADVERS --an 0 \
        --opt --has '^; EDNS: version: 0,' -- pool.example.org A +edns=1 +noednsneg
    bq "$tr unknown EDNS option 65001 ignored" --status NOERROR --an 4 --in "$AT4" --opt \
        -- pool.example.org A +ednsopt=65001:abcd
    bq "$tr several unknown options (one empty) ignored" --status NOERROR --an 3 --opt \
        -- 1.pool.example.org A +ednsopt=65001:abcd +ednsopt=65002 +ednsopt=65003:00112233445566778899
    bq "$tr NSID and COOKIE options do not disturb" --status NOERROR --an 4 --opt \
        -- 2.pool.example.org AAAA +nsid +cookie
    # -- opcodes and classes
    for op in status notify update 3 6 15; do
        bq "$tr opcode $op: NOTIMP" --status NOTIMP --an 0 --has 'opcode: (STATUS|NOTIFY|UPDATE|RESERVED[0-9]+),' -- pool.example.org A +opcode="$op"
    done
    bq "$tr class CH: REFUSED" --status REFUSED --an 0 --has '^;pool\.example\.org\.[[:space:]]+CH[[:space:]]+A$' -- pool.example.org A CH
    bq "$tr class CH version.bind TXT: REFUSED" --status REFUSED --an 0 -- version.bind TXT CH
    bq "$tr class HS: REFUSED" --status REFUSED --an 0 --has '[[:space:]]HS[[:space:]]+SOA$' -- pool.example.org SOA HS
    # -- ANY: one RRset
    bq "$tr ANY at the apex: one RRset" --status NOERROR --an 4 --type A -- pool.example.org ANY
    bq "$tr ANY at 2.pool: one RRset" --status NOERROR --type A -- 2.pool.example.org ANY
    bq "$tr ANY at de.pool: one RRset" --status NOERROR --type A -- de.pool.example.org ANY
    bq "$tr ANY at www: the CNAME" --status NOERROR --an 1 --type CNAME -- www.pool.example.org ANY
    bq "$tr ANY at info (A and TXT there): one record" --status NOERROR --an 1 -- info.pool.example.org ANY
    bq "$tr ANY at an empty non-terminal: NODATA" --status NOERROR --an 0 --auth SOA -- sub.pool.example.org ANY
    bq "$tr ANY at 4.pool: NXDOMAIN" --status NXDOMAIN --auth SOA -- 4.pool.example.org ANY
    bq "$tr ANY outside: REFUSED" --status REFUSED -- example.net ANY
    # -- sizes that fit everywhere
    bq "$tr txt400 without EDNS (fits 512)" --status NOERROR --an 4 --noflag tc -- txt400.pool.example.org TXT +noedns
    bq "$tr txt400 with EDNS payload 100 (read as 512, RFC 6891 6.2.5)" --status NOERROR --an 4 --noflag tc \
        -- txt400.pool.example.org TXT +bufsize=100
    batch_run "${opts[@]}"
done

# Type and letter case of the ANY answer at info: one of A or TXT, not both.
expect_q "ANY at info: a single type" --status NOERROR --an 1 -- info.pool.example.org ANY
expect_true "ANY at info: answer type is A or TXT (got '$P_TYPES')" test "$P_TYPES" = A -o "$P_TYPES" = TXT

# -- truncation (UDP: +ignore keeps dig from retrying over TCP)
bq "txt800 (~870 bytes) without EDNS over UDP: TC, nothing partial" --status NOERROR --flag tc --an 0 \
    --noopt -- txt800.pool.example.org TXT +noedns +ignore
bq "txt800 with EDNS payload 512: TC, OPT still present (RFC 6891 7)" --status NOERROR --flag tc --an 0 \
    --opt -- txt800.pool.example.org TXT +bufsize=512 +ignore
bq "txt800 with EDNS payload 1232: full answer" --status NOERROR --noflag tc --an 10 --opt \
    -- txt800.pool.example.org TXT +bufsize=1232 +ignore
bq "txt800 with EDNS payload 4096: full answer" --status NOERROR --noflag tc --an 10 \
    -- txt800.pool.example.org TXT +bufsize=4096 +ignore
bq "txt2k (~2.3 KB) over UDP: TC" --status NOERROR --flag tc --an 0 --opt \
    -- txt2k.pool.example.org TXT +ignore
bq "txt2k over UDP with payload 65535: still TC (the server sends at most 1232)" --status NOERROR \
    --flag tc --an 0 -- txt2k.pool.example.org TXT +bufsize=65535 +ignore
bq "txt2k over UDP without EDNS: TC" --status NOERROR --flag tc --an 0 -- txt2k.pool.example.org TXT +noedns +ignore
batch_run +notcp
bq "txt2k over TCP: the whole set" --status NOERROR --noflag tc --an 28 --type TXT --flag aa \
    -- txt2k.pool.example.org TXT
bq "txt2k over TCP without EDNS: the whole set" --status NOERROR --noflag tc --an 28 --noopt \
    -- txt2k.pool.example.org TXT +noedns
bq "txt800 over TCP without EDNS: the whole set" --status NOERROR --noflag tc --an 10 \
    -- txt800.pool.example.org TXT +noedns
batch_run +tcp +keepopen
expect_q "txt2k over UDP, dig retries over TCP after TC" --status NOERROR --an 28 \
    --has 'Truncated, retrying in TCP mode' -- txt2k.pool.example.org TXT

# -- FORMERR: no question (dig +header-only sends QDCOUNT 0)
expect_q "query without a question: FORMERR" --status FORMERR --an 0 -- +header-only pool.example.org A
expect_q "query without a question over TCP: FORMERR" --status FORMERR -- +tcp +header-only pool.example.org A

# -- several queries on one TCP connection (+keepopen): each answered, in order
out=$(q +tcp +keepopen pool.example.org A www.pool.example.org CNAME 4.pool.example.org A example.com A \
    2.pool.example.org AAAA de.pool.example.org A)
got=$(grep -o 'status: [A-Z]*' <<<"$out" | awk '{print $2}' | tr '\n' ' ')
expect_eq "6 queries on one TCP connection: statuses in order" "NOERROR NOERROR NXDOMAIN REFUSED NOERROR NOERROR " "$got"
expect_eq "6 queries on one TCP connection: all over TCP" 6 "$(grep -c '(TCP)$' <<<"$out")"
expect_match "de.pool answered on the kept-open connection" 'de\.pool\.example\.org\.[[:space:]]+150[[:space:]]+IN[[:space:]]+A[[:space:]]+198\.51\.100\.' "$out"

stop_dnsd
finish
