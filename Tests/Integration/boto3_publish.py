#!/usr/bin/env python3
"""Publishes through a running Signalbox with boto3's unchanged ``iot-data`` client.

Environment:
  SIGNALBOX_ENDPOINT             http://127.0.0.1:PORT
  SIGNALBOX_ACCESS_KEY_ID        a gateway token's id
  SIGNALBOX_SECRET_ACCESS_KEY    its secret
  SIGNALBOX_GATEWAY              the token's gateway

Publishes three messages the caller then checks were journaled (their topics and exact bytes are
printed as "published TOPIC HEX"), and checks that refused publishes raise the documented errors.
Exits 1 with a message on the first failure.
"""
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class CheckFailed(Exception):
    pass


def expect_error(call, code, status):
    try:
        call()
    except ClientError as error:
        got_code = error.response.get("Error", {}).get("Code")
        got_status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if got_code != code or got_status != status:
            raise CheckFailed(f"expected {code} ({status}), got {got_code} ({got_status})")
        return
    raise CheckFailed(f"expected {code} ({status}), but the call succeeded")


def main():
    client = boto3.client(
        "iot-data",
        endpoint_url=os.environ["SIGNALBOX_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["SIGNALBOX_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["SIGNALBOX_SECRET_ACCESS_KEY"],
        config=Config(retries={"total_max_attempts": 1}),
    )
    gateway = os.environ["SIGNALBOX_GATEWAY"]
    published = [
        (f"gateways/{gateway}/devices/fridge-7/telemetry", b'{"temp": 4.5, "door": "closed"}', 1),
        (f"gateways/{gateway}/devices/fridge 8/raw", bytes([0, 1, 2, 254, 255]), 0),
        (f"gateways/{gateway}/devices/caf\u00e9/status", b"", None),
    ]
    for topic, payload, qos in published:
        arguments = {"topic": topic, "payload": payload}
        if qos is not None:
            arguments["qos"] = qos
        response = client.publish(**arguments)
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        if status != 200:
            raise CheckFailed(f"publish to {topic} answered {status}")
        message_id = response["ResponseMetadata"]["HTTPHeaders"].get("x-signalbox-message-id")
        if not message_id:
            raise CheckFailed("no x-signalbox-message-id header")
        print(f"published {topic} {payload.hex()} id={message_id}")

    expect_error(lambda: client.publish(topic=f"gateways/{gateway}/+/x", payload=b"{}"),
                 "InvalidRequestException", 400)
    print("ok: a wildcard topic is refused")
    expect_error(lambda: client.publish(topic="$aws/things/t/shadow/update", payload=b"{}"),
                 "InvalidRequestException", 400)
    print("ok: a reserved topic is refused")
    expect_error(lambda: client.publish(topic="gateways/someone-else/x", payload=b"{}"),
                 "ForbiddenException", 403)
    print("ok: a topic outside the gateway's is refused")
    expect_error(lambda: client.publish(topic=f"gateways/{gateway}/big", payload=b"x" * (128 * 1024 + 1)),
                 "RequestEntityTooLargeException", 413)
    print("ok: a payload over 128 KiB is refused")


if __name__ == "__main__":
    try:
        main()
    except (CheckFailed, ClientError) as failure:
        print(f"FAILED: {failure}")
        sys.exit(1)
