#!/usr/bin/env bash
# Starts `signalbox serve` over a temporary data directory with the shipped rules.yaml on a free
# loopback port, with gateways gwA (device a1) and gwB (device b1), and runs tools/probe-security.py
# against it: slow bodies, idle and half-open connections, a gateway publishing for another
# gateway's device. Prints what it saw; exits non-zero when a check fails. Loopback only, bounded.
# Usage: bash tools/probe-security.sh [SERVE OPTIONS…]   e.g. --body-timeout 3s --idle-timeout 5s
# Environment: SIGNALBOX  the binary (default: the debug build, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh

sb=${SIGNALBOX:-}
if [ -z "$sb" ]; then
    swift build --product signalbox >&2
    sb="$(swift build --show-bin-path)/signalbox"
fi
work=$(mktemp -d /tmp/signalbox-probe.XXXXXX)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

data=$work/data
token_a=$("$sb" gateways add gwA --data "$data" | awk '/token:/ {print $2}')
token_b=$("$sb" gateways add gwB --data "$data" | awk '/token:/ {print $2}')
"$sb" gateways bind gwA a1 --data "$data" >/dev/null
"$sb" gateways bind gwB b1 --data "$data" >/dev/null
"$sb" serve --data "$data" --rules rules.yaml --port 0 --log-level error "$@" >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do
    grep -q '^listening on' "$work/serve.out" 2>/dev/null && break
    sleep 0.1
done
url=$(awk '/^listening on/ {print $3}' "$work/serve.out")
[ -n "$url" ] || { echo "probe-security: the server did not start" >&2; cat "$work/serve.err" >&2; exit 1; }
echo "signalbox serve $* at $url"
python3 tools/probe-security.py --url "$url" --token-a "$token_a" --token-b "$token_b"
