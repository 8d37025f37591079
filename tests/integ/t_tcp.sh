#!/usr/bin/env bash
# t_tcp.sh -- TCP connection handling: tcp-timeout (an idle connection is
# closed by the server, also one that was used and then went quiet) and
# tcp-clients (with one worker thread and one slot, a second connection is
# turned away while the first is open, and served once it is gone).
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

setup_conf basic.conf pool.example.org.zone snap-basic.txt
conf_add "tcp-timeout 1"
start_dnsd

# Three connections at once, so their timers run together:
#   idle:  opened, nothing sent: the read must end with EOF after ~1 s;
#   used:  one question, then quiet: answered, then closed after ~1 s;
#   many:  1500 pipelined queries for a 2.3 KB answer in one write (63 KB
#          in, 3.5 MB out), read only after the other two are done, so the
#          server's writes back up: every answer comes, whole and in order.
msg="777700000001000000000000$(hex_name pool.example.org)00010001" # ID 7777, pool.example.org A
hex_bytes "$(printf '%04x' $((${#msg} / 2)))$msg" >"$T/q.bin"
Q="00000001000000000000$(hex_name txt2k.pool.example.org)00100001"
stream=""
for ((i = 1; i <= 1500; i++)); do
    printf -v pre '%04x%04x' $((${#Q} / 2 + 2)) "$i"
    stream+=$pre$Q
done
hex_bytes "$stream" >"$T/many.bin"

exec {idle}<>"/dev/tcp/127.0.0.1/$PORT"
t_idle=$(now_ms)
exec {used}<>"/dev/tcp/127.0.0.1/$PORT"
cat "$T/q.bin" >&"$used"
t_used=$(now_ms)
exec {many}<>"/dev/tcp/127.0.0.1/$PORT"
cat "$T/many.bin" >&"$many"

timeout 5 cat <&"$idle" >/dev/null
rc=$?
ms=$(($(now_ms) - t_idle))
exec {idle}>&-
expect_eq "idle TCP connection: read ends with EOF (not by our 5 s timeout)" 0 "$rc"
expect_true "idle TCP connection closed after ~1 s (tcp-timeout 1), took $ms ms" test "$ms" -ge 700 -a "$ms" -le 2500

reply=$(timeout 5 cat <&"$used" | hex_of)
ms=$(($(now_ms) - t_used))
exec {used}>&-
expect_eq "used, then idle: answered (ID 7777, 4 answers)" "7777 4" "${reply:4:4} $((16#${reply:16:4}))"
expect_true "used, then idle: closed after ~1 s, took $ms ms" test "$ms" -le 2500

timeout 10 cat <&"$many" >"$T/many.out"
exec {many}>&-
got=$(od -An -v -tu1 "$T/many.out" | awk '
    { for (i = 1; i <= NF; i++) b[n++] = $i }
    END { p = 0; k = 0
          while (p + 4 <= n) { len = b[p] * 256 + b[p + 1]; id = b[p + 2] * 256 + b[p + 3]
                               an = b[p + 8] * 256 + b[p + 9]; rc = b[p + 5] % 16
                               if (id != k + 1 || an != 28 || rc != 0) { print "bad answer " k + 1 ": id " id " an " an " rcode " rc; exit }
                               k++; p += 2 + len }
          print k " answers" (p == n ? "" : ", " n - p " stray bytes") }')
expect_eq "1500 pipelined queries with 2.3 KB answers: all answered, whole, in order" "1500 answers" "$got"

# Stopping with client connections open (one with half a query in its
# buffer, one idle, one that just got its answer): exit 0, nothing leaked.
exec {half}<>"/dev/tcp/127.0.0.1/$PORT"
exec {idle2}<>"/dev/tcp/127.0.0.1/$PORT"
exec {done}<>"/dev/tcp/127.0.0.1/$PORT"
hex_bytes "$(printf '%04x' $((${#msg} / 2)))${msg:0:20}" >"$T/half.bin"
cat "$T/half.bin" >&"$half"
cat "$T/q.bin" >&"$done"
sleep 0.2
stop_dnsd
exec {half}>&- {idle2}>&- {done}>&-

# tcp-clients 1 with one worker: a second connection is closed at once.
setup_conf basic.conf pool.example.org.zone snap-basic.txt
conf_add "threads 1" "tcp-clients 1" "tcp-timeout 10"
start_dnsd
exec {hold}<>"/dev/tcp/127.0.0.1/$PORT"
sleep 0.2
out=$(q +tcp pool.example.org A)
expect_no_match "tcp-clients 1: a second TCP client gets no answer while the first is connected" \
    'status: NOERROR' "$out"
expect_q "tcp-clients 1: UDP is unaffected" --status NOERROR --an 4 -- pool.example.org A
exec {hold}>&-
ok=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
    sleep 0.1
    out=$(q +tcp pool.example.org A)
    if grep -q 'status: NOERROR' <<<"$out"; then
        ok=1
        break
    fi
done
expect_eq "tcp-clients 1: once the first client left, TCP is served again" 1 "$ok"
stop_dnsd
finish
