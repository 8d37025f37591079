#!/usr/bin/env bash
# run.sh -- run the dnsd integration tests against one build.
#
#   tests/integ/run.sh BUILD_DIR [t_name...]
#
# Runs every tests/integ/t_*.sh (or the ones named) with BUILD_DIR/dnsd,
# prints one line per test file (ok / FAIL, name, seconds) and, for a
# failure, that test's output; then a summary line "integ: N passed, M
# failed".  Exits non-zero if any test failed.  Set INTEG_VERBOSE=1 to see
# every test's output.  Each test file is stopped after INTEG_TIMEOUT
# seconds (default 120).
set -u

if [[ $# -lt 1 ]]; then
    echo "usage: $0 BUILD_DIR [t_name...]" >&2
    exit 2
fi
INTEG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$INTEG_DIR/../.." && pwd)
BUILD=$1
shift
case $BUILD in
/*) ;;
*) BUILD=$PWD/$BUILD ;;
esac
if [[ ! -x $BUILD/dnsd ]]; then
    echo "run.sh: no executable $BUILD/dnsd (build it first)" >&2
    exit 2
fi
for tool in dig ss timeout od; do
    if ! command -v "$tool" >/dev/null; then
        echo "run.sh: '$tool' is needed (Debian: dnsutils, iproute2, coreutils)" >&2
        exit 2
    fi
done

tests=()
if [[ $# -gt 0 ]]; then
    for n in "$@"; do
        n=${n%.sh}
        n=${n#t_}
        tests+=("$INTEG_DIR/t_$n.sh")
    done
else
    for t in "$INTEG_DIR"/t_*.sh; do tests+=("$t"); done
fi

passed=0
failed=0
failed_names=()
start_all=$(date +%s%N)
echo "integration tests: $BUILD/dnsd"
for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    if [[ ! -f $t ]]; then
        printf 'FAIL %-22s (no such test)\n' "$name"
        failed=$((failed + 1))
        failed_names+=("$name")
        continue
    fi
    t0=$(date +%s%N)
    out=$(cd "$ROOT" && DNSD_BUILD=$BUILD timeout -k 5 "${INTEG_TIMEOUT:-120}" bash "$t" 2>&1)
    rc=$?
    t1=$(date +%s%N)
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1))
        printf 'ok   %-22s %5s s  %s\n' "$name" "$secs" "$(tail -n1 <<<"$out" | sed 's/^[^:]*: //')"
        if [[ ${INTEG_VERBOSE:-0} == 1 ]]; then printf '     %s\n' "${out//$'\n'/$'\n'     }"; fi
    else
        failed=$((failed + 1))
        failed_names+=("$name")
        [[ $rc -eq 124 || $rc -eq 137 ]] && out+=$'\n'"(stopped after ${INTEG_TIMEOUT:-120} s)"
        printf 'FAIL %-22s %5s s  (exit %d)\n' "$name" "$secs" "$rc"
        printf '     %s\n' "${out//$'\n'/$'\n'     }"
    fi
done
total=$(awk -v a="$start_all" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
echo "integ ($BUILD, $total s)${failed_names[*]:+ failed: ${failed_names[*]}}"
echo "integ: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
