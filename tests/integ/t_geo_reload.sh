#!/usr/bin/env bash
# t_geo_reload.sh -- the geo database is re-read on SIGHUP, in the same swap
# as the snapshot, only when its file changed; a missing or corrupt database
# on reload is refused with a clear message while the old one keeps serving
# and the snapshot reload still goes ahead.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

GEO=$ROOT/tests/data/geo
CN_TXT='country cn continent asia'

# hup SERIAL: rewrite the snapshot with this serial, SIGHUP, wait for it.
hup() {
    sed "s/^serial .*/serial $1/" "$DATA/snap-geo.txt" >"$T/snap.tmp"
    mv -f "$T/snap.tmp" "$T/snap-geo.txt"
    kill -HUP "$DNSD_PID"
    if wait_log "snapshot $1 published"; then pass; else fail "no 'snapshot $1 published'" "$(tail -n 5 "$DNSD_LOG")"; fi
}

country_txt() { q _country.pool.example.org TXT +short +subnet=175.16.199.0/24; }

cp "$GEO/GeoIP2-Country-Test.mmdb" "$T/geo.mmdb"
setup_conf geo.conf pool.example.org.zone snap-geo.txt
sed -i "s|^geoip .*|geoip geo.mmdb|" "$CONF"
start_dnsd
expect_match "start: 175.16.199.0/24 is CN" "$CN_TXT" "$(country_txt)"
expect_eq "start: loaded once" 1 "$(count_log 'geoip .* loaded')"

# Unchanged file: the database is kept, not read again.
hup 4001
expect_eq "unchanged file: not re-read" 1 "$(count_log 'geoip .* loaded')"
expect_match "unchanged file: still CN" "$CN_TXT" "$(country_txt)"

# Changed file (a flat-layout database that does not know that network).
cp "$GEO/flat-country-test.mmdb" "$T/geo.tmp"
mv -f "$T/geo.tmp" "$T/geo.mmdb"
hup 4002
expect_eq "changed file: re-read" 2 "$(count_log 'geoip .* loaded')"
expect_match "changed file: new answers" 'country @ continent @' "$(country_txt)"

# Corrupt file: refused, the flat one keeps serving, the snapshot moves on.
head -c 700 "$GEO/GeoIP2-Country-Test.mmdb" >"$T/geo.tmp"
mv -f "$T/geo.tmp" "$T/geo.mmdb"
hup 4003
expect_match "corrupt file: refused in the log" 'geoip reload refused, the previous database keeps serving: .*geo\.mmdb' "$(cat "$DNSD_LOG")"
expect_match "corrupt file: previous database answers" 'country @ continent @' "$(country_txt)"

# Missing file: refused too.
rm -f "$T/geo.mmdb"
hup 4004
expect_eq "missing file: refused" 2 "$(count_log 'geoip reload refused')"
expect_match "missing file: previous database answers" 'country @ continent @' "$(country_txt)"

# Back to the real database.
cp "$GEO/GeoIP2-Country-Test.mmdb" "$T/geo.mmdb"
hup 4005
expect_match "restored file: CN again" "$CN_TXT" "$(country_txt)"
stop_dnsd
finish
