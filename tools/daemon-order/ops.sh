#!/usr/bin/env bash
# The verbs both profiles run against a daemon already up in $PMTUI_HOME (profile.sh under
# callgrind, faults.sh natively), so that the two see the same code.
# Usage: ops.sh <dir of pmtui>
set -euo pipefail
pmtui=$1/pmtui
"$pmtui" start sleep --name s1 -- 1000 >/dev/null
# A few more starts, one call each, as a user adding apps does (and the benchmark's
# 200-app step): the code they run is laid out with the rest of the hot code.
for i in 1 2 3 4 5 6 7 8; do "$pmtui" start sleep --name "more$i" -- 1000 >/dev/null; "$pmtui" ping >/dev/null; done
# Past a few dozen apps some steps take other paths (sorts beyond insertion sort's
# size, larger replies): the benchmark's 200 apps run them.
for i in $(seq 1 40); do "$pmtui" start /bin/sleep --name "bulk$i" -- 1000 >/dev/null; done
"$pmtui" ls >/dev/null
# Every app's run is called stable 30 s after its start (a settled daemon's first wake-up).
sleep 31
"$pmtui" start sh --name crash -- -c 'echo hi; echo err >&2; sleep 0.3; exit 3' >/dev/null
sleep 3
"$pmtui" ls >/dev/null; "$pmtui" ls --json >/dev/null; "$pmtui" describe s1 >/dev/null
"$pmtui" logs --lines 5 --nostream crash >/dev/null
"$pmtui" restart s1 >/dev/null; "$pmtui" stop all >/dev/null; "$pmtui" delete all >/dev/null
sleep 2
