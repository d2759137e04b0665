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

topic=gateways/gw-01/devices/fridge-7/telemetry
shadow='fridge-7={"state":{"desired":{"maxTemp":5,"alertPhone":"+15550100"}}}'
run_sample() {
    echo
    echo "== signalbox test $rules --topic $topic --payload '$1' ${2:+--shadow '$2'}"
    if [ -n "${2:-}" ]; then "$bin" test "$rules" --topic "$topic" --payload "$1" --shadow "$2"
    else "$bin" test "$rules" --topic "$topic" --payload "$1"; fi
}
echo
echo "Sample gateway messages through the rules (nothing is executed; the server arrives with the runtime):"
run_sample '{"temp": 4.2, "battery": 87}' "$shadow"      # a normal reading
run_sample '{"temp": 9.5, "battery": 12}' "$shadow"      # too warm and a low battery
run_sample '{"temp": 9.5, "battery": 80}'                # too warm, but the fridge has no shadow yet
