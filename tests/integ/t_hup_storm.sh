#!/usr/bin/env bash
# t_hup_storm.sh -- 100 SIGHUPs in about a second while two valid snapshots
# with disjoint address sets take turns (temp file + mv) and queries run in
# a loop: the daemon stays up, no query goes unanswered, every answer comes
# entirely from one snapshot, the last snapshot wins, and SIGTERM still
# gives exit status 0 with a clean sanitizer log.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

SET_A="192.0.2.1 192.0.2.2 192.0.2.3 192.0.2.4 192.0.2.5 192.0.2.6 192.0.2.7 192.0.2.8"
SET_B="198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.4 198.51.100.5 198.51.100.6 198.51.100.7 198.51.100.8"
SIX_A="2001:db8:a::1 2001:db8:a::2 2001:db8:a::3 2001:db8:a::4"
SIX_B="2001:db8:b::1 2001:db8:b::2 2001:db8:b::3 2001:db8:b::4"
HUPS=100

write_snap() { # SERIAL A|B FILE
    local a
    {
        echo "serial $1"
        if [[ $2 == A ]]; then
            for a in $SET_A $SIX_A; do echo "server $a 1000 15 @ de europe"; done
        else
            for a in $SET_B $SIX_B; do echo "server $a 1000 15 @ de europe"; done
        fi
    } >"$3"
}

setup_conf min.conf pool.example.org.zone
conf_add "snapshot snap.txt" "max-answers 4" "aaaa-subzones 2 3"
# Every snapshot written beforehand, so the storm itself is one mv and one
# kill per SIGHUP, with a 5 ms pause that forks nothing (read -t on a FIFO
# nobody writes to).
for ((i = 1; i <= HUPS; i++)); do
    if ((i % 2)); then write_snap $((1000 + i)) B "$T/snap.$i"; else write_snap $((1000 + i)) A "$T/snap.$i"; fi
done
write_snap 1000 A "$T/snap.txt"
start_dnsd

# Queries in the background until told to stop (at most 300 rounds of 24).
querier() {
    local round
    for ((round = 0; round < 300; round++)); do
        [[ -e $T/stop || ! -d $T ]] && break
        case $((round % 4)) in
        0) sample 24 pool.example.org A ;;
        1) sample 24 0.pool.example.org A +tcp +keepopen ;;
        2) sample 24 de.pool.example.org A ;;
        3) sample 24 2.pool.example.org AAAA ;;
        esac
        echo "round $round"
    done
}
querier >"$T/answers" 2>&1 &
qpid=$!
BG_PIDS+=("$qpid")
sleep 0.2

mkfifo "$T/never"
exec {never}<>"$T/never"
t0=$(now_ms)
for ((i = 1; i <= HUPS; i++)); do
    mv -f "$T/snap.$i" "$T/snap.txt"
    kill -HUP "$DNSD_PID" 2>/dev/null || break
    read -r -t 0.005 -u "$never" _
done
storm_ms=$(($(now_ms) - t0))
exec {never}>&-
note "$HUPS SIGHUPs in $storm_ms ms"
expect_true "all $HUPS SIGHUPs delivered to a live daemon (stopped at $((i - 1)))" test "$i" -gt "$HUPS"
# The pace depends on this machine's load, not on dnsd: only reported.
((storm_ms < 3000)) || note "warning: the storm took $storm_ms ms (machine busy?), not about a second"

final=$((1000 + HUPS))
if wait_log "snapshot $final published" 10; then pass; else fail "the last snapshot ($final) was not published within 10 s" "$(tail -n 5 "$DNSD_LOG")"; fi
sleep 0.3
touch "$T/stop"
wait "$qpid"
BG_PIDS=()

rounds=$(grep -c '^round ' "$T/answers")
answers=$(grep -v '^round ' "$T/answers")
nans=$(grep -c . <<<"$answers")
expect_true "queries ran during the storm ($rounds rounds)" test "$rounds" -ge 4
expect_eq "every query answered (24 per round)" $((rounds * 24)) "$nans"
expect_no_match "every answer NOERROR" '^(NXDOMAIN|SERVFAIL|REFUSED|FORMERR|[^N])' "$answers"
# Each response line: status then addresses; all from A or all from B.
mixed=$(awk -v a="$SET_A $SIX_A" -v b="$SET_B $SIX_B" '
    BEGIN { n = split(a, x, " "); for (i = 1; i <= n; i++) A[x[i]] = 1
            n = split(b, y, " "); for (i = 1; i <= n; i++) B[y[i]] = 1 }
    { ina = inb = 0
      for (i = 2; i <= NF; i++) { if ($i in A) ina++; else if ($i in B) inb++; else { print "unknown " $0; next } }
      if (NF < 3) print "too few " $0
      else if (ina && inb) print "mixed " $0 }' <<<"$answers")
expect_eq "no answer mixes the two snapshots (or is short, or has a stranger)" "" "$mixed"
fromA=$(grep -c '192\.0\.2\.\|2001:db8:a::' <<<"$answers")
fromB=$(grep -c '198\.51\.100\.\|2001:db8:b::' <<<"$answers")
note "answers from A: $fromA, from B: $fromB, reloads published: $(count_log 'snapshot [0-9]+ published')"

expect_true "dnsd still running after the storm" pid_alive "$DNSD_PID"
# The last snapshot written (odd i: B, even i: A) is the one serving.
if ((HUPS % 2)); then last4=$SET_B last6=$SIX_B; else last4=$SET_A last6=$SIX_A; fi
sample_check "after the storm: pool A x20" 20 pool.example.org A 4
expect_subset "after the storm: the last snapshot answers" "$last4" "$SAMPLE_UNION"
sample_check "after the storm: 3.pool AAAA x10 over TCP" 10 3.pool.example.org AAAA 2 +tcp +keepopen
expect_subset "after the storm: AAAA from the last snapshot" "$last6" "$SAMPLE_UNION"
expect_no_match "no reload refused during the storm" 'snapshot refused' "$(cat "$DNSD_LOG")"
stop_dnsd
expect_match "the daemon reports its reloads when stopping" 'stopped after [0-9]+ reloads?' "$(tail -n 3 "$DNSD_LOG")"
finish
