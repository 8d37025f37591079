#!/usr/bin/env bash
# t_startup_errors.sh -- `dnsd -c FILE -t` and start-up: a good config passes
# (exit 0); each kind of error (unknown directive, bad listen address, bad
# values, zone file syntax error, snapshot error, missing files, port in use)
# gives a non-zero exit and "file:line: message" on stderr, every error of a
# run reported at once, and no sanitizer report on those exit paths either.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

# run_dnsd ARGS...: run in the foreground (cwd /, at most 10 s); sets RC, OUT.
run_dnsd() {
    OUT=$(cd / && timeout -k 2 10 "$DNSD" "$@" 2>&1)
    RC=$?
}

# expect_error DESC CONF REGEX...: both `-t` and a real start fail (not by
# our timeout) and print every REGEX.
expect_error() {
    local desc=$1 conf=$2 mode re
    shift 2
    for mode in -t start; do
        if [[ $mode == -t ]]; then run_dnsd -c "$conf" -t; else run_dnsd -c "$conf"; fi
        if [[ $RC -ne 0 && $RC -ne 124 && $RC -ne 137 ]]; then
            pass
        else
            fail "$desc ($mode): expected a non-zero exit, got $RC" "$OUT"
            continue
        fi
        for re in "$@"; do expect_match "$desc ($mode): message" "$re" "$OUT"; done
        if log_has_sanitizer_report <(printf '%s\n' "$OUT"); then
            fail "$desc ($mode): sanitizer report" "$OUT"
        else
            pass
        fi
    done
}

esc() { sed 's/[][\.*^$/]/\\&/g' <<<"$1"; }

setup_conf basic.conf pool.example.org.zone snap-basic.txt
GOOD=$CONF
C=$(esc "$CONF")

# -- the good config
run_dnsd -c "$GOOD" -t
expect_eq "-t on the good config exits 0 (output: $OUT)" 0 "$RC"
expect_match "-t says it is OK" 'OK' "$OUT"
out=$(cd "$T" && timeout 10 "$DNSD" -c dnsd.conf -t 2>&1)
expect_eq "-t with a relative config path (paths against its folder) exits 0 (output: $out)" 0 "$?"
run_dnsd
expect_eq "no -c: usage error, exit 2" 2 "$RC"
run_dnsd -c "$T/no-such.conf" -t
expect_true "missing config file: non-zero exit ($RC)" test "$RC" -ne 0
expect_match "missing config file: named" 'no-such\.conf' "$OUT"

# -- config errors: each line reported with its number
cp "$GOOD" "$T/bad1.conf"
cat >>"$T/bad1.conf" <<EOF
frobnicate yes
listen 127.0.0.1:99999
listen [::1
listen 300.1.2.3:53
EOF
n=$(grep -c '' "$GOOD")
B=$(esc "$T/bad1.conf")
expect_error "unknown directive and bad listen addresses" "$T/bad1.conf" \
    "^$B:$((n + 1)): .*frobnicate" "^$B:$((n + 2)): .*99999" "^$B:$((n + 3)): .*::1" "^$B:$((n + 4)): .*300\.1\.2\.3"

cat >"$T/bad2.conf" <<EOF
listen 127.0.0.1:$PORT
zone pool.example.org pool.example.org.zone
snapshot snap-basic.txt
ttl -1
max-answers 0
max-answers 17
min-score lots
subzones 17
aaaa-subzones 2 2
ecs maybe
threads 0
tcp-timeout 0
tcp-clients 0
min-servers 0
vendor de
snapshot snap-basic.txt
listen 127.0.0.1:$PORT
EOF
B=$(esc "$T/bad2.conf")
expect_error "bad values, each on its own line" "$T/bad2.conf" \
    "^$B:4: .*ttl" "^$B:5: .*max-answers" "^$B:6: .*max-answers" "^$B:7: .*min-score" "^$B:8: .*subzones" \
    "^$B:9: .*aaaa-subzones" "^$B:10: .*ecs" "^$B:11: .*threads" "^$B:12: .*tcp-timeout" \
    "^$B:13: .*tcp-clients" "^$B:14: .*min-servers" "^$B:15: .*vendor" "^$B:16: .*snapshot" "^$B:17: .*listen"

cat >"$T/bad3.conf" <<EOF
listen 127.0.0.1:$PORT
zone pool.example.org pool.example.org.zone
snapshot snap-basic.txt
subzones 2
aaaa-subzones 2 3
EOF
B=$(esc "$T/bad3.conf")
expect_error "aaaa-subzones beyond subzones" "$T/bad3.conf" "^$B:5: .*aaaa-subzones"

# -- zone file syntax error (line 7), snapshot error (line 4): both reported
cat >"$T/broken.zone" <<'EOF'
$ORIGIN pool.example.org.
$TTL 3600
@       IN SOA  ns1.example.org. hostmaster.example.org. 1 3600 600 1209600 300
        IN NS   ns1.example.org.
        IN NS   ns2.example.org.
ok      IN TXT  "fine"
broken  IN A    300.1.2.3
EOF
cat >"$T/broken-snap.txt" <<'EOF'
# a snapshot with an error on line 4
serial 5
server 192.0.2.1 1000 15 @
server 192.0.2.2 fast 15 @
EOF
sed -e 's|^zone .*|zone pool.example.org broken.zone|' "$GOOD" >"$T/bad4.conf"
expect_error "zone file syntax error" "$T/bad4.conf" "^$(esc "$T/broken.zone"):7: "
sed -e 's|^snapshot .*|snapshot broken-snap.txt|' "$GOOD" >"$T/bad5.conf"
expect_error "snapshot error" "$T/bad5.conf" "^$(esc "$T/broken-snap.txt"):4: .*fast"
sed -e 's|^zone .*|zone pool.example.org broken.zone|' -e 's|^snapshot .*|snapshot broken-snap.txt|' "$GOOD" >"$T/bad6.conf"
expect_error "zone and snapshot errors reported in one run" "$T/bad6.conf" \
    "^$(esc "$T/broken.zone"):7: " "^$(esc "$T/broken-snap.txt"):4: "

# -- missing files
sed -e 's|^snapshot .*|snapshot missing-snap.txt|' "$GOOD" >"$T/bad7.conf"
expect_error "missing snapshot file" "$T/bad7.conf" "missing-snap\.txt"
sed -e 's|^zone .*|zone pool.example.org missing.zone|' "$GOOD" >"$T/bad8.conf"
expect_error "missing zone file" "$T/bad8.conf" "missing\.zone"
cp "$GOOD" "$T/bad9.conf"
echo "geoip missing.mmdb" >>"$T/bad9.conf"
expect_error "missing geoip database" "$T/bad9.conf" "missing\.mmdb"
printf 'not a maxmind db\n' >"$T/junk.mmdb"
cp "$GOOD" "$T/bad10.conf"
echo "geoip junk.mmdb" >>"$T/bad10.conf"
expect_error "geoip file that is not a MaxMind DB" "$T/bad10.conf" "junk\.mmdb"

# -- the port is taken by another process (here: another dnsd)
CONF=$GOOD
start_dnsd
run_dnsd -c "$GOOD"
expect_true "second dnsd on the same port: non-zero exit ($RC)" test "$RC" -ne 0 -a "$RC" -ne 124
expect_match "second dnsd: 'Address already in use' with file:line of the listen" \
    "^$C:[0-9]+: .*Address already in use" "$OUT"
expect_no_match "second dnsd: never ready" '(^|[^a-z])ready([^a-z]|$)' "$OUT"
expect_q "the first dnsd still answers" --status NOERROR --an 4 -- pool.example.org A
expect_q "the first dnsd still answers over TCP" --status NOERROR --an 4 -- +tcp pool.example.org A
stop_dnsd
finish
