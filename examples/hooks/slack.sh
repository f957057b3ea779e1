#!/bin/sh
# Posts a Slack-style message ({"text": …}) to the incoming-webhook URL in
# $SLACK_WEBHOOK_URL (Slack, Mattermost, Rocket.Chat and Discord's /slack endpoint take it).
# Use it as a hook (a hook has the daemon's environment, not the app's `env`, so give the
# URL in the command or in the daemon's environment):
#   hooks: { crash: "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/… /path/to/examples/hooks/slack.sh" }
# pmtui's own `webhook:` hooks POST the raw event JSON (http or https); this one reshapes
# it into Slack's payload and needs curl. A non-zero exit shows in `pmtui describe` and
# daemon.log.
set -eu
: "${SLACK_WEBHOOK_URL:?set SLACK_WEBHOOK_URL to the incoming-webhook URL}"
text=$(printf '*%s* %s (id %s) on %s: %s' "$PMTUI_EVENT" "$PMTUI_NAME" "$PMTUI_ID" \
    "$(hostname)" "${PMTUI_REASON:-}${PMTUI_EXIT_CODE:+, exit code $PMTUI_EXIT_CODE}${PMTUI_SIGNAL:+, signal $PMTUI_SIGNAL}")
# JSON-escape the text (backslashes and quotes; the fields hold no newlines).
escaped=$(printf '%s' "$text" | sed 's/\\/\\\\/g; s/"/\\"/g')
exec curl -fsS --max-time 8 -H 'Content-Type: application/json' \
    -d "{\"text\": \"$escaped\"}" "$SLACK_WEBHOOK_URL"
