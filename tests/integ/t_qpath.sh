#!/usr/bin/env bash
# t_qpath.sh -- tools/qpath-bench, the in-process query path that `make
# bench` counts instructions with: every way of running it answers the same
# queries with the same rcodes (one at a time, in batches, timed with -i,
# with each -w warm-up), and it refuses options it cannot honour.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

QPATH=$DNSD_BUILD/tools/qpath-bench
[[ -x $QPATH ]] || die "no $QPATH (make builds it with the tests)"
[[ -f $GEO_DB ]] || die "no geo test database at $GEO_DB"
setup_conf geo.conf pool.example.org.zone snap-geo.txt

# 9 queries: pool names located by the client (127.0.0.1: no country),
# explicit zones, a zone-file name, a missing name, another zone.
cat >"$T/queries.txt" <<'EOF'
pool.example.org A
2.pool.example.org AAAA
de.pool.example.org A
0.de.pool.example.org A
europe.pool.example.org AAAA
www.pool.example.org A
nosuch.pool.example.org A
pool.example.org SOA
example.com A
EOF
# 9 queries, cycled to 100: 11 full rounds and one partial, so the counts
# below are exact.
WANT=$'NOERROR 78\nNXDOMAIN 11\nREFUSED 11'

rcodes() { awk '/^  [A-Z]/ {print $1, $2}' <<<"$1"; }

run_qpath() { # WHAT ARGS...
    local what=$1 out
    shift
    if ! out=$("$QPATH" -c "$CONF" -d "$T/queries.txt" -n 100 "$@" 2>"$T/qpath.err"); then
        fail "$what: exit status $?" "$(cat "$T/qpath.err")"
        return
    fi
    expect_match "$what: query count" '^queries 100 \(9 distinct\)' "$out"
    expect_eq "$what: rcodes" "$WANT" "$(rcodes "$out")"
    if [[ $* == *-i* ]]; then
        expect_match "$what: time inside the batch calls" 'inside dnsd_query_batch\(\): [0-9]+ ns per query' "$out"
    fi
    expect_no_match "$what: sanitizer report" 'Sanitizer|runtime error' "$(cat "$T/qpath.err")"
}

run_qpath "one query at a time" -b 1
run_qpath "batches of 16" -b 16
run_qpath "batches of 32, timed" -b 32 -i 0
for w in same reverse next far other; do
    run_qpath "timed, warm-up $w" -b 16 -i 0 -w "$w"
done

# Refused: a warm-up without -i, an unknown warm-up, -i with -b 1.
for args in "-w same" "-i 0 -w cold" "-b 1 -i 0"; do
    # shellcheck disable=SC2086
    "$QPATH" -c "$CONF" -d "$T/queries.txt" -n 10 $args >/dev/null 2>"$T/usage.err"
    expect_eq "qpath-bench $args: exit status" 2 "$?"
    expect_match "qpath-bench $args: usage printed" '^usage: qpath-bench' "$(cat "$T/usage.err")"
done

finish
