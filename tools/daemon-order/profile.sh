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
  "$bin/pmtui" start sleep --name s1 -- 1000
  # A few more starts, one call each, as a user adding apps does (and the benchmark's
  # 200-app step): the code they run is laid out with the rest of the hot code.
  for i in 1 2 3 4 5 6 7 8; do "$bin/pmtui" start sleep --name "more$i" -- 1000 >/dev/null; "$bin/pmtui" ping >/dev/null; done
  "$bin/pmtui" start sh --name crash -- -c 'echo hi; echo err >&2; sleep 0.3; exit 3'
  sleep 3
  "$bin/pmtui" ls; "$bin/pmtui" ls --json >/dev/null; "$bin/pmtui" describe s1 >/dev/null
  "$bin/pmtui" logs --lines 5 --nostream crash
  "$bin/pmtui" restart s1; "$bin/pmtui" stop all; "$bin/pmtui" delete all
  sleep 2
fi
"$bin/pmtui" kill
wait
