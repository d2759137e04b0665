#!/usr/bin/env bash
# Load for a running Signalbox server's ingest endpoints: builds the Benchmarks package's
# `ingest-load` in release mode, then runs it with the arguments given.
#
# Usage: bash tools/load.sh --token TOKEN [--url http://127.0.0.1:8080] [--gateway gw-01]
#            [--connections 8] [--rate MSG_PER_S] [--devices 1000] [--batch 1] [--duration 10]
#            [--payload-bytes 128] [--ids-out FILE] [--reload-every SECONDS] [--admin-token TOKEN]
#            [--sample-in-flight MS] [--threads 1] [--no-progress]
#        bash tools/load.sh --help      # every option
#
#   --batch 1 posts each reading to POST /topics/{topic}; a larger batch (≤ 1000) posts to
#   POST /gateways/{gateway}/messages. --rate paces requests on a fixed schedule (open loop);
#   without it (or 0) each connection sends as soon as its previous reply is in (closed loop).
#   Topics are gateways/{gateway}/devices/f{i}/telemetry. A gateway token may publish there;
#   --reload-every and --sample-in-flight need an admin token (--admin-token, default --token).
#
# Examples (server: `signalbox serve --data DIR --rules Benchmarks/Fixtures/one-rule-persist.yaml`,
# gateway token from `signalbox gateways add gw-01 --data DIR`):
#   bash tools/load.sh --token "$GW" --batch 1000 --connections 4 --duration 30
#   bash tools/load.sh --token "$GW" --rate 10000 --batch 1 --connections 16 --duration 30 \
#       --admin-token "$ADMIN" --sample-in-flight 100
#   bash tools/load.sh --token "$GW" --rate 50000 --batch 100 --connections 8 --duration 60 \
#       --admin-token "$ADMIN" --reload-every 1 --ids-out /tmp/acked.tsv
#
# The report goes to standard output, the build and the per-second progress to standard error.
# docs/benchmarks.md ("Runtime: ingest → journal → rules → persist") has the measured numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh >&2

# SwiftPM keeps the Benchmarks build plan of its path dependency (the root package) and misses files
# added there since; dropping the cached plan when the root package is newer makes it look again.
plan=Benchmarks/.build/release.yaml
if [ -f "$plan" ] && [ -n "$(find Package.swift Sources Functions -newer "$plan" -print -quit 2>/dev/null)" ]; then
    rm -f "$plan" Benchmarks/.build/release/description.json
fi

swift build -c release --package-path Benchmarks --product ingest-load >&2
exec "$(swift build -c release --package-path Benchmarks --show-bin-path)/ingest-load" "$@"
