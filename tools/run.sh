#!/usr/bin/env bash
# Runs Signalbox with the default rules.yaml: SQLite under ./data, HTTP on 127.0.0.1:8080.
#
# Installs what it needs, builds a release binary, checks the rules file, then serves the shadow API
# in the foreground (Ctrl-C stops it). On the first run it creates an admin token and prints it once.
# Usage: bash tools/run.sh [RULES_FILE] [extra `signalbox serve` options…]
#   e.g. bash tools/run.sh rules.yaml --port 9000
# With MQTT=1 it also starts Mosquitto on 127.0.0.1:1883 (deploy/mosquitto/signalbox.conf, persistence
# under ./data/mosquitto) and connects Signalbox to it; both stop together.
# Python functions (docs/functions.md) run with the .venv's Python, which has the Lambda runtime client.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh

rules="${1:-rules.yaml}"
shift || true
swift build -c release --product signalbox
bin="$(swift build -c release --show-bin-path)/signalbox"

echo "== signalbox check $rules"
"$bin" check "$rules"

# Deployed python3.x functions run under the Lambda runtime client (awslambdaric), installed into the
# repository's .venv; `signalbox serve` uses that Python unless SIGNALBOX_PYTHON or --python says otherwise.
if [ -z "${SIGNALBOX_PYTHON:-}" ]; then
    echo "== Python with the Lambda runtime client (.venv)"
    if venv_python=$(sh Tests/Integration/venv.sh | tail -n 1); then
        export SIGNALBOX_PYTHON="$venv_python"
    else
        echo "warning: the Python venv could not be made; python3.x functions will not start" >&2
    fi
fi

mqtt_args=()
if [ "${MQTT:-0}" = 1 ]; then
    mkdir -p data/mosquitto
    # Started as root, Mosquitto drops to its own user, which must be able to write its persistence file.
    if [ "$(id -u)" -eq 0 ] && id mosquitto >/dev/null 2>&1; then chown mosquitto: data/mosquitto; fi
    mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
    echo "== mosquitto -c deploy/mosquitto/signalbox.conf (127.0.0.1:1883)"
    "$mosquitto_bin" -c deploy/mosquitto/signalbox.conf &
    mosquitto_pid=$!
    trap 'kill "$mosquitto_pid" 2>/dev/null || true' EXIT
    mqtt_args=(--mqtt mqtt://127.0.0.1:1883)
fi

echo "== signalbox serve --data ./data --rules $rules ${mqtt_args[*]} $*"
echo "Try: curl -H \"Authorization: Bearer \$TOKEN\" -d '{\"state\":{\"desired\":{\"maxTemp\":5}}}' \\"
echo "       http://127.0.0.1:8080/things/fridge-7/shadow"
if [ ${#mqtt_args[@]} -gt 0 ]; then
    echo "     signalbox gateways add gw1 && signalbox gateways bind gw1 fridge-7   # a gateway's messages count for its own devices"
    echo "     mosquitto_pub -q 1 -t gateways/gw1/devices/fridge-7/telemetry -m '{\"temp\": 4.5, \"battery\": 80}'"
    "$bin" serve --data ./data --rules "$rules" "${mqtt_args[@]}" "$@"
else
    exec "$bin" serve --data ./data --rules "$rules" "$@"
fi
