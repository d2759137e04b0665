#!/bin/sh
# Creates or updates the Python virtual environment the integration tests use, installs boto3,
# paho-mqtt, the AWS IoT Device SDKs (v2 awsiotsdk, v1 AWSIoTPythonSDK) and the Lambda runtime client
# awslambdaric (which runs deployed python3.x functions) into it, and prints the
# path of its python interpreter on the last line of stdout.
#
#   SIGNALBOX_VENV   where the venv lives (default: .venv in the repository root)
#   PYTHON           interpreter to create it with (default: python3)
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${SIGNALBOX_VENV:-"$root/.venv"}
python=${PYTHON:-python3}

if ! command -v "$python" >/dev/null 2>&1; then
    echo "venv.sh: '$python' not found; install Python 3 (with the venv module) or set PYTHON" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import boto3, paho.mqtt, awsiot, AWSIoTPythonSDK, awslambdaric' >/dev/null 2>&1; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check boto3 paho-mqtt awsiotsdk AWSIoTPythonSDK \
        awslambdaric >&2
fi
echo "$venv/bin/python"
