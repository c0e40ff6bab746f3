#!/usr/bin/env bash
# Decode the same 100k-packet pcapng with bonjourctl capture --read and with
# tshark -r, both writing their full text decode to /dev/null, and print the
# times and the ratio. Run from the repository root; needs tshark.
set -euo pipefail
N=${N:-100000}
mkdir -p bench/out
go build -o bench/out/bonjourctl ./cmd/bonjourctl
go run ./bench/mkpcap -n "$N" -o bench/out/100k.pcapng
f=bench/out/100k.pcapng
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
b_text=$(t bench/out/bonjourctl capture --read "$f")
b_json=$(t bench/out/bonjourctl capture --read "$f" --json)
ts_sum=$(t tshark -r "$f")
ts_v=$(t tshark -r "$f" -V)
ts_json=$(t tshark -r "$f" -T json)
printf '%-44s %8.2f s\n' "bonjourctl capture --read (text)" "$b_text" \
    "bonjourctl capture --read --json" "$b_json" \
    "tshark -r (one summary line per packet)" "$ts_sum" \
    "tshark -r -V (full decode)" "$ts_v" \
    "tshark -r -T json" "$ts_json"
echo "packets: $N"
printf 'ratio tshark -r / bonjourctl text:      %.1fx\n' "$(echo "$ts_sum / $b_text" | bc -l)"
printf 'ratio tshark -r -V / bonjourctl text:   %.1fx\n' "$(echo "$ts_v / $b_text" | bc -l)"
printf 'ratio tshark -T json / bonjourctl json: %.1fx\n' "$(echo "$ts_json / $b_json" | bc -l)"
