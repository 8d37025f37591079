#!/usr/bin/env bash
# t_options.sh -- config directives: ttl, max-answers, min-score (strictly
# above), net speed 0, threads, several listen lines (IPv4 and [::1]),
# relative paths (against the config's folder, also into a subfolder), the
# ready line, SIGINT (exit 0), and -t.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

ELIG4="192.0.2.1 192.0.2.2 192.0.2.6"   # score > 17 and net speed > 0

setup_conf min.conf pool.example.org.zone
use_file snap-options.txt data/snap.txt
conf_add "listen 127.0.0.1:$PORT2" \
    "snapshot data/snap.txt   # relative: against the config's folder" \
    "ttl 77" "max-answers 2" "min-score 17" "threads 1" "tcp-timeout 3" "tcp-clients 8"
v6=0
if have_ipv6_loopback; then
    v6=1
    conf_add "listen [::1]:$PORT"
else
    note "no ::1 on this machine: IPv6 listen not tested"
fi

out=$(cd / && "$DNSD" -c "$CONF" -t 2>&1)
rc=$?
expect_eq "dnsd -t on a good config exits 0 (output: $out)" 0 "$rc"

start_dnsd
expect_match "ready line names both listen addresses and 1 worker thread" \
    "ready: .*127\.0\.0\.1:$PORT.*127\.0\.0\.1:$PORT2.* 1 worker thread" "$(grep ready "$DNSD_LOG")"

for tr in +notcp +tcp; do
    bq "$tr ttl 77, max-answers 2, only score > 17 and speed > 0" --status NOERROR --an 2 --ttl 77 \
        --in "$ELIG4" --flag aa -- pool.example.org A
    bq "$tr 0.pool: 3 eligible < 2 per subzone, so all of them, 2 at a time" --status NOERROR --an 2 \
        --ttl 77 --in "$ELIG4" -- 0.pool.example.org A
    bq "$tr 2.pool AAAA: the one eligible IPv6 server" --status NOERROR --addrs 2001:db8::1 --ttl 77 \
        -- 2.pool.example.org AAAA
    bq "$tr zone-file records keep their own TTL" --status NOERROR --an 2 --ttl 3600 --type NS \
        -- pool.example.org NS
    bq "$tr negative answers: SOA TTL min(SOA TTL, MINIMUM) = 300" --status NXDOMAIN --auth SOA \
        --has '^pool\.example\.org\.[[:space:]]+300[[:space:]]+IN[[:space:]]+SOA' -- 9.pool.example.org A
    batch_run "$tr"
done
sample_check "pool A x40" 40 pool.example.org A 2
expect_set_eq "pool A over 40 queries: exactly the eligible servers (score == min-score excluded)" \
    "$ELIG4" "$SAMPLE_UNION"

# The second listen address, and [::1].
PORT_SAVE=$PORT
PORT=$PORT2
expect_q "second listen address, UDP" --status NOERROR --an 2 --in "$ELIG4" -- pool.example.org A
expect_q "second listen address, TCP" --status NOERROR --an 2 --in "$ELIG4" -- +tcp pool.example.org A
PORT=$PORT_SAVE
if ((v6)); then
    DIG_SERVER=::1
    expect_q "[::1] listen, UDP" --status NOERROR --an 2 --in "$ELIG4" --ttl 77 -- pool.example.org A
    expect_q "[::1] listen, TCP" --status NOERROR --an 2 --in "$ELIG4" -- +tcp pool.example.org A
    expect_q "[::1] listen, AAAA" --status NOERROR --addrs 2001:db8::1 -- 3.pool.example.org AAAA
    expect_q "[::1] listen, _country TXT shows the IPv6 source" --status NOERROR --type TXT \
        --has 'client ::1/128 \(source address\)' -- _country.pool.example.org TXT
    DIG_SERVER=127.0.0.1
fi
stop_dnsd_with INT

# max-answers 16 (the largest) with 12 eligible: all of them in each answer.
# A second zone (repeatable `zone`) and a second `vendor` line.
setup_conf basic.conf pool.example.org.zone snap-basic.txt pool.example.net.zone
sed -i 's/^max-answers .*/max-answers 16/; s/^ttl .*/ttl 0/' "$CONF"
conf_add "threads 3" "zone pool.example.net pool.example.net.zone" "vendor ubuntu"
start_dnsd
expect_match "ready line: 3 worker threads" "ready: .* 3 worker threads" "$(grep ready "$DNSD_LOG")"
AT4="192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8 192.0.2.9 192.0.2.10 192.0.2.11 192.0.2.12"
bq "max-answers 16: all 12 eligible, TTL 0" --status NOERROR --addrs "$AT4" --an 12 --ttl 0 -- pool.example.org A
bq "max-answers 16 without EDNS: 12 A records fit in 512 bytes" --status NOERROR --an 12 --noflag tc \
    -- pool.example.org A +noedns
batch_run +notcp
DE4="198.51.100.1 198.51.100.2 198.51.100.3"
NET_SOA='^pool\.example\.net\.[[:space:]]+60[[:space:]]+IN[[:space:]]+SOA[[:space:]]+ns\.example\.net\. admin\.example\.net\. 7 '
bq "second zone: apex A from the same snapshot" --status NOERROR --addrs "$AT4" --owner pool.example.net. \
    -- pool.example.net A
bq "second zone: 0.de.pool.example.net" --status NOERROR --addrs "$DE4" -- 0.de.pool.example.net A
bq "second zone: its own SOA" --status NOERROR --an 1 --type SOA --flag aa -- pool.example.net SOA
bq "second zone: its own NS" --status NOERROR --an 1 --has 'NS[[:space:]]+ns\.example\.net\.$' -- pool.example.net NS
bq "second zone: its own data" --status NOERROR --an 1 --type TXT -- mirror.pool.example.net TXT
bq "second zone: the first zone's data is not here" --status NXDOMAIN --auth SOA --has "$NET_SOA" \
    -- www.pool.example.net CNAME
bq "second zone: NXDOMAIN with its own SOA (TTL 60)" --status NXDOMAIN --auth SOA --has "$NET_SOA" \
    -- 4.pool.example.net A
bq "second zone: NODATA with its own SOA" --status NOERROR --an 0 --has "$NET_SOA" -- pool.example.net AAAA
bq "first zone unchanged: mirror is not there" --status NXDOMAIN -- mirror.pool.example.org TXT
bq "vendor on a second line: ubuntu.pool" --status NOERROR --addrs "$AT4" -- ubuntu.pool.example.org A
bq "vendor on the first line still: debian.pool.example.net" --status NOERROR --addrs "$AT4" \
    -- DEBIAN.pool.example.NET A
bq "outside both zones: REFUSED" --status REFUSED -- example.net A
batch_run +tcp +keepopen
stop_dnsd
finish
