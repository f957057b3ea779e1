#!/bin/sh
# A desktop notification (notify-send), or a line on the terminals of the user (wall),
# when a process crashes. Use it as a hook:
#   hooks: { crash: "/path/to/examples/hooks/notify.sh" }
# pmtui gives the event in PMTUI_* variables (and as JSON on stdin, unused here).
title="pmtui: $PMTUI_NAME ${PMTUI_EVENT:-event}"
body="id $PMTUI_ID, ${PMTUI_REASON:-?}${PMTUI_EXIT_CODE:+, exit code $PMTUI_EXIT_CODE}${PMTUI_SIGNAL:+, signal $PMTUI_SIGNAL}"
if command -v notify-send >/dev/null 2>&1 && [ -n "$DISPLAY$WAYLAND_DISPLAY" ]; then
    exec notify-send "$title" "$body"
elif command -v wall >/dev/null 2>&1; then
    echo "$title: $body" | wall
else
    echo "$title: $body" >&2
fi
