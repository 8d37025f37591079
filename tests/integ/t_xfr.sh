#!/usr/bin/env bash
# t_xfr.sh -- zone transfers are REFUSED: AXFR (type 252) and IXFR (type
# 251), over UDP and TCP, at the apex and below it.  An IXFR query as
# clients really send it carries the client's SOA in the authority section
# (RFC 1995 section 3: "The authority section of an IXFR query contains the
# SOA record of client's version of the zone"), so NSCOUNT is 1; it must be
# refused like any other transfer, not rejected as malformed.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

setup_conf basic.conf pool.example.org.zone snap-basic.txt
conf_add "tcp-timeout 1"
start_dnsd

QNAME=$(hex_name pool.example.org)
# SOA: owner -> the question name, TTL 0, RDLEN 22: MNAME and RNAME the
# root, serial 2026112600, refresh, retry, expire, minimum 0.
SOA_RR="c00c00060001000000000016""0000""78c1c6b8""00000000000000000000000000000000"
AXFR="$(hex_hdr 0x5001 0 1 0 0 0)${QNAME}00fc0001"
IXFR_BARE="$(hex_hdr 0x5002 0 1 0 0 0)${QNAME}00fb0001"
IXFR_SUB="$(hex_hdr 0x5003 0 1 0 0 0)$(hex_name www.pool.example.org)00fb0001"
IXFR_SOA="$(hex_hdr 0x5004 0 1 0 1 0)${QNAME}00fb0001$SOA_RR"
IXFR_SOA_EDNS="$(hex_hdr 0x5005 0 1 0 1 1)${QNAME}00fb0001${SOA_RR}00002904d000000000000000"

# UDP
for pair in "AXFR:$AXFR" "IXFR without SOA:$IXFR_BARE" "IXFR at www:$IXFR_SUB" \
    "IXFR with the client's SOA (RFC 1995):$IXFR_SOA" "IXFR with SOA and EDNS:$IXFR_SOA_EDNS"; do
    what=${pair%%:*}
    hex=${pair#*:}
    r=$(raw_udp "$hex")
    expect_eq "UDP $what: REFUSED (reply: ${r:-none})" "${hex:0:4} REFUSED" \
        "$(hx_id "$r") $(rcode_name "$(hx_rcode "${r:-000000000000}")")"
done

# TCP: all five on one connection; the server closes it after 1 s idle.
stream=""
for hex in "$AXFR" "$IXFR_BARE" "$IXFR_SUB" "$IXFR_SOA" "$IXFR_SOA_EDNS"; do
    printf -v len '%04x' $((${#hex} / 2))
    stream+=$len$hex
done
hex_bytes "$stream" >"$T/xfr.bin"
exec {c}<>"/dev/tcp/127.0.0.1/$PORT"
cat "$T/xfr.bin" >&"$c"
r=$(timeout 5 cat <&"$c" | hex_of)
exec {c}>&-
got=""
while ((${#r} >= 4)); do
    len=$((16#${r:0:4}))
    m=${r:4:len*2}
    got+="$(hx_id "$m")/$(rcode_name "$(hx_rcode "$m")") "
    r=${r:4+len*2}
done
expect_eq "TCP: AXFR, IXFR (bare, at www, with SOA, with SOA and EDNS) all REFUSED" \
    "5001/REFUSED 5002/REFUSED 5003/REFUSED 5004/REFUSED 5005/REFUSED " "$got"

# dig's own AXFR: no records come.
out=$(q pool.example.org AXFR)
expect_no_match "dig AXFR: no records transferred" 'IN[[:space:]]+(SOA|NS|TXT)' "$out"
expect_match "dig AXFR: transfer failed" 'Transfer failed' "$out"
stop_dnsd
finish
