#!/usr/bin/env bash
# Runs every test: builds, checks the shipped rules.yaml, then runs the whole test suite.
# Usage: bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/setup.sh

echo "== build"
swift build --build-tests
echo "== signalbox check rules.yaml"
"$(swift build --show-bin-path)/signalbox" check rules.yaml
echo "== Python venv with boto3 (for the iot-data integration tests)"
sh Tests/Integration/venv.sh
echo "== a handler package outside the repository, on the public API and SignalboxTesting alone"
outside="$(mktemp -d)"
trap 'rm -rf "$outside"' EXIT
cp -R Tests/OutsidePackage/. "$outside/"
SIGNALBOX_PACKAGE="$PWD" swift test --package-path "$outside"
echo "== swift test"
# Swift Testing prints its summary ("Test run with N tests … passed") last.
swift test --skip-build
