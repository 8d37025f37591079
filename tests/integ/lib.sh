# lib.sh -- shared helpers for the dnsd integration tests (tests/integ/t_*.sh).
#
# A test file sources this, then typically:
#
#   setup_conf basic.conf pool.example.org.zone snap-basic.txt
#   conf_add "max-answers 2"
#   start_dnsd
#   expect_q "pool A" --status NOERROR --an 2 --in "$SET" -- pool.example.org A
#   stop_dnsd
#   finish
#
# Environment: DNSD_BUILD (absolute build folder holding dnsd), set by run.sh.
# Everything a test writes goes to one mktemp -d folder, removed at exit; a
# daemon still running at exit is stopped by its PID.  Only 127.0.0.1 and ::1
# are ever queried.  Needs bash, coreutils, iproute2 (ss) and dig.
# shellcheck shell=bash
# Variables set here (P_*, SAMPLE_UNION, ...) are read by the test files.
# shellcheck disable=SC2034
set -u

INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$INTEG_DIR/../.." && pwd)
DATA=$ROOT/tests/data/integ
: "${DNSD_BUILD:?DNSD_BUILD is not set (run the tests through tests/integ/run.sh BUILD_DIR)}"
DNSD=$DNSD_BUILD/dnsd
# MaxMind's GeoIP2 Country test database (t_geo, t_ecs).
GEO_DB=$ROOT/tests/data/geo/GeoIP2-Country-Test.mmdb

# Sanitizer reports: make UBSan say where, keep whatever the caller set.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

TEST_NAME=$(basename "$0" .sh)
FAILS=0
CHECKS=0
T=$(mktemp -d "${TMPDIR:-/tmp}/dnsd-integ.XXXXXX") || { echo "mktemp failed"; exit 1; }
CONF=""          # config file of the daemon to start
PORT=""          # its port (every listen line uses it unless a test says otherwise)
DNSD_PID=""      # running daemon, or empty
DNSD_LOG=""      # its log (stdout+stderr)
DNSD_RUNS=0
DIG_SERVER=127.0.0.1
BG_PIDS=()       # helper processes a test started in the background

cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    if [[ -n $DNSD_PID ]]; then
        kill -TERM "$DNSD_PID" 2>/dev/null
        local i
        for ((i = 0; i < 100; i++)); do
            pid_alive "$DNSD_PID" || break
            sleep 0.1
        done
        pid_alive "$DNSD_PID" && kill -KILL "$DNSD_PID" 2>/dev/null
        wait "$DNSD_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- reporting --------------------------------------------------------------

note() { printf '  %s\n' "$*"; }

# fail MESSAGE [DETAIL...]: record a failed check; details are indented.
fail() {
    FAILS=$((FAILS + 1))
    printf 'FAIL: %s\n' "$1"
    shift
    local d
    for d in "$@"; do
        printf '%s\n' "$d" | head -n 60 | sed 's/^/    | /'
    done
}

pass() { CHECKS=$((CHECKS + 1)); }

# die MESSAGE [DETAIL...]: fail and stop this test file now.
die() {
    fail "$@"
    finish
}

finish() {
    if ((FAILS > 0)); then
        printf '%s: %d of %d checks failed\n' "$TEST_NAME" "$FAILS" "$((CHECKS + FAILS))"
        exit 1
    fi
    printf '%s: %d checks passed\n' "$TEST_NAME" "$CHECKS"
    exit 0
}

# ---- assertions ----------------------------------------------------------------

expect_eq() { # WHAT EXPECTED GOT
    if [[ $2 == "$3" ]]; then pass; else fail "$1" "expected: $2" "got:      $3"; fi
}

expect_ne() { # WHAT UNWANTED GOT
    if [[ $2 != "$3" ]]; then pass; else fail "$1" "expected anything but: $2"; fi
}

expect_match() { # WHAT EXTENDED-REGEX TEXT
    if grep -Eq -- "$2" <<<"$3"; then pass; else fail "$1" "expected to match: $2" "got:" "$3"; fi
}

expect_no_match() { # WHAT EXTENDED-REGEX TEXT
    local m
    if m=$(grep -E -- "$2" <<<"$3"); then fail "$1" "expected no match for: $2" "matching lines:" "$m"; else pass; fi
}

expect_true() { # WHAT COMMAND...
    local what=$1
    shift
    if "$@"; then pass; else fail "$what" "command failed: $*"; fi
}

# Words as a sorted, unique, space-separated list.
set_of() { tr -s ' \t' '\n' <<<"$*" | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

# Words of $2 that are not in $1.
set_minus() {
    local a b
    a=$(set_of "$1" | tr ' ' '\n')
    b=$(set_of "$2" | tr ' ' '\n')
    comm -13 <(printf '%s\n' "$a") <(printf '%s\n' "$b") | sed '/^$/d' | tr '\n' ' ' | sed 's/ $//'
}

set_inter() {
    local a b
    a=$(set_of "$1" | tr ' ' '\n')
    b=$(set_of "$2" | tr ' ' '\n')
    comm -12 <(printf '%s\n' "$a") <(printf '%s\n' "$b") | sed '/^$/d' | tr '\n' ' ' | sed 's/ $//'
}

expect_set_eq() { # WHAT EXPECTED-WORDS GOT-WORDS
    local e g
    e=$(set_of "$2")
    g=$(set_of "$3")
    if [[ $e == "$g" ]]; then
        pass
    else
        fail "$1" "expected set: $e" "got set:      $g" "missing: $(set_minus "$g" "$e")" "extra:   $(set_minus "$e" "$g")"
    fi
}

expect_subset() { # WHAT ALLOWED-WORDS GOT-WORDS
    local extra
    extra=$(set_minus "$2" "$3")
    if [[ -z $extra ]]; then pass; else fail "$1" "allowed: $(set_of "$2")" "got:     $(set_of "$3")" "not allowed: $extra"; fi
}

expect_disjoint() { # WHAT WORDS-A WORDS-B
    local common
    common=$(set_inter "$2" "$3")
    if [[ -z $common ]]; then pass; else fail "$1" "A: $(set_of "$2")" "B: $(set_of "$3")" "shared: $common"; fi
}

# ---- ports, configs --------------------------------------------------------------

# port_free PORT: nothing listens on PORT over UDP or TCP, any address.
port_free() {
    ! ss -Hlntu 2>/dev/null | awk '{print $5}' | grep -Eq "[:.]$1\$"
}

# pick_port: a random port free for UDP and TCP, below the kernel's
# ephemeral range.  Inside it, a client's source port can be the server's
# port: dig's UDP sockets use SO_REUSEPORT and connect to the server, so
# such a socket shares dnsd's port and, being connected to that very
# address and port, is handed its own query (seen as an empty NOERROR "answer"
# with no QR flag, about once in 40 runs of t_hup_storm).
pick_port() {
    local i p lo=32768 hi
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || lo=32768
    ((lo > 11000)) || lo=11000
    for ((i = 0; i < 200; i++)); do
        p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
        if port_free "$p"; then
            echo "$p"
            return 0
        fi
    done
    echo "no free port found" >&2
    return 1
}

# ::1 usable on this machine?
have_ipv6_loopback() {
    [[ -r /proc/net/if_inet6 ]] && grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
}

# use_file SRC [DEST]: copy tests/data/integ/SRC into the test folder.
use_file() {
    local dest=$T/${2:-$(basename "$1")}
    mkdir -p "$(dirname "$dest")"
    cp "$DATA/$1" "$dest" || die "cannot copy $DATA/$1"
}

# setup_conf TEMPLATE [DATAFILE...]: pick a port, write $T/dnsd.conf from
# tests/data/integ/TEMPLATE (@PORT@, @PORT2@ and @GEO@ replaced) and copy the
# data files beside it, so the config's relative paths resolve against its
# folder.  Sets CONF and PORT (and PORT2, a second free port).
setup_conf() {
    local tmpl=$1
    shift
    PORT=$(pick_port) || die "no free port"
    PORT2=$(pick_port) || die "no free port"
    while [[ $PORT2 == "$PORT" ]]; do PORT2=$(pick_port) || die "no free port"; done
    CONF=$T/dnsd.conf
    sed -e "s|@PORT@|$PORT|g" -e "s|@PORT2@|$PORT2|g" -e "s|@GEO@|$GEO_DB|g" "$DATA/$tmpl" >"$CONF" ||
        die "cannot write $CONF from $tmpl"
    local f
    for f in "$@"; do use_file "$f"; done
}

# conf_add LINE...: append directives to $CONF.
conf_add() { printf '%s\n' "$@" >>"$CONF"; }

# conf_set_port NEWPORT: move every listen line of $CONF to NEWPORT.
conf_set_port() {
    sed -i -e "s|:$PORT\$|:$1|" -e "s|:$PORT\([[:space:]#]\)|:$1\1|" "$CONF"
    PORT=$1
}

# ---- daemon life ------------------------------------------------------------------

pid_alive() {
    local st
    [[ -r /proc/$1/stat ]] || return 1
    read -r _ _ st _ <"/proc/$1/stat" 2>/dev/null || return 1
    [[ $st != Z ]]
}

log_has_sanitizer_report() { # LOGFILE
    grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error|ERROR: ' "$1"
}

# start_dnsd: start the daemon (config $CONF) in the background (cwd /, so that only
# the config's folder can make relative paths work), wait up to 10 s for
# "ready".  Dies (showing the log) if it exits first or never gets ready.  If
# the chosen port was taken meanwhile by someone else, picks another one and
# retries (twice).
start_dnsd() {
    local conf=$CONF attempt i
    [[ -x $DNSD ]] || die "no daemon at $DNSD (build it first)"
    for attempt in 1 2 3; do
        DNSD_RUNS=$((DNSD_RUNS + 1))
        DNSD_LOG=$T/dnsd.$DNSD_RUNS.log
        : >"$DNSD_LOG" # exists before the child opens it, for the greps below
        (cd / && exec "$DNSD" -c "$conf") >>"$DNSD_LOG" 2>&1 &
        DNSD_PID=$!
        for ((i = 0; i < 200; i++)); do
            if grep -qw 'ready' "$DNSD_LOG"; then
                pass
                return 0
            fi
            pid_alive "$DNSD_PID" || break
            sleep 0.05
        done
        if pid_alive "$DNSD_PID"; then
            local log
            log=$(cat "$DNSD_LOG")
            kill -KILL "$DNSD_PID" 2>/dev/null
            wait "$DNSD_PID" 2>/dev/null
            DNSD_PID=""
            die "dnsd did not print 'ready' within 10 s" "$log"
        fi
        wait "$DNSD_PID"
        local rc=$?
        DNSD_PID=""
        if grep -q 'Address already in use' "$DNSD_LOG" && [[ $attempt -lt 3 ]]; then
            note "port $PORT was taken meanwhile; trying another"
            conf_set_port "$(pick_port)"
            continue
        fi
        die "dnsd exited with status $rc before 'ready'" "$(cat "$DNSD_LOG")"
    done
}

# stop_dnsd: send SIGTERM, wait up to 10 s, check exit status 0 and a log
# free of sanitizer reports.  stop_dnsd_with SIGNAL: the same with SIGNAL.
stop_dnsd() { stop_dnsd_with TERM; }
stop_dnsd_with() {
    local sig=$1 i rc
    [[ -n $DNSD_PID ]] || { fail "stop_dnsd: no daemon running"; return 1; }
    kill -"$sig" "$DNSD_PID" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        pid_alive "$DNSD_PID" || break
        sleep 0.05
    done
    if pid_alive "$DNSD_PID"; then
        kill -KILL "$DNSD_PID" 2>/dev/null
        wait "$DNSD_PID" 2>/dev/null
        DNSD_PID=""
        fail "dnsd did not exit within 10 s of SIG$sig" "$(tail -n 20 "$DNSD_LOG")"
        return 1
    fi
    wait "$DNSD_PID"
    rc=$?
    DNSD_PID=""
    if [[ $rc -eq 0 ]]; then pass; else fail "dnsd exit status after SIG$sig: expected 0, got $rc" "$(tail -n 40 "$DNSD_LOG")"; fi
    check_log_clean "$DNSD_LOG"
}

check_log_clean() { # LOGFILE
    if log_has_sanitizer_report "$1"; then
        fail "sanitizer report in $(basename "$1")" "$(grep -E -A30 'AddressSanitizer|LeakSanitizer|runtime error|ERROR: ' "$1")"
    else
        pass
    fi
}

# wait_log REGEX [TIMEOUT-SECONDS]: wait until the daemon log matches.
wait_log() {
    local re=$1 t=${2:-10} i
    for ((i = 0; i < t * 20; i++)); do
        grep -Eq -- "$re" "$DNSD_LOG" && return 0
        sleep 0.05
    done
    return 1
}

# count_log REGEX: lines of the daemon log matching.
count_log() { grep -Ec -- "$1" "$DNSD_LOG"; }

# ---- dig ---------------------------------------------------------------------------

# q ARGS...: dig against the daemon, full output.
q() { dig @"$DIG_SERVER" -p "$PORT" +norec +time=2 +tries=1 "$@" 2>&1; }

# Field extractors over one dig output ($1) (for one-off use; expect_q
# parses with parse_dig, in bash alone, as it runs hundreds of times).
r_status() { sed -n 's/.*->>HEADER<<-.* status: \([A-Z0-9]*\),.*/\1/p' <<<"$1" | head -n1; }
r_flags() { sed -n 's/^;; flags: \([^;]*\);.*/\1/p' <<<"$1" | head -n1; }
# Records of a section (ANSWER, AUTHORITY, ADDITIONAL), comments dropped.
r_section() {
    awk -v s=";; $1 SECTION:" '$0 == s {on = 1; next} on && /^$/ {exit} on && !/^;/ {print}' <<<"$2"
}
r_addrs() { r_section ANSWER "$1" | awk '$4 == "A" || $4 == "AAAA" {print $5}' | tr '\n' ' ' | sed 's/ $//'; }
r_ecs() { sed -n 's/^; CLIENT-SUBNET: \(.*\)$/\1/p' <<<"$1" | head -n1; }
r_has_opt() { grep -q '^; EDNS: version' <<<"$1"; }

# parse_dig OUTPUT: the first response of a dig output into P_* variables.
#   P_STATUS P_OPCODE P_FLAGS ("qr aa") P_QD P_AN P_NS P_AR P_OPT (0/1) P_ECS
#   P_ANSWER P_AUTH (arrays of record lines) P_ADDRS (A/AAAA rdata, spaced)
#   P_TYPES P_AUTH_TYPES P_OWNERS P_TTLS (distinct, spaced, in order seen)
parse_dig() {
    P_STATUS="" P_OPCODE="" P_FLAGS="" P_QD="" P_AN="" P_NS="" P_AR="" P_OPT=0 P_ECS=""
    P_ANSWER=() P_AUTH=()
    P_ADDRS="" P_TYPES="" P_AUTH_TYPES="" P_OWNERS="" P_TTLS=""
    local line sec="" headers=0 re_h='opcode: ([A-Z0-9]+), status: ([A-Z0-9]+),'
    local re_f='^;; flags:([^;]*); QUERY: ([0-9]+), ANSWER: ([0-9]+), AUTHORITY: ([0-9]+), ADDITIONAL: ([0-9]+)'
    local -a f
    while IFS= read -r line; do
        if [[ $line == *'->>HEADER<<-'* ]]; then
            headers=$((headers + 1))
            ((headers > 1)) && break
            [[ $line =~ $re_h ]] && P_OPCODE=${BASH_REMATCH[1]} P_STATUS=${BASH_REMATCH[2]}
            continue
        fi
        if [[ $line =~ $re_f ]]; then
            P_FLAGS=${BASH_REMATCH[1]# } P_QD=${BASH_REMATCH[2]} P_AN=${BASH_REMATCH[3]}
            P_NS=${BASH_REMATCH[4]} P_AR=${BASH_REMATCH[5]}
            continue
        fi
        case $line in
        '; EDNS: version'*) P_OPT=1; continue ;;
        '; CLIENT-SUBNET: '*) P_ECS=${line#'; CLIENT-SUBNET: '}; continue ;;
        ';; ANSWER SECTION:') sec=an; continue ;;
        ';; AUTHORITY SECTION:') sec=ns; continue ;;
        ';;'*' SECTION:') sec=other; continue ;;
        '') sec=""; continue ;;
        ';'*) continue ;;
        esac
        read -r -a f <<<"$line"
        if [[ $sec == an ]]; then
            P_ANSWER+=("$line")
            [[ ${f[3]} == A || ${f[3]} == AAAA ]] && P_ADDRS+="${P_ADDRS:+ }${f[4]}"
            [[ " $P_TYPES " == *" ${f[3]} "* ]] || P_TYPES+="${P_TYPES:+ }${f[3]}"
            [[ " $P_OWNERS " == *" ${f[0]} "* ]] || P_OWNERS+="${P_OWNERS:+ }${f[0]}"
            [[ " $P_TTLS " == *" ${f[1]} "* ]] || P_TTLS+="${P_TTLS:+ }${f[1]}"
        elif [[ $sec == ns ]]; then
            P_AUTH+=("$line")
            P_AUTH_TYPES+="${P_AUTH_TYPES:+ }${f[3]}"
        fi
    done <<<"$1"
}

# words_not_in ALLOWED WORDS: the words of WORDS not in ALLOWED (bash only).
words_not_in() {
    local -A ok=()
    local w out=""
    for w in $1; do ok[$w]=1; done
    for w in $2; do [[ -n ${ok[$w]:-} ]] || out+="${out:+ }$w"; done
    printf '%s' "$out"
}

# same_set A B: the same words, ignoring order and repeats.
same_set() { [[ -z $(words_not_in "$1" "$2") && -z $(words_not_in "$2" "$1") ]]; }

# expect_q DESC [checks...] -- DIG-ARGS...
#   --status S     rcode (NOERROR, NXDOMAIN, REFUSED, FORMERR, NOTIMP, BADVERS...)
#   --an N         answer records; --an-max N at most N; --ns N authority records
#   --flag F       header flag F set (aa, tc, qr...); --noflag F not set
#   --type T       every answer record has type T (and there is one)
#   --auth T       the authority section is exactly one record of type T
#   --in WORDS     every A/AAAA address in the answer is one of WORDS
#   --addrs WORDS  the answer's addresses are exactly WORDS (as a set)
#   --owner NAME   every answer record's owner is NAME, letter case included
#   --ttl N        every answer record has TTL N
#   --opt / --noopt  an OPT record is / is not in the response
#   --ecs TEXT     the response's Client Subnet option reads TEXT (addr/source/scope)
#   --noecs        no Client Subnet option in the response
#   --has REGEX    the dig output matches REGEX (bash extended regex, per line)
# Prints nothing when all is well; the output is left in $LAST and parsed
# in the P_* variables.
LAST=""
expect_q() {
    local desc=$1
    shift
    local -a checks=()
    while [[ $# -gt 0 && $1 != -- ]]; do
        case $1 in
        --opt | --noopt | --noecs) checks+=("$1" "") ;;
        *) checks+=("$1" "$2"); shift ;;
        esac
        shift
    done
    [[ ${1:-} == -- ]] && shift
    LAST=$(q "$@")
    parse_dig "$LAST"
    check_parsed "$desc  [dig $*]" "${checks[@]}"
}

# check_parsed DESC CHECK VALUE ...: apply expect_q's checks to $LAST / P_*.
check_parsed() {
    local desc=$1
    shift
    local -a checks=("$@") bad=()
    local i c v got line found
    for ((i = 0; i < ${#checks[@]}; i += 2)); do
        c=${checks[i]}
        v=${checks[i + 1]-}
        case $c in
        --status) [[ $P_STATUS == "$v" ]] || bad+=("status: expected $v, got ${P_STATUS:-<no response>}") ;;
        --an) [[ $P_AN == "$v" ]] || bad+=("answer count: expected $v, got ${P_AN:-?}") ;;
        --an-max) [[ -n $P_AN && $P_AN -le $v ]] || bad+=("answer count: expected at most $v, got ${P_AN:-?}") ;;
        --ns) [[ $P_NS == "$v" ]] || bad+=("authority count: expected $v, got ${P_NS:-?}") ;;
        --flag) [[ " $P_FLAGS " == *" $v "* ]] || bad+=("flag $v: expected set, flags are '$P_FLAGS'") ;;
        --noflag) [[ " $P_FLAGS " != *" $v "* ]] || bad+=("flag $v: expected clear, flags are '$P_FLAGS'") ;;
        --type) [[ $P_TYPES == "$v" ]] || bad+=("answer types: expected only $v, got '$P_TYPES'") ;;
        --auth) [[ $P_AUTH_TYPES == "$v" ]] || bad+=("authority: expected one $v, got '$P_AUTH_TYPES'") ;;
        --in)
            got=$(words_not_in "$v" "$P_ADDRS")
            [[ -z $got ]] || bad+=("addresses not allowed here: $got (allowed: $v)") ;;
        --addrs) same_set "$v" "$P_ADDRS" || bad+=("addresses: expected {$v}, got {$P_ADDRS}") ;;
        --owner) [[ $P_OWNERS == "$v" ]] || bad+=("answer owner: expected '$v', got '$P_OWNERS'") ;;
        --ttl) [[ $P_TTLS == "$v" ]] || bad+=("answer TTLs: expected $v, got '$P_TTLS'") ;;
        --opt) ((P_OPT)) || bad+=("expected an OPT record in the response") ;;
        --noopt) ((!P_OPT)) || bad+=("expected no OPT record in the response") ;;
        --ecs) [[ $P_ECS == "$v" ]] || bad+=("client subnet: expected $v, got '${P_ECS:-<none>}'") ;;
        --noecs) [[ -z $P_ECS ]] || bad+=("client subnet: expected none, got '$P_ECS'") ;;
        --has)
            found=0
            while IFS= read -r line; do
                [[ $line =~ $v ]] && { found=1; break; }
            done <<<"$LAST"
            ((found)) || bad+=("output does not match: $v") ;;
        *) bad+=("expect_q: unknown check $c") ;;
        esac
    done
    if ((${#bad[@]} == 0)); then
        pass
        return 0
    fi
    fail "$desc" "${bad[@]}" "dig output:" "$(grep -v -e '^; <<>> DiG' -e '^;; global options' -e '^;; WHEN' -e '^$' <<<"$LAST")"
    return 1
}

# Batches: bq takes expect_q's arguments (DIG-ARGS being NAME TYPE and
# per-query options after them) but only queues the query; batch_run
# [GLOBAL-OPTS...] sends them all with one dig run (one process, and over TCP
# with +keepopen one connection) and checks each response.  Much faster than
# one dig per check.
BQ_DESC=() BQ_CHECKS=() BQ_ARGS=()
bq() {
    local desc=$1
    shift
    local -a checks=()
    while [[ $# -gt 0 && $1 != -- ]]; do
        case $1 in
        --opt | --noopt | --noecs) checks+=("$1" "") ;;
        *) checks+=("$1" "$2"); shift ;;
        esac
        shift
    done
    [[ ${1:-} == -- ]] && shift
    BQ_DESC+=("$desc  [$*]")
    local IFS=$'\x1f'
    BQ_CHECKS+=("${checks[*]}")
    BQ_ARGS+=("$*")
}

batch_run() {
    local -a all=() a chunks=() checks
    local i line cur="" n=${#BQ_DESC[@]} out
    if ((n == 0)); then
        fail "batch_run $*: no query queued (bq) before it"
        return 1
    fi
    for ((i = 0; i < n; i++)); do
        IFS=$'\x1f' read -r -a a <<<"${BQ_ARGS[i]}"
        all+=("${a[@]}")
    done
    out=$(q "$@" "${all[@]}")
    while IFS= read -r line; do
        if [[ $line == *'->>HEADER<<-'* ]]; then
            [[ -n $cur ]] && chunks+=("$cur")
            cur=$line
        elif [[ -n $cur ]]; then
            cur+=$'\n'"$line"
        fi
    done <<<"$out"
    [[ -n $cur ]] && chunks+=("$cur")
    if ((${#chunks[@]} != n)); then
        fail "batch of $n queries [$*]: got ${#chunks[@]} responses" "$(grep -v '^$' <<<"$out" | tail -n 40)"
    else
        for ((i = 0; i < n; i++)); do
            LAST=${chunks[i]}
            parse_dig "$LAST"
            IFS=$'\x1f' read -r -a checks <<<"${BQ_CHECKS[i]}"
            check_parsed "${BQ_DESC[i]} (batch: $*)" "${checks[@]}"
        done
    fi
    BQ_DESC=() BQ_CHECKS=() BQ_ARGS=()
}

# sample N NAME TYPE [DIG-OPTS...]: one dig run with N copies of the query;
# prints one line per response: "STATUS addr addr ...".
sample() {
    local n=$1 name=$2 type=$3 i
    shift 3
    local -a qs=()
    for ((i = 0; i < n; i++)); do qs+=("$name" "$type"); done
    q "$@" "${qs[@]}" | awk '
        /->>HEADER<<-/ { if (started) print line; started = 1
                         match($0, /status: [A-Z0-9]+/); line = substr($0, RSTART + 8, RLENGTH - 8); sec = ""; next }
        /^;; ANSWER SECTION:/ { sec = "an"; next }
        /^;; [A-Z]+ SECTION:/ { sec = ""; next }
        /^$/ { sec = ""; next }
        sec == "an" && ($4 == "A" || $4 == "AAAA") { line = line " " $5 }
        END { if (started) print line }'
}

# sample_check DESC N NAME TYPE EXPECT-PER-ANSWER [DIG-OPTS...]: sample, check
# every response is NOERROR with EXPECT-PER-ANSWER distinct addresses (a
# number, or "1-4" style range), sets SAMPLE_UNION to the addresses seen.
SAMPLE_UNION=""
SAMPLE_LINES=""
sample_check() {
    local desc=$1 n=$2 name=$3 type=$4 per=$5
    shift 5
    local lo hi
    if [[ $per == *-* ]]; then lo=${per%-*} hi=${per#*-}; else lo=$per hi=$per; fi
    SAMPLE_LINES=$(sample "$n" "$name" "$type" "$@")
    SAMPLE_UNION=$(set_of "$(cut -s -d' ' -f2- <<<"$SAMPLE_LINES")")
    local got bad
    got=$(grep -c . <<<"$SAMPLE_LINES")
    if [[ $got != "$n" ]]; then
        fail "$desc: expected $n responses, got $got [$name $type $*]" "$SAMPLE_LINES"
        return 1
    fi
    bad=$(awk -v lo="$lo" -v hi="$hi" '{
            delete seen; d = 0
            for (i = 2; i <= NF; i++) if (!($i in seen)) { seen[$i] = 1; d++ }
            if ($1 != "NOERROR" || d != NF - 1 || d < lo || d > hi) print }' <<<"$SAMPLE_LINES")
    if [[ -n $bad ]]; then
        fail "$desc: responses that are not NOERROR with $per distinct addresses [$name $type $*]" "$bad"
        return 1
    fi
    pass
}

# ---- raw packets (bash /dev/udp and /dev/tcp, coreutils only) -----------------------

# hex_name NAME: the wire form of NAME in hex ("" or "." is the root).
hex_name() {
    local name=${1%.} out="" label i
    if [[ -n $name ]]; then
        local IFS=.
        for label in $name; do
            out+=$(printf '%02x' "${#label}")
            for ((i = 0; i < ${#label}; i++)); do out+=$(printf '%02x' "'${label:i:1}"); done
        done
    fi
    printf '%s00' "$out"
}

# hex_hdr ID FLAGS QDCOUNT ANCOUNT NSCOUNT ARCOUNT: a DNS header in hex.
hex_hdr() { printf '%04x%04x%04x%04x%04x%04x' "$@"; }

# hex_bytes HEX > FILE: write bytes.
hex_bytes() { printf '%b' "$(sed 's/[^0-9a-fA-F]//g; s/../\\x&/g' <<<"$1")"; }

# hex_of: stdin as one line of lower-case hex.
hex_of() { od -An -v -tx1 | tr -d ' \n'; }

# raw_udp HEX [TIMEOUT]: send one datagram, print the reply in hex (nothing
# when none comes within TIMEOUT seconds, default 1).
raw_udp() {
    local pkt=$T/raw.$RANDOM fd
    hex_bytes "$1" >"$pkt"
    exec {fd}<>"/dev/udp/$DIG_SERVER/$PORT"
    cat "$pkt" >&"$fd"
    timeout "${2:-1}" dd bs=65536 count=1 status=none <&"$fd" | hex_of
    exec {fd}>&-
    rm -f "$pkt"
}

# Header fields of a reply in hex.
hx_id() { echo "${1:0:4}"; }
hx_flags() { echo "${1:4:4}"; }
hx_rcode() { echo $((16#${1:7:1})); }
hx_qd() { echo $((16#${1:8:4})); }
hx_an() { echo $((16#${1:12:4})); }
hx_ar() { echo $((16#${1:20:4})); }

rcode_name() {
    case $1 in
    0) echo NOERROR ;; 1) echo FORMERR ;; 2) echo SERVFAIL ;; 3) echo NXDOMAIN ;;
    4) echo NOTIMP ;; 5) echo REFUSED ;; *) echo "RCODE$1" ;;
    esac
}

# now_ms: wall clock in milliseconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
