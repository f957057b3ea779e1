#!/usr/bin/env bash
# Runs pmtui-daemon natively (not under valgrind) through the verbs of ops.sh and
# records the addresses of the page faults on its code: the code the real start path runs
# that callgrind cannot see (under valgrind clone3 is refused and children start another
# way). Prints the faults' link-map addresses, one `0x…` a line.
# Usage: faults.sh <dir of pmtui + pmtui-daemon> <out>   (perf needed)
set -euo pipefail
bin=$(cd "$1" && pwd); out=$2
home=$(mktemp -d); export PMTUI_HOME=$home
trap 'rm -rf "$home"' EXIT
"$bin/pmtui-daemon" >"$home/daemon.log" 2>&1 &
daemon=$!
for _ in $(seq 240); do [ -S "$home/pmtui.sock" ] && break; sleep 0.1; done
perf record -q -e exceptions:page_fault_user -p "$daemon" -o "$home/perf.data" &
perf=$!
sleep 1
"$bin/pmtui" ping >/dev/null
"$(dirname "$0")/ops.sh" "$bin"
kill -INT "$perf"; wait "$perf" || true
# The executable's code mapping and its segment's address in the link map.
read -r start end offset < <(awk -v exe="$bin/pmtui-daemon" '$2 ~ /x/ && $6 == exe { split($1, r, "-"); print r[1], r[2], $3; exit }' "/proc/$daemon/maps")
delta=$(readelf -lW "$bin/pmtui-daemon" | awk '$1 == "LOAD" && / R E / { print $3, $2; exit }')
"$bin/pmtui" kill >/dev/null
perf script -i "$home/perf.data" -F trace 2>/dev/null | python3 -c '
import sys, re
start, end, offset = (int(x, 16) for x in sys.argv[1:4])
vaddr, foff = (int(x, 16) for x in sys.argv[4].split())
for line in sys.stdin:
    m = re.search(r"address=0x([0-9a-f]+)", line)
    if m:
        a = int(m.group(1), 16)
        if start <= a < end:
            print(hex(a - start + offset + vaddr - foff))
' "$start" "$end" "$offset" "$delta" >"$out"
