#!/usr/bin/env bash
# Installs what building and testing Signalbox needs on a fresh Debian 12 machine.
# Idempotent: installs only what is missing. Fails loudly.
set -euo pipefail

# Debian packages the build, the tests or the runtime need: SQLite headers for the store, zlib headers
# for function bundles (zip), Python
# with venv for the boto3 integration tests, openssl and curl for the TLS tests, Mosquitto (broker and
# clients) for the MQTT tests. Later components add to this list.
APT_PACKAGES=(git ca-certificates libsqlite3-dev zlib1g-dev python3 python3-venv openssl curl mosquitto mosquitto-clients util-linux)

missing=()
for package in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
    for candidate in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
        if [ -x "$candidate/swift" ]; then export PATH="$candidate:$PATH"; fi
    done
fi
command -v swift >/dev/null 2>&1 || { echo "setup: Swift 6 toolchain not found (expected on PATH or in /opt/swift)" >&2; exit 1; }
