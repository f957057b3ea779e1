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
# perf starts the daemon, so that its start-up is recorded too (natively its libraries
# take paths that valgrind's CPU does not offer, such as AVX2 searches).
perf record -q -e exceptions:page_fault_user -o "$home/perf.data" -- "$bin/pmtui-daemon" >"$home/daemon.log" 2>&1 &
perf=$!
for _ in $(seq 240); do [ -S "$home/pmtui.sock" ] && break; sleep 0.1; done
daemon=$(cat "$home/daemon.pid")
"$bin/pmtui" ping >/dev/null
"$(dirname "$0")/ops.sh" "$bin"
# The executable's code mapping and its segment's address in the link map.
read -r start end offset < <(awk -v exe="$bin/pmtui-daemon" '$2 ~ /x/ && $6 == exe { split($1, r, "-"); print r[1], r[2], $3; exit }' "/proc/$daemon/maps")
delta=$(readelf -lW "$bin/pmtui-daemon" | awk '$1 == "LOAD" && / R E / { print $3, $2; exit }')
"$bin/pmtui" kill >/dev/null
wait "$perf" || true
# The daemon's threads, and its children between clone and exec (they share its memory
# and still bear its name); not what children run after exec.
perf script -i "$home/perf.data" -F pid,comm,trace 2>/dev/null | python3 -c '
import sys, re
start, end, offset = (int(x, 16) for x in sys.argv[1:4])
vaddr, foff = (int(x, 16) for x in sys.argv[4].split())
daemon = sys.argv[5]
for line in sys.stdin:
    m = re.search(r"address=0x([0-9a-f]+)", line)
    fields = line.split()
    if m and len(fields) > 1 and (fields[1] == daemon or fields[0] == "pmtui-daemon"):
        a = int(m.group(1), 16)
        if start <= a < end:
            print(hex(a - start + offset + vaddr - foff))
' "$start" "$end" "$offset" "$delta" "$daemon" >"$out"
