#!/usr/bin/env bash
# t_names.sh -- every kind of name the daemon answers (no geoip: every client
# is "@"), over UDP and over TCP: pool names, numbered subzones, countries
# and continents with their fallbacks, vendors, zone-file data, NXDOMAIN,
# REFUSED, AAAA only in aaaa-subzones, NODATA for other types, AA, TTL,
# letter case of the question.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

AT4="192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8 192.0.2.9 192.0.2.10 192.0.2.11 192.0.2.12"
AT6="2001:db8::1 2001:db8::2 2001:db8::3 2001:db8::4 2001:db8::5 2001:db8::6 2001:db8::7 2001:db8::8"
DE4="198.51.100.1 198.51.100.2 198.51.100.3"
FR4="198.51.100.11"
FR6="2001:db8:f::1 2001:db8:f::2"
EU4="$DE4 $FR4"
JP4="203.0.113.1 203.0.113.2"
L63=$(printf 'a%.0s' {1..63})
LONG="$L63.$L63.$L63.$(printf 'b%.0s' {1..40})"
SOA_RE='pool\.example\.org\.[[:space:]]+300[[:space:]]+IN[[:space:]]+SOA[[:space:]]+ns1\.example\.org\. hostmaster\.example\.org\. 2026112601 '

setup_conf basic.conf pool.example.org.zone snap-basic.txt
start_dnsd

for tr in udp tcp; do
    if [[ $tr == tcp ]]; then opts=(+tcp +keepopen); else opts=(+notcp); fi
    # -- pool names answered from the snapshot
    bq "$tr pool A: 4 of the @ servers, AA, TTL 150" --status NOERROR --an 4 --flag aa --type A \
        --in "$AT4" --ttl 150 --opt -- pool.example.org A
    for n in 0 1 2 3; do
        bq "$tr $n.pool A: 3 @ servers (a slice of 12 over 4 subzones)" --status NOERROR --an 3 \
            --flag aa --type A --in "$AT4" --ttl 150 -- "$n.pool.example.org" A
    done
    bq "$tr pool AAAA: NODATA with SOA (unnumbered names have no AAAA)" --status NOERROR --an 0 \
        --auth SOA --flag aa --has "$SOA_RE" -- pool.example.org AAAA
    for n in 0 1; do
        bq "$tr $n.pool AAAA: NODATA (not an aaaa-subzone)" --status NOERROR --an 0 --auth SOA \
            --flag aa -- "$n.pool.example.org" AAAA
    done
    for n in 2 3; do
        bq "$tr $n.pool AAAA: 4 @ IPv6 servers" --status NOERROR --an 4 --flag aa --type AAAA \
            --in "$AT6" --ttl 150 -- "$n.pool.example.org" AAAA
    done

    # -- countries and continents
    bq "$tr de.pool A: the 3 German servers" --status NOERROR --addrs "$DE4" --flag aa --ttl 150 \
        -- de.pool.example.org A
    bq "$tr 0.de.pool A: 3 servers < 2 per subzone, so every subzone has all" --status NOERROR \
        --addrs "$DE4" -- 0.de.pool.example.org A
    bq "$tr 3.de.pool A" --status NOERROR --addrs "$DE4" -- 3.de.pool.example.org A
    bq "$tr de.pool AAAA: NODATA (unnumbered)" --status NOERROR --an 0 --auth SOA \
        -- de.pool.example.org AAAA
    bq "$tr 2.de.pool AAAA: de has no IPv6, europe's (fr) answer" --status NOERROR \
        --addrs "$FR6" --type AAAA -- 2.de.pool.example.org AAAA
    bq "$tr fr.pool A" --status NOERROR --addrs "$FR4" -- fr.pool.example.org A
    bq "$tr 3.fr.pool AAAA" --status NOERROR --addrs "$FR6" -- 3.fr.pool.example.org AAAA
    bq "$tr gb.pool A: gb has no eligible server, so europe" --status NOERROR --addrs "$EU4" \
        -- gb.pool.example.org A
    bq "$tr se.pool A: se has no server, so europe" --status NOERROR --addrs "$EU4" \
        -- se.pool.example.org A
    bq "$tr europe.pool A" --status NOERROR --addrs "$EU4" -- europe.pool.example.org A
    bq "$tr 1.europe.pool A: 4 servers < 2 per subzone, so all" --status NOERROR --addrs "$EU4" \
        -- 1.europe.pool.example.org A
    bq "$tr 2.europe.pool AAAA" --status NOERROR --addrs "$FR6" -- 2.europe.pool.example.org AAAA
    bq "$tr jp.pool A" --status NOERROR --addrs "$JP4" -- jp.pool.example.org A
    bq "$tr asia.pool A" --status NOERROR --addrs "$JP4" -- asia.pool.example.org A
    bq "$tr 3.jp.pool AAAA: no IPv6 in jp nor asia, so @" --status NOERROR --an 4 --type AAAA \
        --in "$AT6" -- 3.jp.pool.example.org AAAA
    bq "$tr north-america.pool A: empty continent, so @" --status NOERROR --an 4 --in "$AT4" \
        -- north-america.pool.example.org A
    bq "$tr 0.us.pool A: empty country and continent, so @ (subzone 0)" --status NOERROR --an 3 \
        --in "$AT4" -- 0.us.pool.example.org A
    bq "$tr 2.oceania.pool AAAA: so @" --status NOERROR --an 4 --in "$AT6" \
        -- 2.oceania.pool.example.org AAAA
    bq "$tr de.pool MX: NODATA" --status NOERROR --an 0 --auth SOA -- de.pool.example.org MX

    # -- vendors
    for v in debian android; do
        bq "$tr $v.pool A: as pool" --status NOERROR --an 4 --in "$AT4" --flag aa \
            -- "$v.pool.example.org" A
        bq "$tr 1.$v.pool A: as 1.pool" --status NOERROR --an 3 --in "$AT4" \
            -- "1.$v.pool.example.org" A
        bq "$tr 3.$v.pool AAAA: as 3.pool" --status NOERROR --an 4 --in "$AT6" \
            -- "3.$v.pool.example.org" AAAA
        bq "$tr $v.pool AAAA: NODATA" --status NOERROR --an 0 --auth SOA \
            -- "$v.pool.example.org" AAAA
    done

    # -- zone file data
    bq "$tr apex SOA" --status NOERROR --an 1 --type SOA --flag aa \
        --has 'pool\.example\.org\.[[:space:]]+3600[[:space:]]+IN[[:space:]]+SOA[[:space:]]+ns1\.example\.org\.' \
        -- pool.example.org SOA
    bq "$tr apex NS" --status NOERROR --an 2 --type NS --flag aa --has 'NS[[:space:]]+ns2\.example\.org\.' \
        -- pool.example.org NS
    bq "$tr apex TXT" --status NOERROR --an 1 --type TXT --has '"pooldns integration test zone"' \
        -- pool.example.org TXT
    bq "$tr apex MX: NODATA" --status NOERROR --an 0 --auth SOA --has "$SOA_RE" \
        -- pool.example.org MX
    bq "$tr www CNAME" --status NOERROR --an 1 --type CNAME --has 'CNAME[[:space:]]+www\.example\.org\.' \
        --flag aa -- www.pool.example.org CNAME
    bq "$tr www A: the CNAME" --status NOERROR --an 1 --type CNAME -- www.pool.example.org A
    bq "$tr info A" --status NOERROR --addrs 192.0.2.250 --ttl 3600 -- info.pool.example.org A
    bq "$tr info TXT" --status NOERROR --an 1 --type TXT -- info.pool.example.org TXT
    bq "$tr info AAAA: NODATA" --status NOERROR --an 0 --auth SOA -- info.pool.example.org AAAA
    bq "$tr sub (empty non-terminal): NODATA, not NXDOMAIN" --status NOERROR --an 0 --auth SOA \
        -- sub.pool.example.org A
    bq "$tr deep.sub TXT" --status NOERROR --an 1 --type TXT -- deep.sub.pool.example.org TXT

    # -- other types at pool names
    for n in 0.pool 3.pool europe.pool 2.de.pool debian.pool; do
        bq "$tr $n TXT: NODATA with SOA" --status NOERROR --an 0 --auth SOA --flag aa \
            --has "$SOA_RE" -- "$n.example.org" TXT
    done
    bq "$tr 2.pool MX: NODATA" --status NOERROR --an 0 --auth SOA -- 2.pool.example.org MX

    # -- NXDOMAIN under the apex
    for n in 4 x.0 zz 00 01 16 0.0 de.0 zz.0 0.zz 1.x ubuntu 0.ubuntu a.b.c x.de www.www x.info \
        0.0.0 _country.0 de.de; do
        bq "$tr $n.pool A: NXDOMAIN with SOA" --status NXDOMAIN --an 0 --auth SOA --flag aa \
            --has "$SOA_RE" -- "$n.pool.example.org" A
    done
    bq "$tr a 251-byte name under the apex: NXDOMAIN with SOA" --status NXDOMAIN --auth SOA --has "$SOA_RE" \
        -- "$LONG.pool.example.org" A
    bq "$tr a 251-byte name elsewhere: REFUSED" --status REFUSED -- "$LONG.pool.example.net" A
    bq "$tr 4.pool AAAA: NXDOMAIN" --status NXDOMAIN --auth SOA -- 4.pool.example.org AAAA

    # -- outside every apex
    for n in example.org org . example.com xpool.example.org pool.example.org.example.com \
        pool.example; do
        bq "$tr $n: REFUSED" --status REFUSED --an 0 --noflag aa -- "$n" A
    done

    # -- the question echoed with the client's letter case
    bq "$tr PoOl.ExAmPlE.oRg: case kept in question and answer" --status NOERROR --an 4 \
        --owner PoOl.ExAmPlE.oRg. --has '^;PoOl\.ExAmPlE\.oRg\.[[:space:]]+IN[[:space:]]+A$' \
        --in "$AT4" -- PoOl.ExAmPlE.oRg A
    bq "$tr 2.dE.pOOL.example.ORG AAAA" --status NOERROR --owner 2.dE.pOOL.example.ORG. \
        --addrs "$FR6" -- 2.dE.pOOL.example.ORG AAAA
    bq "$tr DEBIAN.Pool.Example.Org" --status NOERROR --an 4 --owner DEBIAN.Pool.Example.Org. \
        -- DEBIAN.Pool.Example.Org A
    bq "$tr WWW.POOL.EXAMPLE.ORG CNAME" --status NOERROR --owner WWW.POOL.EXAMPLE.ORG. \
        --type CNAME -- WWW.POOL.EXAMPLE.ORG CNAME
    bq "$tr 4.POOL.example.org: NXDOMAIN, question case kept" --status NXDOMAIN \
        --has '^;4\.POOL\.example\.org\.[[:space:]]+IN[[:space:]]+A$' -- 4.POOL.example.org A
    batch_run "${opts[@]}"
done

# -- over many queries: only eligible servers, and the unnumbered name holds
# them all
sample_check "pool A x60" 60 pool.example.org A 4
expect_set_eq "pool A over 60 queries: every eligible @ server, no other" "$AT4" "$SAMPLE_UNION"
sample_check "2.pool AAAA x30" 30 2.pool.example.org AAAA 4
expect_subset "2.pool AAAA: eligible @ IPv6 only" "$AT6" "$SAMPLE_UNION"
sample_check "gb.pool A x30 over TCP" 30 gb.pool.example.org A 4 +tcp +keepopen
expect_set_eq "gb.pool A: europe, the ineligible gb server never" "$EU4" "$SAMPLE_UNION"

stop_dnsd
finish
