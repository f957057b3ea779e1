#!/usr/bin/env bash
# Remakes crates/pmtui/daemon-symbol-order.txt (see README.md): the callgrind profiles,
# then rounds of native page faults until one adds a name or none (at most 8), then the
# final release build, and says how many of the order's names its link map holds (all of
# them, or the order is stale). Builds `-p pmtui -p pmtui-bench`, as the benchmark does.
# Usage: tools/daemon-order/remake.sh   (from the repository's root; valgrind, perf and
# python3 needed; about 15 minutes on a built tree)
set -euo pipefail
export CARGO_INCREMENTAL=0
tools=$(dirname "$0")
order=crates/pmtui/daemon-symbol-order.txt
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
build() { PMTUI_DAEMON_LINK_MAP="$scratch/daemon.map" cargo build --release -p pmtui -p pmtui-bench; }
build
"$tools/profile.sh" target/release "$scratch/cg.idle"
"$tools/profile.sh" target/release "$scratch/cg.ops" ops
"$tools/order.py" "$scratch/daemon.map" "$scratch/cg.idle" "$scratch/cg.ops" >"$order"
for _ in 1 2 3 4 5 6 7 8; do
  build
  "$tools/faults.sh" target/release "$scratch/faults"
  "$tools/add_faults.py" "$scratch/daemon.map" "$scratch/faults" "$order" \
    >"$scratch/order.txt" 2>"$scratch/added.txt"
  cat "$scratch/added.txt"
  mv "$scratch/order.txt" "$order"
  [ "$(grep -o '^[0-9]*' "$scratch/added.txt")" -le 1 ] && break
done
build
python3 - "$order" "$scratch/daemon.map" <<'PY'
import sys
names = [l.strip() for l in open(sys.argv[1]) if l.strip()]
linked = open(sys.argv[2]).read()
print(f"order: {len(names)} names, {sum(n in linked for n in names)} in the link map")
PY
