#!/usr/bin/env bash
# t_raw.sh -- hand-made packets over bash's /dev/udp and /dev/tcp: header
# bits echoed (ID, RD, CD, opcode), no answer to responses (QR=1) or to
# packets shorter than a header, FORMERR for malformed questions and
# additional sections, NOTIMP for other opcodes, REFUSED for other classes,
# TCP pipelining (several length-prefixed queries in one write, answered in
# order), a query split over two TCP segments.  (AXFR/IXFR: t_xfr.sh.)
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

setup_conf basic.conf pool.example.org.zone snap-basic.txt
conf_add "tcp-timeout 1"
start_dnsd

QNAME=$(hex_name pool.example.org)
Q_A="${QNAME}00010001"                  # pool.example.org IN A
OPT="0000290200000000000000"            # root, OPT, payload 512, no flags, no options


# raw_check DESC HEX EXPECTED-RCODE-NAME [ID]: a reply must come, with that
# ID (default: the query's), QR set and that rcode.
raw_check() {
    local desc=$1 hex=$2 want=$3 id=${4:-${2:0:4}} r
    r=$(raw_udp "$hex")
    if [[ -z $r ]]; then
        fail "$desc: no reply" "sent: $hex"
        return 1
    fi
    local bad=()
    [[ $(hx_id "$r") == "$id" ]] || bad+=("ID: expected $id, got $(hx_id "$r")")
    (((16#$(hx_flags "$r") & 0x8000) != 0)) || bad+=("QR not set (flags $(hx_flags "$r"))")
    [[ $(rcode_name "$(hx_rcode "$r")") == "$want" ]] || bad+=("rcode: expected $want, got $(rcode_name "$(hx_rcode "$r")")")
    if ((${#bad[@]})); then
        fail "$desc" "${bad[@]}" "sent:     $hex" "received: $r"
        return 1
    fi
    RAW_REPLY=$r
    pass
}

# raw_silent HEX DESC: no reply.  A normal query (ID 0xcafe) follows the
# packet on the same socket; the first datagram back must be its answer
# (one socket, one worker, handled in order), so no waiting for a timeout.
raw_silent() {
    local fd r
    hex_bytes "$1" >"$T/silent.bin"
    hex_bytes "$(hex_hdr 0xcafe 0 1 0 0 0)$Q_A" >"$T/canary.bin"
    exec {fd}<>"/dev/udp/127.0.0.1/$PORT"
    cat "$T/silent.bin" >&"$fd"
    cat "$T/canary.bin" >&"$fd"
    r=$(timeout 2 dd bs=65536 count=1 status=none <&"$fd" | hex_of)
    exec {fd}>&-
    if [[ $(hx_id "$r") == cafe ]]; then pass; else fail "$2: expected no reply" "sent: $1" "received first: ${r:-nothing}"; fi
}

# -- well-formed: header bits
raw_check "plain query with RD" "$(hex_hdr 0x1234 0x0100 1 0 0 0)$Q_A" NOERROR
expect_eq "reply flags: QR AA RD, rcode 0" 8500 "$(hx_flags "$RAW_REPLY")"
expect_eq "reply: one question, 4 answers, no additional" "1 4 0" \
    "$(hx_qd "$RAW_REPLY") $(hx_an "$RAW_REPLY") $(hx_ar "$RAW_REPLY")"
expect_eq "reply echoes the question" "$Q_A" "${RAW_REPLY:24:${#Q_A}}"
raw_check "query with CD and without RD" "$(hex_hdr 0xbeef 0x0010 1 0 0 0)$Q_A" NOERROR
expect_eq "reply flags: QR AA CD" 8410 "$(hx_flags "$RAW_REPLY")"
raw_check "query with RD, AD and the Z bit" "$(hex_hdr 0x1235 0x0160 1 0 0 0)$Q_A" NOERROR
expect_eq "reply flags: QR AA RD; AD and Z clear (RFC 8906 8.1.3)" 8500 "$(hx_flags "$RAW_REPLY")"
raw_check "query with an OPT" "$(hex_hdr 0x0001 0x0000 1 0 0 1)$Q_A$OPT" NOERROR
expect_eq "reply with an OPT has ARCOUNT 1" 1 "$(hx_ar "$RAW_REPLY")"
raw_check "question name in mixed case" "$(hex_hdr 0x0002 0 1 0 0 0)$(hex_name pOoL.eXaMpLe.OrG)00010001" NOERROR
expect_eq "mixed-case question echoed byte for byte" "$(hex_name pOoL.eXaMpLe.OrG)00010001" "${RAW_REPLY:24:44}"

# -- no reply at all
raw_silent "$(hex_hdr 0x2000 0x8000 1 0 0 0)$Q_A" "a response (QR=1)"
raw_silent "$(hex_hdr 0x2001 0x8400 1 1 0 0)${Q_A}c00c000100010000003c0004c0000201" "a response with an answer (QR=1)"
raw_silent "1234010000" "5 bytes, shorter than a header"
raw_silent "12340100000100000000" "10 bytes, shorter than a header"

# -- FORMERR
raw_check "header only (QDCOUNT 0)" "$(hex_hdr 0x3001 0 0 0 0 0)" FORMERR
raw_check "QDCOUNT 2 with two questions" "$(hex_hdr 0x3002 0 2 0 0 0)$Q_A$Q_A" FORMERR
raw_check "QDCOUNT 1 but no question" "$(hex_hdr 0x3003 0 1 0 0 0)" FORMERR
raw_check "question name cut short" "$(hex_hdr 0x3004 0 1 0 0 0)04706f6f6c076578" FORMERR
raw_check "question without type and class" "$(hex_hdr 0x3005 0 1 0 0 0)$QNAME" FORMERR
raw_check "question with the class cut" "$(hex_hdr 0x3006 0 1 0 0 0)${QNAME}000100" FORMERR
raw_check "compression pointer in the question name" "$(hex_hdr 0x3007 0 1 0 0 0)04706f6f6cc00c00010001" FORMERR
raw_check "label of 64 bytes" "$(hex_hdr 0x3008 0 1 0 0 0)40$(printf '61%.0s' {1..64})0000010001" FORMERR
long=""
for _ in 1 2 3 4 5; do long+="3f$(printf '62%.0s' {1..63})"; done
raw_check "name longer than 255 bytes" "$(hex_hdr 0x3009 0 1 0 0 0)${long}0000010001" FORMERR
raw_check "ANCOUNT 1 in a query" "$(hex_hdr 0x300a 0 1 1 0 0)${Q_A}c00c000100010000003c0004c0000201" FORMERR
raw_check "NSCOUNT 1 in a query" "$(hex_hdr 0x300b 0 1 0 1 0)${Q_A}c00c000100010000003c0004c0000201" FORMERR
raw_check "ARCOUNT 1 but no record" "$(hex_hdr 0x300c 0 1 0 0 1)$Q_A" FORMERR
raw_check "two OPT records (RFC 6891 6.1.1)" "$(hex_hdr 0x300d 0 1 0 0 2)$Q_A$OPT$OPT" FORMERR
raw_check "OPT owned by a name other than the root" "$(hex_hdr 0x300e 0 1 0 0 1)${Q_A}c00c00290200000000000000" FORMERR
raw_check "OPT RDLEN past the end" "$(hex_hdr 0x300f 0 1 0 0 1)${Q_A}00002902000000000000100001" FORMERR
raw_check "OPT option longer than the RDATA" "$(hex_hdr 0x3010 0 1 0 0 1)${Q_A}00002902000000000000080001000aabcd" FORMERR
raw_check "OPT option header cut" "$(hex_hdr 0x3011 0 1 0 0 1)${Q_A}0000290200000000000002fde9" FORMERR
expect_eq "FORMERR reply has no answers" 0 "$(hx_an "$RAW_REPLY")"

# -- opcodes other than QUERY: NOTIMP, opcode echoed
raw_check "opcode 2 (STATUS)" "$(hex_hdr 0x4002 0x1000 1 0 0 0)$Q_A" NOTIMP
expect_eq "NOTIMP reply keeps opcode 2, QR set" 9004 "$(hx_flags "$RAW_REPLY")"
raw_check "opcode 4 (NOTIFY)" "$(hex_hdr 0x4004 0x2400 1 0 0 0)${QNAME}00060001" NOTIMP
raw_check "opcode 5 (UPDATE)" "$(hex_hdr 0x4005 0x2800 1 0 0 0)${QNAME}00060001" NOTIMP
raw_check "opcode 15" "$(hex_hdr 0x400f 0x7800 1 0 0 0)$Q_A" NOTIMP
raw_check "opcode 1 (IQUERY, obsolete)" "$(hex_hdr 0x4001 0x0800 1 0 0 0)$Q_A" NOTIMP

# -- classes
raw_check "class CH" "$(hex_hdr 0x5004 0 1 0 0 0)${QNAME}00010003" REFUSED
raw_check "class ANY (255) at a pool name" "$(hex_hdr 0x5005 0 1 0 0 0)${QNAME}000100ff" REFUSED

# -- TCP: pipelining, split query; the server closes idle connections
# after tcp-timeout 1, so cat ends by itself.
tcpq() { # HEX: the length-prefixed form
    printf '%04x%s' $((${#1} / 2)) "$1"
}
# Messages of a length-prefixed stream (hex) -> lines of hex.
split_stream() {
    local s=$1 len
    while ((${#s} >= 4)); do
        len=$((16#${s:0:4}))
        echo "${s:4:len*2}"
        s=${s:4+len*2}
    done
}
exec {c1}<>"/dev/tcp/127.0.0.1/$PORT"
exec {c2}<>"/dev/tcp/127.0.0.1/$PORT"
# c1: three queries in one write, plus a response (QR=1) that must be skipped
hex_bytes "$(tcpq "$(hex_hdr 0x6001 0 1 0 0 0)$Q_A")$(tcpq "$(hex_hdr 0x6002 0x8000 1 0 0 0)$Q_A")$(tcpq "$(hex_hdr 0x6003 0 1 0 0 1)$(hex_name 4.pool.example.org)00010001$OPT")$(tcpq "$(hex_hdr 0x6004 0 1 0 0 0)$(hex_name www.pool.example.org)00050001")" >"$T/pipe.bin"
cat "$T/pipe.bin" >&"$c1"
# c2: one query in two pieces, 300 ms apart
whole=$(tcpq "$(hex_hdr 0x6201 0 1 0 0 0)$(hex_name 2.pool.example.org)001c0001")
hex_bytes "${whole:0:10}" >"$T/part1.bin"
hex_bytes "${whole:10}" >"$T/part2.bin"
cat "$T/part1.bin" >&"$c2"
sleep 0.3
cat "$T/part2.bin" >&"$c2"
t0=$(now_ms)
r1=$(timeout 5 cat <&"$c1" | hex_of)
r2=$(timeout 5 cat <&"$c2" | hex_of)
elapsed=$(($(now_ms) - t0))
exec {c1}>&- {c2}>&-

mapfile -t m1 < <(split_stream "$r1")
ids=""
for m in "${m1[@]}"; do ids+="$(hx_id "$m")/$(rcode_name "$(hx_rcode "$m")") "; done
expect_eq "TCP pipelining: 3 answers in order, the QR=1 message skipped" \
    "6001/NOERROR 6003/NXDOMAIN 6004/NOERROR " "$ids"
expect_eq "TCP pipelining: 4 A records in the first answer" 4 "$(hx_an "${m1[0]:-}")"
expect_eq "TCP pipelining: the NXDOMAIN answer carries an OPT" 1 "$(hx_ar "${m1[1]:-}")"
mapfile -t m2 < <(split_stream "$r2")
expect_eq "TCP query sent in two pieces: answered" "1 6201 NOERROR 4" \
    "${#m2[@]} $(hx_id "${m2[0]:-}") $(rcode_name "$(hx_rcode "${m2[0]:-}")") $(hx_an "${m2[0]:-}")"
expect_true "connections closed by the server (tcp-timeout 1) within 4 s (took ${elapsed} ms)" \
    test "$elapsed" -lt 4000

stop_dnsd
finish
