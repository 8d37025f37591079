#!/usr/bin/env bash
# t_wildcard.sh -- listening on the wildcard addresses (0.0.0.0 and [::]):
# each reply leaves from the address its query was sent to (IP_PKTINFO,
# IPV6_RECVPKTINFO), here 127.0.0.1, 127.0.0.2 and ::1, which dig checks;
# and a burst that mixes queries with messages dnsd must drop (QR set, or
# shorter than a header) gets exactly one reply per query.  A burst is
# likely to arrive in one receive batch, whose replies must then skip the
# dropped messages.
# shellcheck source=tests/integ/lib.sh
source "$(dirname "$0")/lib.sh"

setup_conf basic.conf pool.example.org.zone snap-basic.txt
sed -i "s|^listen 127\.0\.0\.1:$PORT|listen 0.0.0.0:$PORT|" "$CONF"
expect_match "the config listens on 0.0.0.0" "^listen 0\.0\.0\.0:$PORT" "$(grep '^listen' "$CONF")"
v6=0
if have_ipv6_loopback; then
    v6=1
    conf_add "listen [::]:$PORT"
else
    note "no ::1 on this machine: [::] not tested"
fi
start_dnsd

for addr in 127.0.0.1 127.0.0.2; do
    DIG_SERVER=$addr
    expect_q "UDP to $addr, answered from it" --status NOERROR --an 4 -- pool.example.org A
    expect_q "TCP to $addr" --status NOERROR --an 4 -- +tcp pool.example.org A
done
if ((v6)); then
    DIG_SERVER=::1
    expect_q "UDP to ::1 on [::], answered from it" --status NOERROR --an 4 -- pool.example.org A
fi

# The burst: queries with IDs 0x0101, 0x0103, 0x0105; 0x0102 and 0x0104 have
# QR set, and one 5-byte message is shorter than a header.
DIG_SERVER=127.0.0.2
Q_A="$(hex_name pool.example.org)00010001"
# esc HEX: the bytes as printf %b escapes, so that the burst itself is sent
# by shell builtins, microseconds apart, not one process per datagram.
esc() { sed 's/[^0-9a-fA-F]//g; s/../\\x&/g' <<<"$1"; }
burst() {
    local fd i m=()
    for i in 1 2 3 4 5; do
        if ((i % 2)); then
            m+=("$(esc "$(hex_hdr $((0x0100 + i)) 0 1 0 0 0)$Q_A")")
        else
            m+=("$(esc "$(hex_hdr $((0x0100 + i)) 0x8000 1 0 0 0)$Q_A")")
        fi
    done
    m+=("$(esc 0106000000)")
    exec {fd}<>"/dev/udp/$DIG_SERVER/$PORT"
    for i in 0 1 5 2 3 4; do
        printf '%b' "${m[i]}" >&"$fd"
    done
    for i in 1 2 3 4; do
        timeout 0.5 dd bs=65536 count=1 status=none <&"$fd" | hex_of
        echo
    done
    exec {fd}>&-
}
for round in 1 2 3 4 5 6 7 8; do
    ids=$(burst | while read -r r; do [[ -n $r ]] && echo "$(hx_id "$r"):$(rcode_name "$(hx_rcode "$r")")"; done |
        sort | tr '\n' ' ')
    expect_eq "burst $round: one NOERROR reply per query, none for the others" \
        "0101:NOERROR 0103:NOERROR 0105:NOERROR " "$ids"
done
DIG_SERVER=127.0.0.1
expect_q "still answering after the bursts" --status NOERROR --an 4 -- pool.example.org A

stop_dnsd
finish
