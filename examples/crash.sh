#!/bin/sh
# Crashes about a second after it starts, to show pmtui's restart backoff.
echo "crasher: starting (pid $$)"
sleep 1
echo "crasher: something went wrong" >&2
exit 1
