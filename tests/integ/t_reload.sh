#!/usr/bin/env bash
# t_reload.sh -- SIGHUP re-reads the snapshot: a new server appears, a
# removed one never comes back; a broken snapshot (bad address, unknown
# zone, duplicate address, missing serial, unreadable file) is refused with
# file:line in the log while the old answers keep coming; a good one after
# that is published again.  Snapshots are replaced the way the scorer
# should: write a temp file, then mv.  A problem of the whole file (no
# serial line, file missing) has no line to name: "file:" alone is accepted
# there, every other error must say "file:line:".
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

# write_snap SERIAL ADDRESS...: a snapshot with these @ servers (atomic).
write_snap() {
    local serial=$1 a
    shift
    {
        echo "# written by t_reload"
        [[ $serial == none ]] || echo "serial $serial"
        for a in "$@"; do echo "server $a 1000 15 @ europe de"; done
    } >"$T/snap.tmp"
    mv -f "$T/snap.tmp" "$T/snap.txt"
}

# hup_and_wait REGEX: SIGHUP, then wait for the log to show REGEX once more
# than before (HUP_BEFORE: how many times it was there before).
hup_and_wait() {
    local re=$1 before i
    before=$(count_log "$re")
    HUP_BEFORE=$before
    kill -HUP "$DNSD_PID"
    for ((i = 0; i < 200; i++)); do
        (($(count_log "$re") > before)) && return 0
        sleep 0.05
    done
    return 1
}

A=(192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4)
B=(192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.99)

setup_conf min.conf pool.example.org.zone
conf_add "snapshot snap.txt" "max-answers 4"
write_snap 100 "${A[@]}"
start_dnsd
expect_match "start-up publishes serial 100" 'snapshot 100 published' "$(cat "$DNSD_LOG")"
sample_check "serial 100: pool A x10" 10 pool.example.org A 4
expect_set_eq "serial 100 answers" "${A[*]}" "$SAMPLE_UNION"

write_snap 101 "${B[@]}"
if hup_and_wait 'snapshot 101 published'; then pass; else fail "SIGHUP: no 'snapshot 101 published' in the log" "$(tail -n 5 "$DNSD_LOG")"; fi
sample_check "serial 101: pool A x50" 50 pool.example.org A 4
expect_set_eq "serial 101: 192.0.2.99 appears, 192.0.2.4 never" "${B[*]}" "$SAMPLE_UNION"
sample_check "serial 101: de.pool A x20 over TCP" 20 de.pool.example.org A 4 +tcp +keepopen
expect_set_eq "serial 101: de.pool too" "${B[*]}" "$SAMPLE_UNION"

# Broken snapshots: refused with file:line, the old one keeps serving.
SNAP_RE=$(sed 's/[][\.*^$/]/\\&/g' <<<"$T/snap.txt")
refused() { # DESC LINE-OR-EMPTY MESSAGE-REGEX
    local desc=$1 line=$2 msg=$3 where
    if [[ -n $line ]]; then where="$SNAP_RE:$line:"; else where="$SNAP_RE:([0-9]+:)?"; fi
    if hup_and_wait 'snapshot refused'; then
        pass
        sleep 0.1 # every line of this refusal
        expect_match "$desc: the log names file:line and the problem" \
            "snapshot refused.*$where $msg" "$(grep 'snapshot refused' "$DNSD_LOG" | tail -n +$((HUP_BEFORE + 1)))"
    else
        fail "$desc: no 'snapshot refused' in the log after SIGHUP" "$(tail -n 5 "$DNSD_LOG")"
    fi
    expect_no_match "$desc: nothing published" 'snapshot 10[2-5] published' "$(cat "$DNSD_LOG")"
    if pid_alive "$DNSD_PID"; then pass; else fail "$desc: dnsd died" "$(tail -n 20 "$DNSD_LOG")"; fi
    sample_check "$desc: pool A x20 after the refused reload" 20 pool.example.org A 4
    expect_set_eq "$desc: serial 101 still answers" "${B[*]}" "$SAMPLE_UNION"
}

write_snap 102 192.0.2.1 192.0.2.2 192.0.2.300 192.0.2.5         # line 5: bad address
refused "bad address" 5 ".*192\.0\.2\.300"
{
    echo "serial 103"
    echo "server 192.0.2.1 1000 15 @"
    echo "server 192.0.2.7 1000 15 @ atlantis"                    # line 3: unknown zone
} >"$T/snap.tmp" && mv -f "$T/snap.tmp" "$T/snap.txt"
refused "unknown zone" 3 ".*atlantis"
write_snap 104 192.0.2.1 192.0.2.8 192.0.2.1                       # line 5 repeats line 3
refused "duplicate address" 5 ".*192\.0\.2\.1.*duplicate"
write_snap none 192.0.2.1 192.0.2.9                                # no serial line
refused "missing serial" "" ".*serial"
rm -f "$T/snap.txt"
refused "snapshot file missing" "" ".*(No such file|cannot open)"
write_snap 105 192.0.2.1 192.0.2.2 192.0.2.3 2001:db8::1 2001:db8::1   # line 7: duplicate IPv6
refused "duplicate IPv6 address" 7 ".*2001:db8::1.*duplicate"

# A snapshot with no eligible server at all is valid: pool names get NODATA.
{
    echo "serial 106"
    echo "server 192.0.2.1 1000 5 @"
} >"$T/snap.tmp" && mv -f "$T/snap.tmp" "$T/snap.txt"
if hup_and_wait 'snapshot 106 published'; then pass; else fail "snapshot without eligible servers: not published" "$(tail -n 5 "$DNSD_LOG")"; fi
expect_q "no eligible server anywhere: pool A is NODATA with SOA" --status NOERROR --an 0 --auth SOA -- pool.example.org A
expect_q "no eligible server anywhere: 0.de.pool A is NODATA" --status NOERROR --an 0 --auth SOA -- +tcp 0.de.pool.example.org A

# A good one again.
write_snap 107 192.0.2.50 192.0.2.51
if hup_and_wait 'snapshot 107 published'; then pass; else fail "good snapshot after refused ones: not published" "$(tail -n 5 "$DNSD_LOG")"; fi
sample_check "serial 107: pool A x20" 20 pool.example.org A 2
expect_set_eq "serial 107 answers" "192.0.2.50 192.0.2.51" "$SAMPLE_UNION"
stop_dnsd
finish
