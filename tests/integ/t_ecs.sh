#!/usr/bin/env bash
# t_ecs.sh -- EDNS Client Subnet option encodings (RFC 7871 section 6) sent
# raw with dig +ednsopt=8:HEX: FAMILY(2) SOURCE(1) SCOPE(1) ADDRESS, where
# ADDRESS is exactly ceil(SOURCE/8) bytes with every bit past SOURCE zero,
# and SCOPE is 0 in queries.  Badly formed options get FORMERR (section
# 7.2.1: "A query with a wrongly formatted option (e.g., an unknown FAMILY)
# MUST be rejected and a FORMERR response MUST be returned").  Then
# `ecs no`: the option is ignored and the source address decides.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

DE4="192.0.2.1 192.0.2.2 192.0.2.3"
JP4="203.0.113.1 203.0.113.2 203.0.113.3"
ALL4="$DE4 192.0.2.11 192.0.2.12 $JP4 198.51.100.1 198.51.100.2 198.51.100.3"

[[ -f $GEO_DB ]] || die "no geo test database at $GEO_DB"
setup_conf geo.conf pool.example.org.zone snap-geo.txt
conf_add "ecs yes"
start_dnsd

for tr in udp tcp; do
    if [[ $tr == tcp ]]; then opts=(+tcp +keepopen); else opts=(+notcp); fi
    # -- malformed
    bq "$tr /32 with 1 address byte (needs 4)" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:0001200051
    bq "$tr /24 with 4 address bytes (needs 3)" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:00011800510203ff
    bq "$tr /16 with no address bytes" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:00011000
    bq "$tr /0 with an address byte" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:0001000000
    bq "$tr /20 with bits set past the prefix (51.02.ff)" --status FORMERR --an 0 \
        -- pool.example.org A +ednsopt=8:000114005102ff
    bq "$tr /31 with the last bit set" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:00011f00c0000201
    bq "$tr IPv6 /33 with bits set past the prefix" --status FORMERR --an 0 \
        -- pool.example.org A +ednsopt=8:000221002001021840
    bq "$tr nonzero SCOPE in a query" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:0001180caf10c7
    bq "$tr unknown FAMILY 3" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:00030000
    bq "$tr FAMILY 0" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:00000000
    bq "$tr IPv4 SOURCE 33" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:0001210000000000
    bq "$tr IPv6 SOURCE 129" --status FORMERR --an 0 \
        -- pool.example.org A +ednsopt=8:00028100200102180000000000000000000000000000
    bq "$tr option of 2 bytes" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8:0001
    bq "$tr empty option" --status FORMERR --an 0 -- pool.example.org A +ednsopt=8
    bq "$tr malformed ECS at an explicit name" --status FORMERR --an 0 -- de.pool.example.org A +ednsopt=8:0001200051
    bq "$tr malformed ECS at a zone-file name" --status FORMERR --an 0 -- www.pool.example.org A +ednsopt=8:0001200051
    # -- well formed
    bq "$tr IPv4 /0, no address" --status NOERROR --an 4 --in "$ALL4" --ecs "0.0.0.0/0/0" \
        -- pool.example.org A +ednsopt=8:00010000
    bq "$tr IPv6 /0, no address" --status NOERROR --an 4 --in "$ALL4" --ecs "::/0/0" \
        -- pool.example.org A +ednsopt=8:00020000
    bq "$tr IPv4 /24 175.16.199 (CN -> @), scope /24" --status NOERROR --an 4 --in "$ALL4" \
        --ecs "175.16.199.0/24/24" -- pool.example.org A +ednsopt=8:00011800af10c7
    bq "$tr IPv4 /20 with zero padding" --status NOERROR --an 4 --in "$ALL4" \
        -- pool.example.org A +ednsopt=8:000114005102f0
    bq "$tr IPv6 /32 2001:218 (JP)" --status NOERROR --addrs "$JP4" --ecs "2001:218::/32/32" \
        -- pool.example.org A +ednsopt=8:0002200020010218
    bq "$tr IPv6 /29 2a02:d600 (DE)" --status NOERROR --addrs "$DE4" --ecs "2a02:d600::/29/29" \
        -- pool.example.org A +ednsopt=8:00021d002a02d600
    bq "$tr IPv6 /128 (used up to /56), JP" --status NOERROR --addrs "$JP4" \
        --ecs "2001:218::1/128/32" -- pool.example.org A +ednsopt=8:0002800020010218000000000000000000000001
    bq "$tr ECS together with an unknown option" --status NOERROR --addrs "$JP4" \
        -- pool.example.org A +ednsopt=65001:00 +ednsopt=8:0002200020010218
    batch_run "${opts[@]}"
done
stop_dnsd

# ecs no: the option is ignored; 127.0.0.1 is in no country: @.
setup_conf geo.conf pool.example.org.zone snap-geo.txt
conf_add "ecs no"
start_dnsd
for tr in udp tcp; do
    if [[ $tr == tcp ]]; then opts=(+tcp +keepopen); else opts=(+notcp); fi
    bq "$tr ecs no: JP subnet ignored, @ answers, no ECS in the response" --status NOERROR --an 4 \
        --in "$ALL4" --noecs --opt -- pool.example.org A +subnet=2001:218::/48
    bq "$tr ecs no: _country shows the source address" --status NOERROR --an 1 --noecs \
        --has '"client 127\.0\.0\.1/32 \(source address\) country @ continent @ zone @' \
        -- _country.pool.example.org TXT +subnet=2a02:d600::/48
    bq "$tr ecs no: explicit names still work" --status NOERROR --addrs "$JP4" --noecs \
        -- jp.pool.example.org A +subnet=2a02:d600::/48
    # RFC 7871 7.2.2: a server that does not use ECS ignores the option, so
    # a malformed one is no error either.
    bq "$tr ecs no: malformed option ignored" --status NOERROR --an 4 --noecs \
        -- pool.example.org A +ednsopt=8:0001200051
    batch_run "${opts[@]}"
done
sample_check "ecs no: JP subnet x60" 60 pool.example.org A 4 +subnet=2001:218::/48
expect_set_eq "ecs no: answers from all of @, not only jp" "$ALL4" "$SAMPLE_UNION"
stop_dnsd
finish
