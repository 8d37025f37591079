#!/usr/bin/env bash
# t_edns_errors.sh -- an OPT record in error responses to queries that had a
# well-formed OPT:
#   - RFC 6891 section 7: "If there is a problem with processing the OPT
#     record itself, such as an option value that is badly formatted or that
#     includes out-of-range values, a FORMERR MUST be returned.  If this
#     occurs, the response MUST include an OPT record."  (This is how the
#     client tells "EDNS option format error" from "no EDNS here".)  A badly
#     formatted Client Subnet option (RFC 7871 7.2.1: FORMERR) is exactly
#     that case.
#   - RFC 6891 section 6.1.1: "If an OPT record is present in a received
#     request, compliant responders MUST include an OPT record in their
#     respective responses."  That includes NOTIMP for an unknown opcode,
#     whose OPT is perfectly readable.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

setup_conf basic.conf pool.example.org.zone snap-basic.txt
start_dnsd

for tr in udp tcp; do
    if [[ $tr == tcp ]]; then opts=(+tcp +keepopen); else opts=(+notcp); fi
    bq "$tr badly formatted ECS (/32 with 1 address byte): FORMERR with an OPT (RFC 6891 7)" \
        --status FORMERR --opt -- pool.example.org A +ednsopt=8:0001200051
    bq "$tr ECS with bits past the prefix: FORMERR with an OPT (RFC 6891 7)" \
        --status FORMERR --opt -- pool.example.org A +ednsopt=8:000114005102ff
    bq "$tr ECS with unknown FAMILY: FORMERR with an OPT (RFC 6891 7)" \
        --status FORMERR --opt -- pool.example.org A +ednsopt=8:00030000
    bq "$tr opcode STATUS with EDNS: NOTIMP with an OPT (RFC 6891 6.1.1)" \
        --status NOTIMP --opt -- pool.example.org A +opcode=status
    bq "$tr opcode UPDATE with EDNS: NOTIMP with an OPT (RFC 6891 6.1.1)" \
        --status NOTIMP --opt -- pool.example.org SOA +opcode=update
    batch_run "${opts[@]}"
done

# The same in raw bytes, so there is no doubt about what was sent:
#   ID 0x7001, QD 1, AR 1, pool.example.org A, OPT (payload 1232) with
#   option 8 length 5: FAMILY 1, SOURCE 32, SCOPE 0, one address byte 0x51.
QA="$(hex_name pool.example.org)00010001"
r=$(raw_udp "$(hex_hdr 0x7001 0 1 0 0 1)${QA}00002904d0000000000009000800050001200051")
expect_eq "raw bad ECS: FORMERR (rcode 1) and ARCOUNT 1 (the OPT), got reply '$r'" "7001 1 1" \
    "$(hx_id "$r") $(hx_rcode "$r") $(hx_ar "$r")"
#   ID 0x7002, opcode 2 (STATUS), QD 1, AR 1, pool.example.org A, empty OPT.
r=$(raw_udp "$(hex_hdr 0x7002 0x1000 1 0 0 1)${QA}00002904d000000000000000")
expect_eq "raw opcode 2 with an OPT: NOTIMP (rcode 4) and ARCOUNT 1 (the OPT), got reply '$r'" "7002 4 1" \
    "$(hx_id "$r") $(hx_rcode "$r") $(hx_ar "$r")"

stop_dnsd
finish
