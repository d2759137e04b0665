#!/usr/bin/env bash
# Runs Signalbox with the default rules.yaml.
#
# The HTTP/MQTT server arrives with the runtime; until then this validates rules.yaml and shows,
# for a set of sample gateway messages, which rules fire, what they output and what each action
# would be called with (nothing is executed).
# Usage: bash tools/run.sh [RULES_FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh

rules="${1:-rules.yaml}"
swift build -c release --product signalbox
bin="$(swift build -c release --show-bin-path)/signalbox"

echo "== signalbox check $rules"
"$bin" check "$rules"

echo
echo "== sample messages (signalbox test: matching rules, outputs, action parameters)"
"$bin" test "$rules" --samples
