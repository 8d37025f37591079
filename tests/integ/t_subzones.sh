#!/usr/bin/env bash
# t_subzones.sh -- how eligible servers are split among numbered subzones:
# with >= 2 per subzone, disjoint slices whose union is every eligible
# server; with fewer, every subzone holds them all; the unnumbered name
# holds all; vendor names share the slices.  Then `subzones 2` with
# `aaaa-subzones 1`.  max-answers 2 makes the answers samples of a slice.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

AT4="192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8 192.0.2.9 192.0.2.10 192.0.2.11 192.0.2.12"
AT6="2001:db8::1 2001:db8::2 2001:db8::3 2001:db8::4 2001:db8::5 2001:db8::6 2001:db8::7 2001:db8::8"
EU4="198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.11"
FR6="2001:db8:f::1 2001:db8:f::2"
N=40

setup_conf min.conf pool.example.org.zone snap-basic.txt
conf_add "snapshot snap-basic.txt" "max-answers 2" "aaaa-subzones 2 3" "vendor debian"
start_dnsd

# 12 @ IPv4 servers over the default 4 subzones: 4 slices of 3.
declare -A slice
for n in 0 1 2 3; do
    tr=+notcp
    ((n % 2)) && tr="+tcp +keepopen"
    # shellcheck disable=SC2086 # two options on purpose
    sample_check "$n.pool A x$N ($tr)" $N "$n.pool.example.org" A 2 $tr
    slice[$n]=$SAMPLE_UNION
    expect_subset "$n.pool A: eligible @ servers only" "$AT4" "${slice[$n]}"
    expect_eq "$n.pool A: a slice of 3 servers (12 eligible / 4 subzones)" 3 "$(wc -w <<<"${slice[$n]}")"
done
for a in 0 1 2 3; do
    for b in 0 1 2 3; do
        ((a < b)) || continue
        expect_disjoint "$a.pool and $b.pool never share an address over $N queries each" "${slice[$a]}" "${slice[$b]}"
    done
done
expect_set_eq "union of 0..3.pool A: every eligible @ server" "$AT4" "${slice[0]} ${slice[1]} ${slice[2]} ${slice[3]}"

# The vendor name answers from the same slices.
for n in 0 3; do
    sample_check "$n.debian.pool A x20" 20 "$n.debian.pool.example.org" A 2
    expect_subset "$n.debian.pool A: inside $n.pool's slice" "${slice[$n]}" "$SAMPLE_UNION"
done

# The unnumbered name holds all 12.
sample_check "pool A x100" 100 pool.example.org A 2
expect_set_eq "pool A over 100 queries: all eligible @ servers" "$AT4" "$SAMPLE_UNION"

# 8 @ IPv6 servers over AAAA subzones 2 and 3: 2 slices of 4.
sample_check "2.pool AAAA x$N" $N 2.pool.example.org AAAA 2
s2=$SAMPLE_UNION
sample_check "3.pool AAAA x$N" $N 3.pool.example.org AAAA 2 +tcp +keepopen
s3=$SAMPLE_UNION
expect_eq "2.pool AAAA: a slice of 4" 4 "$(wc -w <<<"$s2")"
expect_eq "3.pool AAAA: a slice of 4" 4 "$(wc -w <<<"$s3")"
expect_disjoint "2.pool and 3.pool AAAA share no address" "$s2" "$s3"
expect_set_eq "union of 2.pool and 3.pool AAAA: all eligible @ IPv6" "$AT6" "$s2 $s3"

# europe: 4 IPv4 over 4 subzones (fewer than 2 each): every subzone has all 4.
for n in 0 1 2 3; do
    sample_check "$n.europe.pool A x24" 24 "$n.europe.pool.example.org" A 2
    expect_set_eq "$n.europe.pool A: all 4 europe servers (too few to split)" "$EU4" "$SAMPLE_UNION"
done
# europe IPv6: 2 servers over 2 AAAA subzones: both in each.
for n in 2 3; do
    expect_q "$n.europe.pool AAAA: both europe IPv6 servers" --status NOERROR --addrs "$FR6" \
        -- "$n.europe.pool.example.org" AAAA
done
stop_dnsd

# subzones 2, aaaa-subzones 1: two IPv4 slices of 6, one AAAA subzone with all 8.
setup_conf min.conf pool.example.org.zone snap-basic.txt
conf_add "snapshot snap-basic.txt" "max-answers 4" "subzones 2" "aaaa-subzones 1"
start_dnsd
sample_check "subzones 2: 0.pool A x$N" $N 0.pool.example.org A 4
t0=$SAMPLE_UNION
sample_check "subzones 2: 1.pool A x$N" $N 1.pool.example.org A 4 +tcp +keepopen
t1=$SAMPLE_UNION
expect_eq "subzones 2: 0.pool slice of 6" 6 "$(wc -w <<<"$t0")"
expect_eq "subzones 2: 1.pool slice of 6" 6 "$(wc -w <<<"$t1")"
expect_disjoint "subzones 2: 0.pool and 1.pool disjoint" "$t0" "$t1"
expect_set_eq "subzones 2: union is every eligible @ server" "$AT4" "$t0 $t1"
for tr in +notcp +tcp; do
    bq "subzones 2: 2.pool is NXDOMAIN" --status NXDOMAIN --auth SOA -- 2.pool.example.org A
    bq "subzones 2: 3.pool is NXDOMAIN" --status NXDOMAIN --auth SOA -- 3.pool.example.org A
    bq "subzones 2: 2.de.pool is NXDOMAIN" --status NXDOMAIN --auth SOA -- 2.de.pool.example.org A
    bq "aaaa-subzones 1: 0.pool AAAA is NODATA" --status NOERROR --an 0 --auth SOA -- 0.pool.example.org AAAA
    bq "aaaa-subzones 1: 1.pool AAAA" --status NOERROR --an 4 --type AAAA --in "$AT6" -- 1.pool.example.org AAAA
    bq "aaaa-subzones 1: 1.fr.pool AAAA" --status NOERROR --addrs "$FR6" -- 1.fr.pool.example.org AAAA
    batch_run "$tr"
done
sample_check "aaaa-subzones 1: 1.pool AAAA x$N" $N 1.pool.example.org AAAA 4
expect_set_eq "aaaa-subzones 1: the only AAAA subzone holds all 8" "$AT6" "$SAMPLE_UNION"
stop_dnsd
finish
