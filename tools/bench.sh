#!/usr/bin/env bash
# bench.sh -- `make bench`: dnsd vs a trivial responder under dnsperf, instructions per query, snapshot scale.
#
# Usage: tools/bench.sh [BUILD_DIR]          (default: build; run from anywhere)
#
# 1. Generates (tools/gen-bench) a snapshot of 4,000 servers (3,000 IPv4,
#    1,000 IPv6, ~60 countries, 6 continents), a zone, a dnsperf query file
#    mixing global, numbered, country, continent and vendor names, A and
#    AAAA, and, when the geo database is there, the same mix as wire queries
#    that each carry an EDNS Client Subnet from a real country (dnsperf -B).
# 2. Starts tools/trivial-responder (the machine's floor) and dnsd with one
#    worker thread, both pinned to CPU 0, and runs dnsperf pinned to CPU 1
#    against each in turn, BENCH_ROUNDS rounds of BENCH_SECONDS per row,
#    alternating so that a busy moment on the machine hits both alike.
#    Server CPU comes from /proc/PID/stat right before and after each run.
#    The figure that decides is queries per busy server core (q/s divided
#    by the share of a core the server used), because on two cores dnsperf
#    saturates before either server does.
#    Optional: when gdnsd is installed (Debian package gdnsd), it is a third
#    server, configured by build/tools/gen-gdnsd to serve the same pool from
#    the same snapshot and geo database, with one UDP thread; its rows give
#    the target "dnsd's user CPU per query at most a fifth of gdnsd's".
#    Optional: BENCH_BASELINE=DIR adds DIR/dnsd (another build, say of the
#    commit before a change) as "baseline dnsd" rows in the same rounds,
#    and prints dnsd's queries per busy core over the baseline's, round by
#    round: a paired before/after that the machine's drift hits alike.
#    When perf works, one more run per dnsd and gdnsd row is sampled
#    (cpu-clock) to split the rounds' CPU time into user and system more
#    finely than the clock ticks of /proc can; that split decides the
#    gdnsd target.
# 3. Instructions per query through the in-process query path
#    (build/tools/qpath-bench): perf stat -e instructions:u where the CPU
#    exposes the counter, else callgrind on a fixed number of queries.
# 4. Snapshot scale: dnsd on a 100,000-server snapshot: time to ready, RSS,
#    then a new snapshot and SIGHUP: reload time and RSS after.
#
# Everything lives in a mktemp -d folder removed at exit; only the processes
# this script started are stopped, by PID.
#
# Environment:
#   BENCH_SECONDS=3         length of each dnsperf run
#   BENCH_ROUNDS=5          rounds; each round runs every row once, in turn
#   BENCH_CLIENTS=1         dnsperf -c
#   BENCH_OUTSTANDING=100   dnsperf -q (enough to saturate dnsperf's core on
#                           loopback without overflowing a socket buffer)
#   BENCH_QPS=N             dnsperf -Q N: a fixed offered rate instead of
#                           dnsperf's full rate (both servers then see the
#                           same arrival pattern; see the README)
#   BENCH_QPATH_QUERIES=20000   queries for the instruction count
#   BENCH_SCALE_SERVERS=100000  servers for the snapshot scale test (0 skips)
#   BENCH_SERVER_CPU=0 BENCH_CLIENT_CPU=1
#   BENCH_GEODB=FILE        geo database (default: configs/geo/ default one,
#                           fetched by tools/fetch-geodb.sh; a missing file
#                           drops the ECS rows and the geoip line)
#   BENCH_KEEP=1            keep the temp folder (its path is printed)
#   BENCH_GDNSD=0           skip the gdnsd rows even when gdnsd is installed
#   BENCH_BASELINE=DIR      also run DIR/dnsd as "baseline dnsd" rows (above)
#   BENCH_USER_SAMPLING=0   no sampled runs: clock ticks split user and system
#   BENCH_SAMPLE_HZ=20000   perf's sampling rate for those runs
#   BENCH_IPQ_TOOL=perf|callgrind|none   force the instruction counter (default:
#                           perf when instructions:u works, else callgrind)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${1:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac

SECS=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-5}
CLIENTS=${BENCH_CLIENTS:-1}
OUTSTANDING=${BENCH_OUTSTANDING:-100}
QPS_LIMIT=${BENCH_QPS:-}
QPATH_QUERIES=${BENCH_QPATH_QUERIES:-20000}
SCALE_SERVERS=${BENCH_SCALE_SERVERS:-100000}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
APEX=pool.example.org
READY_TIMEOUT=60        # seconds for a server to say "ready"

DNSD=$BUILD/dnsd
GEN=$BUILD/tools/gen-bench
TRIVIAL=$BUILD/tools/trivial-responder
QPATH=$BUILD/tools/qpath-bench
GEODB=${BENCH_GEODB:-$ROOT/configs/geo/geo-whois-asn-country.mmdb}

say() { printf '%s\n' "bench: $*" >&2; }
die() { say "$*"; exit 1; }

for f in "$DNSD" "$GEN" "$TRIVIAL" "$QPATH"; do
    [ -x "$f" ] || die "$f is missing: run 'make bench' (or make all build/tools/...)"
done
for c in dnsperf taskset getconf; do
    command -v "$c" >/dev/null || die "$c is not installed (make deps-bench installs it)"
done
[ "$(nproc)" -ge 2 ] || say "warning: fewer than 2 CPUs; server and dnsperf share a core"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/pooldns-bench.XXXXXX")
STARTED=()

stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local pid
    for pid in "${STARTED[@]}"; do
        kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
    done
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TICKS=$(getconf CLK_TCK)
LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)

# True when some UDP or TCP socket uses port $1, as `ss -lun` / `ss -ltn`
# would tell; read from /proc so that a machine without iproute2 works too.
port_used() {
    awk -v p="$(printf ':%04X' "$1")" 'FNR > 1 && substr($2, length($2) - 4) == p { f = 1 }
        END { exit !f }' /proc/net/udp /proc/net/tcp /proc/net/udp6 /proc/net/tcp6 2>/dev/null
}

# A port that neither UDP nor TCP uses (dnsd opens both), below the
# kernel's ephemeral range, where no client socket can get it as its own
# source port (see pick_port in tests/integ/lib.sh).
pick_port() {
    local p lo=32768 hi
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    [ "$lo" -gt 11000 ] || lo=11000
    for _ in $(seq 100); do
        p=$((10000 + RANDOM % (lo - 10000)))
        if ! port_used "$p"; then
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# start_server LOG CMD...: runs CMD pinned to the server CPU (taskset execs,
# so $! is the server's own PID), sets SERVER_PID, waits for the word
# "ready" in its output (or for $READY_WORDS, e.g. READY_WORDS="DNS
# listeners started" start_server ... for gdnsd).
start_server() {
    local log=$1 ready=${READY_WORDS:-ready}
    shift
    taskset -c "$SERVER_CPU" "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    STARTED+=("$SERVER_PID")
    for _ in $(seq $((READY_TIMEOUT * 20))); do
        grep -qw -- "$ready" "$log" && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            say "$1 exited before it was ready; its output:"
            sed 's/^/    /' "$log" >&2
            return 1
        fi
        sleep 0.05
    done
    say "$1 not ready after ${READY_TIMEOUT}s; its output:"
    sed 's/^/    /' "$log" >&2
    return 1
}

# utime and stime of a process, in clock ticks (fields 14 and 15 of stat;
# the name in field 2 may hold spaces, so count from the last ')').
proc_cpu() {
    sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'
}

proc_status_kb() {    # PID FIELD -> kB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

now_ms() { date +%s%3N; }

RESULTS=$TMP/results.tsv
: >"$RESULTS"
ERRORS=""      # what failed to run (not targets missed): non-empty exits 1

# run_load ROUND LABEL PID PORT FILE [dnsperf options...]: one dnsperf run,
# one results line: round label qps avg max lost sent completed utime stime
# runtime (seconds, CPU in seconds).
run_load() {
    local round=$1 label=$2 pid=$3 port=$4 file=$5 out c0 c1
    shift 5
    out=$TMP/dnsperf.$round.$(echo "$label" | tr -c 'a-zA-Z0-9\n' '_').txt
    [ -n "$QPS_LIMIT" ] && set -- "$@" -Q "$QPS_LIMIT"
    c0=$(proc_cpu "$pid")
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$SECS" \
        -c "$CLIENTS" -q "$OUTSTANDING" -t 1 "$@" >"$out" 2>&1 ||
        { sed 's/^/    /' "$out" >&2; die "dnsperf failed for $label"; }
    if ! c1=$(proc_cpu "$pid" 2>/dev/null); then
        say "$label: the server died during the run; the end of its log:"
        tail -n 20 "$TMP/dnsd.log" "$TMP/baseline.log" "$TMP/trivial.log" "$TMP/gdnsd.log" 2>/dev/null |
            sed 's/^/    /' >&2
        die "cannot go on"
    fi
    awk -v round="$round" -v label="$label" -v c0="$c0" -v c1="$c1" -v tck="$TICKS" '
        /Queries sent:/       { sent = $3 }
        /Queries completed:/  { done = $3 }
        /Queries lost:/       { lost = $3 }
        /Queries per second:/ { qps = $4 }
        /Run time \(s\):/     { rt = $4 }
        /Average Latency/     { avg = $4; max = $NF; sub(/\)/, "", max) }
        END {
            split(c0, a, " "); split(c1, b, " ")
            printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%s\n", round, label, qps, avg, max,
                lost, sent, done, (b[1] - a[1]) / tck, (b[2] - a[2]) / tck, rt
        }' "$out" >>"$RESULTS"
    tail -n 1 "$RESULTS" | awk -F'\t' '{
        cpu = $9 + $10
        printf "bench:   round %s  %-26s %8.0f q/s, lost %s, %.0f q/busy core\n", $1, $2, $3, $6,
            (cpu > 0 ? $8 / cpu : 0) }' >&2
}

# ---- inputs ---------------------------------------------------------------

HAVE_GEO=0
if [ -z "${BENCH_GEODB:-}" ] && [ -x tools/fetch-geodb.sh ]; then
    tools/fetch-geodb.sh configs/geo >&2 || say "warning: could not fetch the geo database"
fi
[ -f "$GEODB" ] && HAVE_GEO=1
[ $HAVE_GEO = 1 ] || say "no geo database: ECS rows skipped, dnsd runs without geoip"

say "generating inputs in $TMP"
"$GEN" snapshot -n 4000 -6 25 -s 1 -S 2026112601 >"$TMP/snapshot.txt"
"$GEN" queries -z "$APEX" -n 100000 -s 1 >"$TMP/queries.txt"
if [ $HAVE_GEO = 1 ]; then
    "$GEN" wire -z "$APEX" -g "$GEODB" -n 100000 -s 1 >"$TMP/queries-ecs.bin"
fi

cat >"$TMP/$APEX.zone" <<EOF2
\$ORIGIN $APEX.
\$TTL 3600
@   IN SOA ns1.example.org. hostmaster.example.org. 2026112601 7200 3600 1209600 150
@   IN NS  ns1.example.org.
@   IN NS  ns2.example.org.
EOF2

# write_conf FILE PORT SNAPSHOT: the bench config, one worker.
write_conf() {
    {
        echo "# pooldns bench config (generated by tools/bench.sh)"
        echo "listen 127.0.0.1:$2"
        echo "zone $APEX $TMP/$APEX.zone"
        echo "snapshot $3"
        echo "ttl 150"
        echo "max-answers 4"
        echo "min-score 10"
        echo "aaaa-subzones 2 3"
        echo "vendor debian android"
        [ $HAVE_GEO = 1 ] && echo "geoip $GEODB"
        echo "threads 1"
    } >"$1"
}

# ---- throughput -------------------------------------------------------------

# Both servers run side by side on the server CPU (the idle one sleeps in
# recvmmsg or epoll and costs nothing), and the runs alternate between them
# round after round: whatever else the machine does at some moment hurts
# both rows alike, and the ratio is taken within each round.
say "throughput: $ROUNDS rounds of ${SECS}s per row, servers on CPU $SERVER_CPU," \
    "dnsperf -c $CLIENTS -q $OUTSTANDING on CPU $CLIENT_CPU"

TPORT=$(pick_port)
start_server "$TMP/trivial.log" "$TRIVIAL" "127.0.0.1:$TPORT" || die "trivial responder failed"
TPID=$SERVER_PID

DPORT=$(pick_port)
while [ "$DPORT" = "$TPORT" ]; do DPORT=$(pick_port); done
write_conf "$TMP/dnsd.conf" "$DPORT" "$TMP/snapshot.txt"
DNSD_OK=1
if start_server "$TMP/dnsd.log" "$DNSD" -c "$TMP/dnsd.conf"; then
    DPID=$SERVER_PID
else
    DNSD_OK=0
    ERRORS="$ERRORS dnsd-start"
    say "dnsd did not start: its rows are missing"
fi

# ---- optional: a baseline build of dnsd ---------------------------------------

# BENCH_BASELINE=DIR: DIR/dnsd runs in the same rounds as dnsd, on its own
# port, with the same configuration, so the two builds are compared within
# each round (its order against dnsd alternates from round to round).
BASE_OK=0
if [ -n "${BENCH_BASELINE:-}" ]; then
    BASE_DNSD=$BENCH_BASELINE/dnsd
    case $BASE_DNSD in /*) ;; *) BASE_DNSD=$ROOT/$BASE_DNSD ;; esac
    [ -x "$BASE_DNSD" ] || die "BENCH_BASELINE: $BASE_DNSD is not an executable"
    BPORT=$(pick_port)
    while [ "$BPORT" = "$TPORT" ] || [ "$BPORT" = "$DPORT" ]; do BPORT=$(pick_port); done
    write_conf "$TMP/baseline.conf" "$BPORT" "$TMP/snapshot.txt"
    if start_server "$TMP/baseline.log" "$BASE_DNSD" -c "$TMP/baseline.conf"; then
        BPID=$SERVER_PID
        BASE_OK=1
        say "baseline: $BASE_DNSD"
    else
        ERRORS="$ERRORS baseline-start"
        say "the baseline dnsd did not start: its rows are missing"
    fi
fi

# dnsd_rows ROUND QUERYSET FILE [dnsperf options...]: dnsd's row and the
# baseline's, the baseline first in even rounds.
dnsd_rows() {
    local round=$1 set=$2 file=$3
    shift 3
    if [ $BASE_OK = 1 ] && [ $((round % 2)) = 0 ]; then
        run_load "$round" "baseline dnsd ($set)" "$BPID" "$BPORT" "$file" "$@"
    fi
    [ $DNSD_OK = 1 ] && run_load "$round" "dnsd ($set)" "$DPID" "$DPORT" "$file" "$@"
    if [ $BASE_OK = 1 ] && [ $((round % 2)) = 1 ]; then
        run_load "$round" "baseline dnsd ($set)" "$BPID" "$BPORT" "$file" "$@"
    fi
    return 0
}

# ---- optional: gdnsd --------------------------------------------------------

# gdnsd 3 (Debian package gdnsd) as a third server when it is installed:
# tools/gen-gdnsd writes a config that serves the same zone from the same
# snapshot and geo database (weighted plugin for the tables dnsd builds,
# geoip plugin with a nets file for the client's country; see the README and
# tools/gen-gdnsd.c), one UDP and one TCP thread on one address, pinned and
# measured like the others.
GDNSD_OK=0
GEN_GDNSD=$BUILD/tools/gen-gdnsd
if [ "${BENCH_GDNSD:-1}" = 0 ]; then
    GDNSD_NOTE="gdnsd: rows skipped (BENCH_GDNSD=0)"
elif ! command -v gdnsd >/dev/null; then
    GDNSD_NOTE="gdnsd: not installed, rows skipped (apt-get install gdnsd to add them)"
elif [ ! -x "$GEN_GDNSD" ]; then
    GDNSD_NOTE="gdnsd: $GEN_GDNSD is missing (make bench builds it), rows skipped"
    ERRORS="$ERRORS gen-gdnsd"
else
    GPORT=$(pick_port)
    while [ "$GPORT" = "$TPORT" ] || [ "$GPORT" = "$DPORT" ] || [ "$GPORT" = "${BPORT:-}" ]; do
        GPORT=$(pick_port)
    done
    GDIR=$TMP/gdnsd
    GEN_ARGS=(-s "$TMP/snapshot.txt" -z "$APEX" -Z "$TMP/$APEX.zone" -o "$GDIR"
        -l "127.0.0.1:$GPORT" -t 150 -m 10 -a 4 -V debian -V android)
    [ $HAVE_GEO = 1 ] && GEN_ARGS+=(-g "$GEODB")
    gt0=$(now_ms)
    if ! "$GEN_GDNSD" "${GEN_ARGS[@]}" 2>"$TMP/gen-gdnsd.log"; then
        sed 's/^/    /' "$TMP/gen-gdnsd.log" >&2
        GDNSD_NOTE="gdnsd: tools/gen-gdnsd failed, rows skipped"
        ERRORS="$ERRORS gen-gdnsd"
    elif ! READY_WORDS="DNS listeners started" start_server "$TMP/gdnsd.log" \
        gdnsd -c "$GDIR" start; then
        GDNSD_NOTE="gdnsd: did not start, rows skipped"
        ERRORS="$ERRORS gdnsd-start"
    else
        GPID=$SERVER_PID
        GDNSD_OK=1
        gver=$(sed -n 's/.*gdnsd version \([^ ]*\).*/\1/p' "$TMP/gdnsd.log" | head -n 1)
        GDNSD_NOTE="gdnsd ${gver:-?}: config generated and server ready in $(($(now_ms) - gt0)) ms,"
        GDNSD_NOTE="$GDNSD_NOTE RSS $(($(proc_status_kb "$GPID" VmRSS) / 1024)) MB;"
        GDNSD_NOTE="$GDNSD_NOTE $(sed -n 's/^gen-gdnsd: [^:]*: //p' "$TMP/gen-gdnsd.log")"
    fi
fi
say "$GDNSD_NOTE"

for round in $(seq "$ROUNDS"); do
    run_load "$round" "trivial responder" "$TPID" "$TPORT" "$TMP/queries.txt"
    dnsd_rows "$round" "plain queries" "$TMP/queries.txt"
    [ $GDNSD_OK = 1 ] && run_load "$round" "gdnsd (plain queries)" "$GPID" "$GPORT" "$TMP/queries.txt"
    if [ $HAVE_GEO = 1 ]; then
        run_load "$round" "trivial responder (ECS)" "$TPID" "$TPORT" "$TMP/queries-ecs.bin" -B
        dnsd_rows "$round" "ECS queries" "$TMP/queries-ecs.bin" -B
        [ $GDNSD_OK = 1 ] &&
            run_load "$round" "gdnsd (ECS queries)" "$GPID" "$GPORT" "$TMP/queries-ecs.bin" -B
    fi
done

# ---- user CPU by sampling ---------------------------------------------------

# /proc's utime and stime are exact together but split at clock ticks
# (CLK_TCK/HZ: 250 a second here), and dnsd spends under a tenth of its CPU
# in user space: over the rounds that is a few hundred ticks, too few to
# decide "a fifth of gdnsd's" twice alike.  So when perf works, one more
# run per dnsd and gdnsd row is sampled at SAMPLE_HZ (cpu-clock, this
# process only), and the user share of its samples splits the exact CPU
# time of the rounds.  A separate run, so the sampling's own cost stays out
# of the throughput figures.
SAMPLES=$TMP/usershare.tsv
: >"$SAMPLES"
SAMPLE_HZ=${BENCH_SAMPLE_HZ:-20000}
sampling_ok() {
    [ "${BENCH_USER_SAMPLING:-1}" != 0 ] || return 1
    command -v perf >/dev/null || return 1
    # Samples in the kernel are what the split is about: without root or
    # perf_event_paranoid <= 1, perf would quietly keep only user samples.
    [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 3)" -le 1 ] ||
        return 1
    perf record -q -e cpu-clock -F "$SAMPLE_HZ" -o "$TMP/perf.probe.data" -- true >/dev/null 2>&1
}

# sample_user LABEL PID PORT FILE [dnsperf options...]: one line in
# $SAMPLES: label, user share (%), samples.
sample_user() {
    local label=$1 pid=$2 port=$3 file=$4 out data dp
    shift 4
    out=$TMP/sample.$(echo "$label" | tr -c 'a-zA-Z0-9\n' '_')
    data=$out.data
    [ -n "$QPS_LIMIT" ] && set -- "$@" -Q "$QPS_LIMIT"
    taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l $((SECS + 2)) \
        -c "$CLIENTS" -q "$OUTSTANDING" -t 1 "$@" >"$out.txt" 2>&1 &
    dp=$!
    sleep 1
    perf record -q -e cpu-clock -F "$SAMPLE_HZ" -p "$pid" -o "$data" -- sleep "$SECS" \
        >"$out.perf" 2>&1 || { sed 's/^/    /' "$out.perf" >&2; say "perf failed for $label"; }
    wait "$dp" || say "dnsperf failed for $label (sampling run)"
    perf report -i "$data" --stdio --show-cpu-utilization --sort pid -n 2>/dev/null |
        awk -v l="$label" '$1 ~ /%$/ && $4 ~ /^[0-9]+$/ { u += $3 + 0; n += $4 }
            END { if (n > 0 && u < 99) printf "%s\t%.3f\t%d\n", l, u, n }' >>"$SAMPLES"
    rm -f "$data"
}

if sampling_ok; then
    say "user CPU split: one sampled run (perf, ${SAMPLE_HZ} Hz) per dnsd and gdnsd row"
    [ $DNSD_OK = 1 ] && sample_user "dnsd (plain queries)" "$DPID" "$DPORT" "$TMP/queries.txt"
    [ $GDNSD_OK = 1 ] && sample_user "gdnsd (plain queries)" "$GPID" "$GPORT" "$TMP/queries.txt"
    if [ $HAVE_GEO = 1 ]; then
        [ $DNSD_OK = 1 ] &&
            sample_user "dnsd (ECS queries)" "$DPID" "$DPORT" "$TMP/queries-ecs.bin" -B
        [ $GDNSD_OK = 1 ] &&
            sample_user "gdnsd (ECS queries)" "$GPID" "$GPORT" "$TMP/queries-ecs.bin" -B
    fi
else
    say "user CPU split: clock ticks only (perf record not available or BENCH_USER_SAMPLING=0)"
fi

stop_pid "$TPID"
[ $DNSD_OK = 1 ] && stop_pid "$DPID"
[ $BASE_OK = 1 ] && stop_pid "$BPID"
[ $GDNSD_OK = 1 ] && stop_pid "$GPID"

# One row per server and query set, summed over the rounds.  q/busy core is
# q/s divided by the share of one core the server used: queries completed
# per CPU second.  The ratio to the trivial responder (on the same queries)
# is the median of the per-round ratios.
print_table() {
    echo
    echo "Throughput ($ROUNDS rounds x ${SECS}s per row; servers pinned to CPU $SERVER_CPU," \
        "dnsperf -c $CLIENTS -q $OUTSTANDING${QPS_LIMIT:+ -Q $QPS_LIMIT} pinned to CPU $CLIENT_CPU)"
    awk -F'\t' -v rounds="$ROUNDS" -v rate="${QPS_LIMIT:+at $QPS_LIMIT q/s}" '
        function base_of(label) {
            return label ~ /ECS/ ? "trivial responder (ECS)" : "trivial responder"
        }
        function median(s,    v, n, i, j, t) {
            n = split(s, v, " ")
            for (i = 1; i <= n; i++)
                for (j = i + 1; j <= n; j++)
                    if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
            return n == 0 ? "" : (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
        }
        FILENAME == ARGV[1] { ushare[$1] = $2; nsamp[$1] = $3; next }
        {
            l = $2
            if (!(l in done)) order[++nrow] = l
            done[l] += $8; lost[l] += $6; rt[l] += $11; ut[l] += $9; st[l] += $10
            lat[l] += $4 * $8
            if ($5 + 0 > max[l] + 0) max[l] = $5
            cpu = $9 + $10
            rq[$1, l] = cpu > 0 ? $8 / cpu : 0
            ru[$1, l] = $8 > 0 ? $9 / $8 : 0
        }
        END {
            printf "%-29s %7s %7s %7s %6s %7s %7s %11s %9s %8s %8s\n", "", "q/s", "avg ms",
                "max ms", "lost", "user s", "sys s", "q/busy core", "user us/q", "sys us/q",
                "/trivial"
            for (i = 1; i <= nrow; i++) {
                l = order[i]; b = base_of(l); ratios = ""
                if (l !~ /^trivial/)
                    for (r = 1; r <= rounds; r++)
                        if (((r, l) in rq) && ((r, b) in rq) && rq[r, b] > 0)
                            ratios = ratios " " sprintf("%.3f", rq[r, l] / rq[r, b])
                med[l] = median(ratios); per[l] = ratios
                cpu = ut[l] + st[l]
                printf "%-29s %7.0f %7.3f %7.3f %6d %7.2f %7.2f %11.0f %9.3f %8.3f %8s\n", l,
                    (rt[l] > 0 ? done[l] / rt[l] : 0), (done[l] > 0 ? lat[l] / done[l] * 1000 : 0),
                    max[l] * 1000, lost[l], ut[l], st[l], (cpu > 0 ? done[l] / cpu : 0),
                    (done[l] > 0 ? ut[l] * 1e6 / done[l] : 0),
                    (done[l] > 0 ? st[l] * 1e6 / done[l] : 0),
                    (med[l] == "" ? "-" : sprintf("%.3f", med[l]))
                # The trivial responder does the same work in every round:
                # a wide spread of its q/busy core means something else ran.
                if (l ~ /^trivial/)
                    for (r = 1; r <= rounds; r++)
                        if ((r, l) in rq) {
                            if (!(l in lo) || rq[r, l] < lo[l]) lo[l] = rq[r, l]
                            if (rq[r, l] > hi[l]) hi[l] = rq[r, l]
                        }
            }
            for (l in lo)
                if (lo[l] > 0 && hi[l] / lo[l] > 1.05)
                    printf "warning: %s q/busy core ranged %.0f..%.0f over the rounds:\n" \
                        "         something else ran on the machine; the ratios are approximate\n",
                        l, lo[l], hi[l]
            print ""
            for (i = 1; i <= nrow; i++) {
                l = order[i]
                if (l !~ /^dnsd/) continue
                if (med[l] != "")
                    printf "target: %s q/busy core >= 0.95 x %s: %.3f %s (per round:%s)\n", l,
                        base_of(l), med[l], (med[l] >= 0.95 ? "PASS" : "FAIL"), per[l]
                printf "target: %s loses no query %s: %s (%d lost)\n", l, (rate == "" ? "at full rate" : rate),
                    (lost[l] == 0 ? "PASS" : "FAIL"), lost[l]
            }
            # Against a baseline build (BENCH_BASELINE): q/busy core of dnsd
            # over that of the baseline, median of the rounds.  Not a target.
            for (i = 1; i <= nrow; i++) {
                l = order[i]
                if (l !~ /^dnsd/) continue
                bl = "baseline " l; ratios = ""
                if (!(bl in done)) continue
                for (r = 1; r <= rounds; r++)
                    if (((r, l) in rq) && ((r, bl) in rq) && rq[r, bl] > 0)
                        ratios = ratios " " sprintf("%.3f", rq[r, l] / rq[r, bl])
                if (ratios != "")
                    printf "against the baseline: %s q/busy core over the baseline: %.3f (per round:%s)\n",
                        l, median(ratios), ratios
            }
            # Against gdnsd on the same queries: user CPU per query over all
            # rounds (a round holds too few clock ticks to decide alone).
            # With a sampled run for both rows, their user shares split the
            # exact CPU time of the rounds and decide; else the clock ticks do.
            for (i = 1; i <= nrow; i++) {
                l = order[i]
                if (l !~ /^dnsd/) continue
                g = "g" l
                if (!(g in done) || done[l] == 0 || done[g] == 0 || ut[g] == 0) continue
                du = ut[l] * 1e6 / done[l]; gu = ut[g] * 1e6 / done[g]; ratios = ""
                for (r = 1; r <= rounds; r++)
                    if (((r, l) in ru) && ((r, g) in ru) && ru[r, g] > 0)
                        ratios = ratios " " sprintf("%.3f", ru[r, l] / ru[r, g])
                q = l; sub(/^dnsd /, "", q)
                sampled = (l in ushare) && (g in ushare) && ushare[g] > 0
                if (sampled) {
                    printf "         clock ticks: %.3f vs %.3f us, ratio %.3f (per round:%s)\n",
                        du, gu, du / gu, ratios
                    ds = ushare[l] / 100 * (ut[l] + st[l]) * 1e6 / done[l]
                    gs = ushare[g] / 100 * (ut[g] + st[g]) * 1e6 / done[g]
                    printf "target: dnsd user CPU per query <= 1/5 of gdnsd%ss %s: %.3f vs %.3f us, " \
                        "ratio %.3f %s (user share sampled: %.2f%% of %d samples vs %.2f%% of %d)\n",
                        "\047", q, ds, gs, ds / gs, (ds / gs <= 0.2 ? "PASS" : "FAIL"),
                        ushare[l], nsamp[l], ushare[g], nsamp[g]
                } else {
                    printf "target: dnsd user CPU per query <= 1/5 of gdnsd%ss %s: %.3f vs %.3f us, " \
                        "ratio %.3f %s (clock ticks; per round:%s)\n", "\047", q, du, gu, du / gu,
                        (du / gu <= 0.2 ? "PASS" : "FAIL"), ratios
                }
            }
        }' "$SAMPLES" "$RESULTS"
}

# ---- instructions per query -------------------------------------------------

perf_ok() {
    command -v perf >/dev/null || return 1
    perf stat -x, -e "$PERF_EVENT" -o "$TMP/perf.probe" true >/dev/null 2>&1 || return 1
    grep -q '^[0-9][0-9.]*,' "$TMP/perf.probe"
}

# instr_per_query LABEL CONF QPATH-ARGS...: the instruction count line, the
# responses by RCODE, and the wall-clock cost of the same path.
instr_per_query() {
    local label=$1 conf=$2 ir0 ir1 out native
    shift 2
    out=$TMP/qpath.$(echo "$label" | tr -c 'a-zA-Z0-9\n' '_')
    case $IPQ_TOOL in
    perf)
        # Same files read and encoded in both runs: the difference is the
        # query loop alone.
        perf stat -x, -e "$PERF_EVENT" -o "$out.perf0" "$QPATH" -c "$conf" "$@" -n 0 \
            >/dev/null 2>"$out.err0" || { sed 's/^/    /' "$out.err0" >&2; return 1; }
        perf stat -x, -e "$PERF_EVENT" -o "$out.perf1" "$QPATH" -c "$conf" "$@" \
            -n "$QPATH_QUERIES" >"$out.txt" 2>"$out.err1" ||
            { sed 's/^/    /' "$out.err1" >&2; return 1; }
        ir0=$(awk -F, -v e="$PERF_EVENT" '$3 == e { print $1 }' "$out.perf0")
        ir1=$(awk -F, -v e="$PERF_EVENT" '$3 == e { print $1 }' "$out.perf1")
        ;;
    callgrind)
        # Only qpath_run() (the query loop) is counted: no loading, no
        # set-up, nothing to subtract.
        ir0=0
        valgrind --tool=callgrind --toggle-collect='qpath_run*' --callgrind-out-file="$out.cg" \
            "$QPATH" -c "$conf" "$@" -n "$QPATH_QUERIES" >"$out.txt" 2>"$out.err1" ||
            { sed 's/^/    /' "$out.err1" >&2; return 1; }
        ir1=$(awk '$1 == "summary:" || $1 == "totals:" { print $2; exit }' "$out.cg")
        ;;
    esac
    if [ "$IPQ_TOOL" != none ]; then
        awk -v l="$label" -v a="$ir0" -v b="$ir1" -v n="$QPATH_QUERIES" -v t="$IPQ_TOOL" \
            'BEGIN { printf "%-22s %8.0f instructions/query  (%s, %d queries)\n", l, (b - a) / n, t, n }'
        sed -n 's/^  /    /p' "$out.txt" | tr '\n' ' ' | sed 's/^ */    responses: /; s/ *$/\n/'
    else
        echo "$label"
    fi
    # Wall clock on the server CPU, many more queries: noisy, but it says
    # what the user-space part costs in time.
    native=$(taskset -c "$SERVER_CPU" "$QPATH" -c "$conf" "$@" -n $((QPATH_QUERIES * 50)) 2>&1 |
        sed -n 's/.* \([0-9.]*\) ns per query.*/\1/p')
    [ -n "$native" ] && printf '    in-process wall clock: %s ns/query over %d queries\n' \
        "$native" $((QPATH_QUERIES * 50))
    return 0
}

IPQ_LINES=$TMP/ipq.txt
: >"$IPQ_LINES"
PERF_EVENT=instructions:u
if [ -n "${BENCH_IPQ_TOOL:-}" ]; then
    IPQ_TOOL=$BENCH_IPQ_TOOL
elif perf_ok; then
    IPQ_TOOL=perf
elif command -v valgrind >/dev/null; then
    IPQ_TOOL=callgrind
else
    IPQ_TOOL=none
fi
[ "$IPQ_TOOL" = none ] &&
    echo "instruction count skipped (no $PERF_EVENT counter, no valgrind, or BENCH_IPQ_TOOL=none)" \
        >>"$IPQ_LINES"
say "instructions per query: $IPQ_TOOL, $QPATH_QUERIES queries through qpath-bench"
# The in-process path never binds, but the config needs a listen line.
write_conf "$TMP/qpath.conf" "$(pick_port)" "$TMP/snapshot.txt"
instr_per_query "dnsd (plain queries)" "$TMP/qpath.conf" -d "$TMP/queries.txt" >>"$IPQ_LINES" ||
    { echo "dnsd (plain queries): qpath-bench failed" >>"$IPQ_LINES"; ERRORS="$ERRORS qpath"; }
if [ $HAVE_GEO = 1 ]; then
    instr_per_query "dnsd (ECS queries)" "$TMP/qpath.conf" -B "$TMP/queries-ecs.bin" >>"$IPQ_LINES" ||
        { echo "dnsd (ECS queries): qpath-bench failed" >>"$IPQ_LINES"; ERRORS="$ERRORS qpath-ecs"; }
fi

# ---- snapshot scale ---------------------------------------------------------

# dnsd on a big snapshot: time from start to "ready" and RSS; then a new
# snapshot file and SIGHUP: the reload time dnsd logs (its line has the
# load+build+swap time in ms; the largest ms figure of the line is taken),
# the time from SIGHUP until that line appears, and RSS after.  VmHWM, the
# peak, covers the moment when the old and the new dataset both exist.
SCALE_LINES=$TMP/scale.txt
scale_test() {
    local dir=$TMP/scale log pid t0 t1 t2 t3 rss0 hwm0 rss1 hwm1 nlines line ms
    mkdir -p "$dir"
    log=$dir/dnsd.log
    "$GEN" snapshot -n "$SCALE_SERVERS" -6 25 -s 2 -S 2026112601 >"$dir/snapshot.txt"
    "$GEN" snapshot -n "$SCALE_SERVERS" -6 25 -s 3 -S 2026112602 >"$dir/snapshot.next"
    write_conf "$dir/dnsd.conf" "$(pick_port)" "$dir/snapshot.txt"
    t0=$(now_ms)
    # All CPUs: this measures loading, not serving.
    if ! SERVER_CPU=0-$(($(nproc) - 1)) start_server "$log" "$DNSD" -c "$dir/dnsd.conf"; then
        echo "dnsd did not start with $SCALE_SERVERS servers"
        return 1
    fi
    t1=$(now_ms)
    pid=$SERVER_PID
    rss0=$(proc_status_kb "$pid" VmRSS)
    hwm0=$(proc_status_kb "$pid" VmHWM)
    nlines=$(wc -l <"$log")
    mv "$dir/snapshot.next" "$dir/snapshot.txt"
    t2=$(now_ms)
    kill -HUP "$pid"
    line=""
    for _ in $(seq 600); do
        line=$(tail -n +$((nlines + 1)) "$log" |
            grep -iE "(snapshot|reload).*[0-9] ?ms\b|error|fail|reject" | head -n 1 || true)
        [ -n "$line" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    t3=$(now_ms)
    sleep 0.5   # the old dataset is freed after an RCU grace period
    rss1=$(proc_status_kb "$pid" VmRSS || echo 0)
    hwm1=$(proc_status_kb "$pid" VmHWM || echo 0)
    stop_pid "$pid"
    ms=$(printf '%s\n' "$line" | grep -oE '[0-9]+(\.[0-9]+)? ?ms\b' | tr -d ' ms' | sort -g |
        tail -n 1 || true)

    printf 'snapshot of %d servers (%d IPv4, %d IPv6)\n' "$SCALE_SERVERS" \
        $((SCALE_SERVERS - SCALE_SERVERS / 4)) $((SCALE_SERVERS / 4))
    printf '  start to ready:        %7d ms   (config, zone, geo database, snapshot)\n' $((t1 - t0))
    awk -v r="$rss0" -v h="$hwm0" \
        'BEGIN { printf "  RSS after start:       %7.1f MB   (peak %.1f MB)\n", r / 1024, h / 1024 }'
    if [ -z "$line" ]; then
        echo "  SIGHUP: no reload line in the dnsd log within 30 s"
    else
        echo "  dnsd log: $(printf '%s' "$line" | sed 's/^.*dnsd\[[0-9]*\]: //')"
        awk -v m="$ms" 'BEGIN {
            printf "  reload (dnsd log):     %7s ms   target < 500 ms: %s\n", (m == "" ? "?" : m),
                ((m != "" && m + 0 < 500) ? "PASS" : "FAIL") }'
        printf '  SIGHUP to log line:    %7d ms\n' $((t3 - t2))
    fi
    awk -v r="$rss1" -v h="$hwm1" 'BEGIN {
        printf "  RSS after reload:      %7.1f MB   (peak %.1f MB)   target peak < 200 MB: %s\n",
            r / 1024, h / 1024, ((h > 0 && h / 1024 < 200) ? "PASS" : "FAIL") }'
}

if [ "$SCALE_SERVERS" -gt 0 ]; then
    say "snapshot scale: $SCALE_SERVERS servers"
    scale_test >"$SCALE_LINES" || ERRORS="$ERRORS scale"
else
    echo "skipped (BENCH_SCALE_SERVERS=0)" >"$SCALE_LINES"
fi

# ---- report -----------------------------------------------------------------

echo
echo "================ pooldns bench ================"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
    "load average before the bench: $LOAD_BEFORE"
ECS_NOTE=""
[ $HAVE_GEO = 1 ] && ECS_NOTE=", 100000 ECS wire queries"
echo "inputs: 4000-server snapshot, 100000 text queries$ECS_NOTE"
print_table
echo "$GDNSD_NOTE"
echo
echo "Instructions per query (in-process query path, tools/qpath-bench)"
cat "$IPQ_LINES"
echo
echo "Snapshot scale"
cat "$SCALE_LINES"
if [ -n "$ERRORS" ]; then
    say "some parts did not run:$ERRORS"
    exit 1
fi
