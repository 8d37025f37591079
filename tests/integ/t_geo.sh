#!/usr/bin/env bash
# t_geo.sh -- geo targeting with MaxMind's GeoIP2-Country-Test.mmdb, clients
# placed with EDNS Client Subnet (dig +subnet), min-servers 3:
#   DE (2a02:d600::/29, 3 servers)       -> de
#   FR (2a02:cfc0::/29, only 2 servers)  -> europe (too few in fr)
#   SE (2a02:d040::/29, no servers)      -> europe
#   JP (2001:218::/32, 3 servers)        -> jp
#   CN (175.16.199.0/24), BT (67.43.156.0/24): asia has none -> @
# The response's ECS SCOPE is the database network's prefix for geo names
# and /0 for explicit names, NXDOMAIN and zone data.  _country TXT reports
# what the server saw.
# Note: the daemon uses at most 24 bits of an IPv4 subnet (56 of IPv6), so
# the test database's GB/SE/US IPv4 examples (81.2.69.160 ...), whose /24s
# also hold unlisted space, are not used here.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

DE4="192.0.2.1 192.0.2.2 192.0.2.3"
DE6="2001:db8:de::1 2001:db8:de::2 2001:db8:de::3"
FR4="192.0.2.11 192.0.2.12"
EU4="$DE4 $FR4"
JP4="203.0.113.1 203.0.113.2 203.0.113.3"
JP6="2001:db8:a::1 2001:db8:a::2 2001:db8:a::3"
US4="198.51.100.1 198.51.100.2 198.51.100.3"
ALL4="$EU4 $JP4 $US4"
ALL6="$DE6 $JP6"
DE=2a02:d600::/48 FR=2a02:cfc0::/48 SE=2a02:d040::/48 JP=2001:218::/48 CN=175.16.199.0/24 BT=67.43.156.0/24

[[ -f $GEO_DB ]] || die "no geo test database at $GEO_DB"
setup_conf geo.conf pool.example.org.zone snap-geo.txt
conf_add "ecs yes"
start_dnsd

for tr in udp tcp; do
    if [[ $tr == tcp ]]; then opts=(+tcp +keepopen); else opts=(+notcp); fi
    # -- geo names: the client's country, continent or @; scope = db prefix
    bq "$tr DE client, pool A: de servers, scope /29" --status NOERROR --addrs "$DE4" --flag aa \
        --ecs "$DE/29" -- pool.example.org A +subnet=$DE
    bq "$tr DE client, 0.pool A" --status NOERROR --addrs "$DE4" --ecs "$DE/29" -- 0.pool.example.org A +subnet=$DE
    bq "$tr DE client, 2.pool AAAA" --status NOERROR --addrs "$DE6" --ecs "$DE/29" -- 2.pool.example.org AAAA +subnet=$DE
    bq "$tr DE client, debian.pool A (vendor: geo too)" --status NOERROR --addrs "$DE4" --ecs "$DE/29" \
        -- debian.pool.example.org A +subnet=$DE
    bq "$tr DE client, 1.debian.pool A" --status NOERROR --addrs "$DE4" -- 1.debian.pool.example.org A +subnet=$DE
    bq "$tr DE client, pool AAAA: NODATA (unnumbered), scope /0" --status NOERROR --an 0 --auth SOA \
        --ecs "$DE/0" -- pool.example.org AAAA +subnet=$DE
    bq "$tr FR client (2 < min-servers 3): europe" --status NOERROR --an 4 --in "$EU4" --ecs "$FR/29" \
        -- pool.example.org A +subnet=$FR
    bq "$tr SE client (no servers): europe" --status NOERROR --an 4 --in "$EU4" --ecs "$SE/29" \
        -- pool.example.org A +subnet=$SE
    bq "$tr SE client, 3.pool AAAA: europe IPv6 = de" --status NOERROR --addrs "$DE6" -- 3.pool.example.org AAAA +subnet=$SE
    bq "$tr JP client: jp servers, scope /32" --status NOERROR --addrs "$JP4" --ecs "$JP/32" \
        -- pool.example.org A +subnet=$JP
    bq "$tr JP client, 3.pool AAAA" --status NOERROR --addrs "$JP6" --ecs "$JP/32" -- 3.pool.example.org AAAA +subnet=$JP
    bq "$tr JP client with a /64: source echoed, scope /32" --status NOERROR --addrs "$JP4" \
        --ecs "2001:218::/64/32" -- pool.example.org A +subnet=2001:218::/64
    bq "$tr CN client (asia empty): @, scope /24" --status NOERROR --an 4 --in "$ALL4" --ecs "$CN/24" \
        -- pool.example.org A +subnet=$CN
    bq "$tr BT client: @ (a slice of 3 or 4)" --status NOERROR --an-max 4 --type A --in "$ALL4" --ecs "$BT/24" -- 2.pool.example.org A +subnet=$BT
    bq "$tr client 0.0.0.0/0: @, scope /0" --status NOERROR --an 4 --in "$ALL4" --ecs "0.0.0.0/0/0" \
        -- pool.example.org A +subnet=0.0.0.0/0
    # -- explicit names: the subnet does not matter, scope /0
    bq "$tr JP client, de.pool: de, scope /0" --status NOERROR --addrs "$DE4" --ecs "$JP/0" \
        -- de.pool.example.org A +subnet=$JP
    bq "$tr JP client, 1.de.pool: scope /0" --status NOERROR --addrs "$DE4" --ecs "$JP/0" \
        -- 1.de.pool.example.org A +subnet=$JP
    bq "$tr DE client, 2.jp.pool AAAA: jp, scope /0" --status NOERROR --addrs "$JP6" --ecs "$DE/0" \
        -- 2.jp.pool.example.org AAAA +subnet=$DE
    bq "$tr DE client, north-america.pool: us, scope /0" --status NOERROR --addrs "$US4" --ecs "$DE/0" \
        -- north-america.pool.example.org A +subnet=$DE
    bq "$tr DE client, asia.pool (empty): @, scope /0" --status NOERROR --an 4 --in "$ALL4" --ecs "$DE/0" \
        -- asia.pool.example.org A +subnet=$DE
    bq "$tr DE client, 4.pool: NXDOMAIN, scope /0" --status NXDOMAIN --auth SOA --ecs "$DE/0" \
        -- 4.pool.example.org A +subnet=$DE
    bq "$tr DE client, apex SOA: scope /0" --status NOERROR --type SOA --ecs "$DE/0" -- pool.example.org SOA +subnet=$DE
    bq "$tr DE client, www: scope /0" --status NOERROR --type CNAME --ecs "$DE/0" -- www.pool.example.org A +subnet=$DE
    # -- no ECS: the source address (127.0.0.1, in no country) decides: @
    bq "$tr no ECS: @, and no ECS option in the response" --status NOERROR --an 4 --in "$ALL4" --noecs \
        -- pool.example.org A
    bq "$tr no ECS, 2.pool AAAA: @ (a slice of 3)" --status NOERROR --an 3 --in "$ALL6" --noecs -- 2.pool.example.org AAAA
    # -- _country TXT
    bq "$tr _country, DE client" --status NOERROR --an 1 --type TXT --ecs "$DE/29" \
        --has '"client 2a02:d600::/48 \(edns-client-subnet\) country de continent europe zone de scope /29"' \
        -- _country.pool.example.org TXT +subnet=$DE
    bq "$tr _country, FR client: zone europe" --status NOERROR --an 1 \
        --has '"client 2a02:cfc0::/48 \(edns-client-subnet\) country fr continent europe zone europe scope /29"' \
        -- _country.pool.example.org TXT +subnet=$FR
    bq "$tr _country, JP client" --status NOERROR --an 1 \
        --has 'country jp continent asia zone jp scope /32' -- _country.pool.example.org TXT +subnet=$JP
    bq "$tr _country, CN client: zone @" --status NOERROR --an 1 \
        --has '"client 175\.16\.199\.0/24 \(edns-client-subnet\) country cn continent asia zone @ scope /24"' \
        -- _country.pool.example.org TXT +subnet=$CN
    bq "$tr _country, no ECS: the source address" --status NOERROR --an 1 --noecs \
        --has '"client 127\.0\.0\.1/32 \(source address\) country @ continent @ zone @' \
        -- _country.pool.example.org TXT
    bq "$tr _country, letter case kept" --status NOERROR --an 1 --owner _Country.POOL.example.org. \
        -- _Country.POOL.example.org TXT +subnet=$DE
    batch_run "${opts[@]}"
done

# Over many queries: exactly the servers of the zone that should answer.
sample_check "FR client x40" 40 pool.example.org A 4 +subnet=$FR
expect_set_eq "FR client: all of europe (de servers included), min-servers 3 > 2 in fr" "$EU4" "$SAMPLE_UNION"
sample_check "SE client x40 over TCP" 40 pool.example.org A 4 +subnet=$SE +tcp +keepopen
expect_set_eq "SE client: all of europe" "$EU4" "$SAMPLE_UNION"
sample_check "CN client x60" 60 pool.example.org A 4 +subnet=$CN
expect_set_eq "CN client: all of @" "$ALL4" "$SAMPLE_UNION"
sample_check "DE client x20" 20 pool.example.org A 3 +subnet=$DE
expect_set_eq "DE client: only de" "$DE4" "$SAMPLE_UNION"
sample_check "JP client x20 over TCP" 20 1.pool.example.org A 3 +subnet=$JP +tcp +keepopen
expect_set_eq "JP client, 1.pool: only jp" "$JP4" "$SAMPLE_UNION"
stop_dnsd
finish
