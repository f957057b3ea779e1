#!/bin/sh
# Appends each event (the JSON pmtui writes on stdin, one object a line) to a file, by
# default $PMTUI_HOME/events.jsonl. Use it for any event, per app or in config.toml:
#   [hooks]
#   crash = "/path/to/examples/hooks/log-to-file.sh"
#   restart = "/path/to/examples/hooks/log-to-file.sh"
file=${PMTUI_EVENTS_FILE:-$PMTUI_HOME/events.jsonl}
cat >> "$file"
