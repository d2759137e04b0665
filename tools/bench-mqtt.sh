#!/usr/bin/env bash
# QoS 1 telemetry through Mosquitto: the broker alone delivering to a subscriber that only counts,
# then the same messages into Signalbox (journal + one rule + persist), in the same run.
#
# Each phase starts a fresh Mosquitto (deploy/mosquitto/signalbox.conf's settings on a free loopback
# port) and PUBLISHERS `mosquitto_pub -q 1 -l` processes, each sending MESSAGES/PUBLISHERS JSON
# readings for its own device. The rate is messages / (first publish → last message counted):
#   broker only  a `mosquitto_sub -q 1` on a persistent session has received all of them;
#   Signalbox    every message has its row in `records` (signalbox_action… persist successes).
# Then: Signalbox's rate as a percentage of the broker's, and a loss/duplicate check of the rows.
#
# Usage: bash tools/bench-mqtt.sh        Environment: MESSAGES (200000), PUBLISHERS (4),
#        MQTT_VERSION (5 or 3.1.1), SIGNALBOX (default .build-release/release/signalbox)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
messages=${MESSAGES:-200000}
publishers=${PUBLISHERS:-4}
version=${MQTT_VERSION:-5}
tool_version=$([ "$version" = 5 ] && echo mqttv5 || echo mqttv311)
per=$((messages / publishers))
messages=$((per * publishers))

sb=${SIGNALBOX:-$root/.build-release/release/signalbox}
if [ ! -x "$sb" ]; then
    swift build -c release --product signalbox --scratch-path .build-release >&2
fi
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
work=$(mktemp -d /tmp/signalbox-bench-mqtt.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

start_broker() {
    local port=$1 dir=$2
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown mosquitto: "$dir" 2>/dev/null || true
    sed -e "s|^listener 1883 127.0.0.1|listener $port 127.0.0.1|" -e "s|^persistence_location .*|persistence_location $dir/|" \
        -e 's|^log_dest stdout|log_dest none|' deploy/mosquitto/signalbox.conf >"$dir/mosquitto.conf"
    "$mosquitto_bin" -c "$dir/mosquitto.conf" &
    pids+=($!)
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && return
        sleep 0.05
    done
    echo "bench-mqtt: mosquitto did not start" >&2
    exit 1
}

# The readings, one file per publisher: {"n": N, "temp": …, "battery": …}, N unique across the run.
for p in $(seq "$publishers"); do
    python3 - "$p" "$per" >"$work/lines-$p" <<'EOF'
import sys
p, per = int(sys.argv[1]), int(sys.argv[2])
for i in range(per):
    n = (p - 1) * per + i + 1
    print(f'{{"n": {n}, "temp": {4 + (n % 50) / 10}, "battery": {80 - n % 30}}}')
EOF
done

publish_all() {
    local port=$1
    local started
    started=$(now)
    local publisher_pids=()
    for p in $(seq "$publishers"); do
        mosquitto_pub -h 127.0.0.1 -p "$port" -V "$tool_version" -q 1 -M 1000 -i "pub-$p" \
            -t "gateways/gw1/devices/f$p/telemetry" -l <"$work/lines-$p" &
        publisher_pids+=($!)
    done
    echo "$started"
    for pid in "${publisher_pids[@]}"; do wait "$pid"; done
}

echo "== $(nproc) CPUs; $messages QoS 1 messages from $publishers publishers, MQTT $version"

# Broker only.
port=$(free_port)
start_broker "$port" "$work/broker-only"
mosquitto_sub -h 127.0.0.1 -p "$port" -V "$tool_version" -q 1 -c -i counter -t 'gateways/+/devices/+/telemetry' -E
mosquitto_sub -h 127.0.0.1 -p "$port" -V "$tool_version" -q 1 -c -i counter -t 'gateways/+/devices/+/telemetry' \
    -C "$messages" >"$work/counted" &
counter=$!
started=$(publish_all "$port" | head -1)
wait "$counter"
ended=$(now)
counted=$(wc -l <"$work/counted")
broker_rate=$(python3 -c "print(round($counted / ($ended - $started)))")
echo "broker only   $counted messages in $(python3 -c "print(round($ended - $started, 2))") s: $broker_rate msg/s"
kill "${pids[-1]}" 2>/dev/null || true

# Signalbox.
port=$(free_port)
start_broker "$port" "$work/broker-signalbox"
data=$work/data
# The publishers are gateway gw1's devices, bound to it (a gateway's messages are taken only for its own devices).
"$sb" gateways add gw1 --data "$data" >/dev/null
# shellcheck disable=SC2046
"$sb" gateways bind gw1 probe $(seq -f 'f%g' 1 "$publishers") --data "$data" >/dev/null
"$sb" serve --data "$data" --rules Benchmarks/Fixtures/one-rule-persist.yaml --port 0 --log-level warning \
    --mqtt "mqtt://127.0.0.1:$port" --mqtt-version "$version" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
pids+=($server)
for _ in $(seq 100); do grep -q '^listening on' "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(awk '/^listening on/ {print $3}' "$work/serve.out")
token=$(awk '/token:/ {print $2}' "$work/serve.out")
persisted() {
    curl -s -H "Authorization: Bearer $token" "$url/metrics" |
        awk '/^signalbox_action_invocations_total/ && /function="persist"/ {sum += $2} END {print sum + 0}'
}
# Subscribed once a probe comes through (its row is subtracted below).
for _ in $(seq 200); do
    mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t gateways/gw1/devices/probe/telemetry -m '{"probe": true}'
    sleep 0.1
    [ "$(persisted)" -gt 0 ] && break
done
probes=$(persisted)
started=$(publish_all "$port" | head -1)
while [ "$(persisted)" -lt $((messages + probes)) ]; do sleep 0.02; done
ended=$(now)
signalbox_rate=$(python3 -c "print(round($messages / ($ended - $started)))")
echo "signalbox     $messages messages journaled, evaluated and persisted in $(python3 -c "print(round($ended - $started, 2))") s: $signalbox_rate msg/s"
echo "ratio         $(python3 -c "print(round(100 * $signalbox_rate / $broker_rate, 1))") % of the broker-only rate"
kill -TERM "$server"
wait "$server" 2>/dev/null || true
python3 - "$data/records.sqlite" "$messages" <<'EOF'
import json, sqlite3, sys
path, expected = sys.argv[1], int(sys.argv[2])
rows = sqlite3.connect(path).execute(
    "SELECT data FROM records WHERE topic NOT LIKE '%/probe/%'").fetchall()
ns = [json.loads(row[0])["n"] for row in rows]
missing = expected - len(set(ns))
duplicates = len(ns) - len(set(ns))
print(f"rows          {len(ns)}; missing {missing}; duplicates {duplicates}")
sys.exit(0 if missing == 0 and duplicates == 0 else 1)
EOF
