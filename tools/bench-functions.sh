#!/usr/bin/env bash
# Benchmarks deployed functions against a release build, side by side in one run:
#   1. cold start: a server whose workers stop as soon as they are idle (--function-idle-timeout 0),
#      so every invocation starts a worker; N sequential invocations of a Swift `bootstrap` (made with
#      tools/new-function.sh) and of a Python function (awslambdaric); the client's round trip and the
#      REPORT lines' Init Duration and Duration;
#   2. warm invocations through a rule: K messages to a rule whose `lambda` action calls the Swift
#      function, the Python function, and the compiled-in `log` handler (at debug level, not printed),
#      2 workers / 2 invocations at once each; messages per second until the action has succeeded K
#      times, and Signalbox's own CPU time per invocation (user + system, from /proc).
#
# Usage: bash tools/bench-functions.sh [N_COLD=30] [K_WARM=20000]
#   SIGNALBOX=path/to/release/signalbox to skip the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh >&2
cold_runs="${1:-30}"
warm_messages="${2:-20000}"

bin="${SIGNALBOX:-}"
if [[ -z "$bin" ]]; then
    swift build -c release --product signalbox >&2
    bin="$(swift build -c release --show-bin-path)/signalbox"
fi
python=$(sh Tests/Integration/venv.sh | tail -n 1)
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

echo "== building the Swift function (release, static)" >&2
bash tools/new-function.sh bench-swift "$work/bench-swift" >&2
bash "$work/bench-swift/build.sh" >&2
mkdir -p "$work/bench-python"
printf 'def handler(event, context):\n    return {"alarm": (event.get("temp") or 0) > 8}\n' >"$work/bench-python/app.py"

# start_server DATA [serve options…]: starts a server, sets $server_pid, $url, $SIGNALBOX_TOKEN.
start_server() {
    local data="$1"
    shift
    mkdir -p "$data"
    "$bin" serve --data "$data" --port 0 --python "$python" --log-level error "$@" >"$data/serve.out" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$data/serve.out" 2>/dev/null && break
        sleep 0.1
    done
    url=$(grep -o "http://127.0.0.1:[0-9]*" "$data/serve.out" | head -1)
    SIGNALBOX_TOKEN=$(grep "token:" "$data/serve.out" | awk '{print $2}')
    export SIGNALBOX_TOKEN
}

stop_server() {
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}

deploy() {
    "$bin" functions deploy bench-swift --dir "$work/bench-swift/.build/lambda" --runtime provided.al2023 \
        --handler bench-swift --url "$url" >&2
    "$bin" functions deploy bench-python --dir "$work/bench-python" --runtime python3.12 --handler app.handler \
        --url "$url" >&2
}

# percentile P < numbers (one per line)
percentile() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; printf "%.2f", v[i] }'; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server_pid/stat"; }
ticks_per_second=$(getconf CLK_TCK)

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"
echo
echo "## Cold start ($cold_runs sequential invocations, every one starting a worker)"
start_server "$work/cold" --function-idle-timeout 0
deploy
printf '| function | round trip p50 (ms) | p90 | Init Duration p50 (ms) | Duration p50 (ms) |\n|---|---|---|---|---|\n'
for fn in bench-swift bench-python; do
    : >"$work/$fn.times"
    for _ in $(seq "$cold_runs"); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $SIGNALBOX_TOKEN" \
            -d '{"temp": 9.5}' "$url/2015-03-31/functions/$fn/invocations" >>"$work/$fn.times"
        sleep 0.2 # the worker of the last invocation has stopped
    done
    "$bin" functions logs "$fn" --url "$url" >"$work/$fn.log"
    round_p50=$(awk '{ print $1 * 1000 }' "$work/$fn.times" | percentile 50)
    round_p90=$(awk '{ print $1 * 1000 }' "$work/$fn.times" | percentile 90)
    init_p50=$(grep -o 'Init Duration: [0-9.]*' "$work/$fn.log" | awk '{ print $3 }' | percentile 50)
    run_p50=$(grep -o '	Duration: [0-9.]*' "$work/$fn.log" | awk '{ print $2 }' | percentile 50)
    echo "| $fn | $round_p50 | $round_p90 | $init_p50 | $run_p50 |"
done
stop_server

echo
echo "## Warm invocations through a rule ($warm_messages messages each; 2 workers, 2 invocations at once)"
cat >"$work/rules.yaml" <<'EOF'
version: 1
devices:
  key_level: 4
rules:
  - name: swift
    sql: SELECT temp FROM 'gateways/+/devices/+/swift'
    actions:
      - { function: lambda, with: { function_name: bench-swift, concurrency: 2 } }
  - name: python
    sql: SELECT temp FROM 'gateways/+/devices/+/python'
    actions:
      - { function: lambda, with: { function_name: bench-python, concurrency: 2 } }
  - name: builtin
    sql: SELECT temp FROM 'gateways/+/devices/+/builtin'
    actions:
      - { function: log, with: { level: debug } }
EOF
"$bin" gateways add gw --data "$work/warm" >"$work/gateway.out"
gateway_token=$(grep "token:" "$work/gateway.out" | awk '{print $2}')
start_server "$work/warm" --rules "$work/rules.yaml" --auto-bind-devices --function-concurrency 2 --max-in-flight 200000
deploy
succeeded() {
    curl -s -H "Authorization: Bearer $SIGNALBOX_TOKEN" "$url/admin/rules" |
        "$python" -c "import json,sys; r={x['name']: x for x in json.load(sys.stdin)['rules']}; print(r['$1']['actions'][0]['succeeded'])"
}
printf '| handler | messages/s | Signalbox CPU per invocation (µs) |\n|---|---|---|\n'
for kind in builtin swift python; do
    "$python" - "$work/batch-$kind.json" "$kind" <<'EOF'
import json, sys
path, kind = sys.argv[1], sys.argv[2]
with open(path, "w") as out:
    json.dump([{"topic": f"gateways/gw/devices/d{i % 50}/{kind}", "payload": {"temp": i % 12}} for i in range(1000)], out)
EOF
    # Warm the workers first.
    curl -s -o /dev/null -H "Authorization: Bearer $gateway_token" --data-binary @"$work/batch-$kind.json" "$url/gateways/gw/messages"
    for _ in $(seq 200); do [[ "$(succeeded "$kind")" -ge 1000 ]] && break; sleep 0.1; done
    base=$(succeeded "$kind")
    ticks_before=$(cpu_ticks)
    start=$(date +%s.%N)
    for _ in $(seq $((warm_messages / 1000))); do
        curl -s -o /dev/null -H "Authorization: Bearer $gateway_token" --data-binary @"$work/batch-$kind.json" \
            "$url/gateways/gw/messages"
    done
    target=$((base + warm_messages / 1000 * 1000))
    while [[ "$(succeeded "$kind")" -lt "$target" ]]; do sleep 0.05; done
    end=$(date +%s.%N)
    ticks_after=$(cpu_ticks)
    awk -v n=$((warm_messages / 1000 * 1000)) -v s="$start" -v e="$end" -v t=$((ticks_after - ticks_before)) -v hz="$ticks_per_second" -v k="$kind" \
        'BEGIN { printf "| %s | %.0f | %.1f |\n", k, n / (e - s), t / hz / n * 1e6 }'
done
stop_server
