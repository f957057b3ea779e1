#!/bin/sh
# A shell worker for the pmtui example: one line every N seconds, a goodbye on SIGINT.
every=1
[ "$1" = "--every" ] && every="$2"
trap 'echo "worker: stopping"; exit 0' INT TERM
n=0
while :; do
  n=$((n + 1))
  echo "worker: job $n done"
  sleep "$every" &
  wait $!
done
