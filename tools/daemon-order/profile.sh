#!/usr/bin/env bash
# Runs pmtui-daemon under callgrind (every instruction address it runs), pings it and lets it
# idle; with `ops`, also runs the common verbs. Usage: profile.sh <dir of pmtui + pmtui-daemon> <out> [ops]
set -euo pipefail
bin=$(cd "$1" && pwd); out=$2; ops=${3:-}
home=$(mktemp -d); export PMTUI_HOME=$home
trap 'rm -rf "$home"' EXIT
valgrind --tool=callgrind --callgrind-out-file="$out" --compress-strings=no --compress-pos=no \
  --dump-instr=yes "$bin/pmtui-daemon" >"$out.log" 2>&1 &
for _ in $(seq 240); do [ -S "$home/pmtui.sock" ] && break; sleep 0.5; done
"$bin/pmtui" ping
sleep 8
if [ -n "$ops" ]; then
  "$(dirname "$0")/ops.sh" "$bin"
fi
"$bin/pmtui" kill
wait
