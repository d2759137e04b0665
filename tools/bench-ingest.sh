#!/usr/bin/env bash
# One runtime benchmark run, start to finish: a fresh data directory, a release `signalbox serve`
# with Benchmarks/Fixtures/one-rule-persist.yaml (one rule, one persist action), a gateway and its
# token, then `ingest-load` with the options given, then — once the server has handled everything in
# flight and stopped — the loss check (every acknowledged message has its row in `records`), the
# server's memory (VmRSS, RssAnon and RssFile sampled from /proc every 2 s), its CPU time and bytes
# written per message, and its receive → handler-start histogram when GET /metrics has one.
#
# Usage: bash tools/bench-ingest.sh PRESET|-- [more ingest-load options…]
#   presets (docs/benchmarks.md, "Runtime: ingest → journal → rules → persist"):
#     throughput   --batch 1000 --connections 4 --duration 30                      closed loop
#     latency      --rate 10000 --batch 1 --connections 16 --duration 30           open loop, in-flight sampled
#     reload       --rate 50000 --batch 100 --connections 8 --duration 60 --reload-every 1
#     overload     --rate 250000 --batch 1000 --connections 16 --duration 300     set --rate to ≥ 10× throughput
#   Options after the preset are appended (a later option wins): e.g.
#     bash tools/bench-ingest.sh overload --rate 300000 --duration 60
#     bash tools/bench-ingest.sh -- --batch 10 --connections 8 --duration 20
# Environment:
#   SIGNALBOX     the server binary (default: .build-release/release/signalbox, built if missing with
#                 `swift build -c release --product signalbox --scratch-path .build-release`)
#   RULES         the rules file (default: Benchmarks/Fixtures/one-rule-persist.yaml)
#   SERVE_ARGS    more `signalbox serve` options, e.g. "--lanes 2 --max-in-flight 50000"
#   KEEP=1        keep the data directory (printed) instead of deleting it
#   PERF_SECONDS  record `perf record -g` of the server for this many seconds, starting 5 s into the load
#   PERF_CALL_GRAPH  perf's call-graph option instead of -g, e.g. "--call-graph dwarf" (SQLite has no frame pointers)
#   SERVER_CPUS, LOAD_CPUS  pin the server and the load generator to these CPUs (taskset -c), e.g.
#                 SERVER_CPUS=0 LOAD_CPUS=1: half the machine serves, the other half can offer ~10× its rate
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

preset=${1:---}
shift || true
case "$preset" in
    throughput) load_args=(--batch 1000 --connections 4 --duration 30) ;;
    latency) load_args=(--rate 10000 --batch 1 --connections 16 --duration 30 --sample-in-flight 100) ;;
    reload) load_args=(--rate 50000 --batch 100 --connections 8 --duration 60 --reload-every 1) ;;
    overload) load_args=(--rate 250000 --batch 1000 --connections 16 --duration 300) ;;
    --) load_args=() ;;
    *) echo "bench-ingest: unknown preset '$preset' (throughput, latency, reload, overload or --)" >&2; exit 2 ;;
esac
load_args+=("$@")

sb=${SIGNALBOX:-$root/.build-release/release/signalbox}
if [ ! -x "$sb" ]; then
    swift build -c release --product signalbox --scratch-path .build-release >&2
fi
rules=${RULES:-$root/Benchmarks/Fixtures/one-rule-persist.yaml}
plan=Benchmarks/.build/release.yaml
if [ -f "$plan" ] && [ -n "$(find Package.swift Sources Functions -newer "$plan" -print -quit 2>/dev/null)" ]; then
    rm -f "$plan" Benchmarks/.build/release/description.json
fi
swift build -c release --package-path Benchmarks --product ingest-load >&2
load="$(swift build -c release --package-path Benchmarks --show-bin-path)/ingest-load"

work=$(mktemp -d /tmp/signalbox-bench.XXXXXX)
data=$work/data
server_pid=
sampler_pid=
cleanup() {
    [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

gateway_token=$("$sb" gateways add gw-01 --data "$data" | awk '/token:/ {print $2}')
# The load's devices f0…f{N-1} are gw-01's (a gateway publishes only for devices bound to it).
devices=1000
previous=
for argument in "${load_args[@]}"; do
    [ "$previous" = --devices ] && devices=$argument
    previous=$argument
done
# shellcheck disable=SC2046
"$sb" gateways bind gw-01 $(seq -f 'f%g' 0 $((devices - 1))) --data "$data" >/dev/null
# shellcheck disable=SC2086
server_pin=()
load_pin=()
[ -n "${SERVER_CPUS:-}" ] && server_pin=(taskset -c "$SERVER_CPUS")
[ -n "${LOAD_CPUS:-}" ] && load_pin=(taskset -c "$LOAD_CPUS")
"${server_pin[@]}" "$sb" serve --data "$data" --rules "$rules" --port 0 --log-level warning ${SERVE_ARGS:-} \
    >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 100); do
    grep -q '^listening on' "$work/serve.out" 2>/dev/null && break
    sleep 0.1
done
url=$(awk '/^listening on/ {print $3}' "$work/serve.out")
admin_token=$(awk '/token:/ {print $2}' "$work/serve.out")
[ -n "$url" ] || { echo "bench-ingest: the server did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
written_bytes() { awk '/^wchar/ {print $2}' "/proc/$server_pid/io"; }  # bytes passed to write(2)/pwrite(2)
(
    start=$(date +%s)
    while kill -0 "$server_pid" 2>/dev/null; do
        # VmRSS, RssAnon (heap), RssFile and RssShmem (mapped files, e.g. SQLite's WAL index), in KiB.
        rss=$(awk '/^(VmRSS|RssAnon|RssFile|RssShmem):/ {printf "%s ", $2}' "/proc/$server_pid/status" 2>/dev/null || true)
        [ -n "$rss" ] && echo "$(($(date +%s) - start)) $rss"
        sleep 2
    done
) >"$work/rss.txt" &
sampler_pid=$!

echo "== $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); server $sb; rules $rules ${SERVE_ARGS:-}${SERVER_CPUS:+; server on CPU $SERVER_CPUS}${LOAD_CPUS:+, load on CPU $LOAD_CPUS}"
echo "== ingest-load ${load_args[*]}"
ticks_before=$(cpu_ticks)
written_before=$(written_bytes)
if [ -n "${PERF_SECONDS:-}" ]; then
    (sleep 5 && perf record -F 499 ${PERF_CALL_GRAPH:--g} -p "$server_pid" -o "$work/perf.data" -- sleep "$PERF_SECONDS" \
        >/dev/null 2>&1) &
fi
"${load_pin[@]}" "$load" --url "$url" --token "$gateway_token" --admin-token "$admin_token" --gateway gw-01 \
    --ids-out "$work/acked.tsv" "${load_args[@]}"
ticks_load=$(cpu_ticks)

# Wait until the server has handled everything it accepted (in_flight.count 0), then stop it.
drain_start=$(date +%s.%N)
for _ in $(seq 1200); do
    count=$(curl -s -H "Authorization: Bearer $admin_token" "$url/admin/rules" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["in_flight"]["count"])' 2>/dev/null || echo "?")
    [ "$count" = 0 ] && break
    sleep 0.1
done
drain_end=$(date +%s.%N)
ticks_after=$(cpu_ticks)
written_after=$(written_bytes)
status=$(curl -s -H "Authorization: Bearer $admin_token" "$url/admin/rules")
echo "== drained in $(python3 -c "print(f'{$drain_end - $drain_start:.1f}')") s after the load ended (in flight: $count)"
STATUS="$status" python3 - <<'EOF'
import json, os
s = json.loads(os.environ["STATUS"])
for rule in s["rules"]:
    actions = ", ".join(
        f"{a['function']}: {a['succeeded']:,} ok, {a['failures']} failed, {a['dead_lettered']} dead-lettered"
        for a in rule["actions"])
    print(f"   rule {rule['name']}: evaluated {rule['evaluated']:,}, matched {rule['matched']:,}; {actions}")
print(f"   reloads: {s['reloads']['succeeded']} succeeded, {s['reloads']['failed']} failed")
EOF
# The server's own receive → handler-start histogram, when this build exports one.
METRICS=$(curl -s -H "Authorization: Bearer $admin_token" "$url/metrics") python3 - <<'EOF'
import os, re
buckets, sums, counts = {}, {}, {}
for line in os.environ["METRICS"].splitlines():
    m = re.match(r'(signalbox_(?:handler|action)_start_latency_seconds)_(bucket|sum|count)\{([^}]*)\} (\S+)', line)
    if not m:
        continue
    name, kind, labels, value = m.groups()
    series = name + "{" + re.sub(r',?\ble="[^"]*"', "", labels) + "}"
    if kind == "bucket":
        le = re.search(r'(?:^|,)le="([^"]*)"', labels).group(1)  # not the end of rule="…"
        buckets.setdefault(series, []).append((float("inf") if le == "+Inf" else float(le), float(value)))
    elif kind == "sum":
        sums[series] = float(value)
    else:
        counts[series] = float(value)
if not counts:
    print("== GET /metrics has no signalbox_handler_start_latency_seconds or signalbox_action_start_latency_seconds")
for series, count in counts.items():
    if not count:
        continue
    shares = ", ".join(f"≤ {le * 1000:g} ms {100 * n / count:.2f} %" for le, n in sorted(buckets[series])[:6])
    print(f"== server {series}: {count:,.0f} starts, mean {sums[series] / count * 1000:.2f} ms; {shares}")
EOF
kill -TERM "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=

if [ -n "${PERF_SECONDS:-}" ] && [ -f "$work/perf.data" ]; then
    mkdir -p /tmp/signalbox-perf && cp "$work/perf.data" "/tmp/signalbox-perf/perf-$(date +%H%M%S).data"
    echo "== perf: /tmp/signalbox-perf (perf report -i FILE --no-children --sort symbol | swift demangle)"
fi

echo "== loss check"
python3 tools/check-acked.py "$work/acked.tsv" "$data" || true
acked=$(awk '{n += $2} END {print n + 0}' "$work/acked.tsv")
hz=$(getconf CLK_TCK)
python3 - "$work/rss.txt" "$ticks_before" "$ticks_load" "$ticks_after" "$hz" "$acked" \
    "$((written_after - written_before))" <<'EOF'
import sys
path, before, load, after, hz, acked, written = sys.argv[1], *map(int, sys.argv[2:])
samples = [tuple(map(int, line.split())) for line in open(path) if len(line.split()) == 5]
if samples:
    rss = [sample[1] for sample in samples]
    print(f"== server RSS over {len(samples)} samples (every 2 s): first {rss[0]/1024:.0f} MiB, "
          f"max {max(rss)/1024:.0f} MiB, last {rss[-1]/1024:.0f} MiB; "
          f"max in the second half {max(rss[len(rss)//2:])/1024:.0f} MiB")
    step = max(1, len(samples) // 12)
    print("   RSS MiB by time (total = anonymous + file + shared): "
          + ", ".join(f"{t}s {total/1024:.0f} = {anon/1024:.0f}+{file/1024:.0f}+{shmem/1024:.0f}"
                      for t, total, anon, file, shmem in samples[::step] + samples[-1:]))
cpu = (after - before) / hz
print(f"== server CPU {cpu:.1f} s ({(load - before) / hz:.1f} s during the load, {(after - load) / hz:.1f} s draining)"
      + (f", {cpu / acked * 1e6:.1f} µs per acknowledged message" if acked else ""))
print(f"== server wrote {written / 2**20:,.0f} MiB to files and sockets"
      + (f", {written / acked:,.0f} bytes per acknowledged message" if acked else ""))
EOF
