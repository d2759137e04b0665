#!/usr/bin/env bash
# Runs Signalbox with the default rules.yaml: SQLite under ./data, HTTP on 127.0.0.1:8080.
#
# Installs what it needs, builds a release binary, checks the rules file, then serves the shadow API
# in the foreground (Ctrl-C stops it). On the first run it creates an admin token and prints it once.
# Usage: bash tools/run.sh [RULES_FILE] [extra `signalbox serve` options…]
#   e.g. bash tools/run.sh rules.yaml --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh

rules="${1:-rules.yaml}"
shift || true
swift build -c release --product signalbox
bin="$(swift build -c release --show-bin-path)/signalbox"

echo "== signalbox check $rules"
"$bin" check "$rules"

echo "== signalbox serve --data ./data --rules $rules $*"
echo "Try: curl -H \"Authorization: Bearer \$TOKEN\" -d '{\"state\":{\"desired\":{\"maxTemp\":5}}}' \\"
echo "       http://127.0.0.1:8080/things/fridge-7/shadow"
exec "$bin" serve --data ./data --rules "$rules" "$@"
