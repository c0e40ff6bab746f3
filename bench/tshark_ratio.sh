#!/usr/bin/env bash
# Decode the same 100k-packet pcapng with bonjourctl capture --read and with
# tshark -r, both writing their full text decode to /dev/null, and print the
# median time of RUNS runs of each and the ratios. Run from the repository
# root; needs tshark.
set -euo pipefail
N=${N:-100000}
RUNS=${RUNS:-5}
mkdir -p bench/out
go build -o bench/out/bonjourctl ./cmd/bonjourctl
go run ./bench/mkpcap -n "$N" -o bench/out/100k.pcapng
f=bench/out/100k.pcapng
# t CMD...: the median wall time of RUNS runs, in seconds.
t() {
	local i s e
	for ((i = 0; i < RUNS; i++)); do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1
		e=$(date +%s.%N)
		echo "$e - $s" | bc
	done | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
b_text=$(t bench/out/bonjourctl capture --read "$f")
b_json=$(t bench/out/bonjourctl capture --read "$f" --json)
ts_sum=$(t tshark -r "$f")
ts_v=$(t tshark -r "$f" -V)
ts_json=$(t tshark -r "$f" -T json)
echo "packets: $N, median of $RUNS runs each"
printf '%-44s %8.3f s\n' "bonjourctl capture --read (text)" "$b_text" \
	"bonjourctl capture --read --json" "$b_json" \
	"tshark -r (one summary line per packet)" "$ts_sum" \
	"tshark -r -V (full decode)" "$ts_v" \
	"tshark -r -T json" "$ts_json"
printf 'ratio tshark -r / bonjourctl text:      %.1fx\n' "$(echo "$ts_sum / $b_text" | bc -l)"
printf 'ratio tshark -r -V / bonjourctl text:   %.1fx\n' "$(echo "$ts_v / $b_text" | bc -l)"
printf 'ratio tshark -T json / bonjourctl json: %.1fx\n' "$(echo "$ts_json / $b_json" | bc -l)"
