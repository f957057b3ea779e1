#!/usr/bin/env bash
# Runs every fuzz target one after the other for SECONDS each (default 150), from the
# committed seeds (fuzz/seeds/<target>) into a working corpus (fuzz/corpus/<target>, not
# committed), and prints one line per target: executions, corpus size, and whether it found
# a crash (kept in fuzz/artifacts/<target>/). Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
# Usage: fuzz/run.sh [SECONDS] [TARGET…]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-150}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(frame_codec request config_json config_yaml config_toml units cron)
fi
cargo +nightly fuzz build >/dev/null || exit 1
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  log="fuzz/target/$t.log"
  cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1
  status=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crash=$(grep -Eo '(crash|timeout|oom|leak)-[0-9a-f]+' "$log" | head -1)
  echo "$t: ${runs:-?} runs in ${seconds}s, corpus $(ls "fuzz/corpus/$t" | wc -l), exit $status${crash:+, found $crash}"
done
