#!/usr/bin/env python3
"""Drives a running Signalbox with boto3's unchanged ``iot-data`` client.

Environment:
  SIGNALBOX_ENDPOINT             http://127.0.0.1:PORT
  SIGNALBOX_ACCESS_KEY_ID        a token id (admin, or a gateway token with auto-binding on)
  SIGNALBOX_SECRET_ACCESS_KEY    its secret

Prints one line per check; exits 1 with a message on the first failure.
"""
import json
import os
import sys
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def make_client(key_id, secret):
    return boto3.client(
        "iot-data",
        endpoint_url=os.environ["SIGNALBOX_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


def document(response):
    return json.loads(response["payload"].read())


def expect_error(call, code, status):
    try:
        call()
    except ClientError as error:
        got_code = error.response.get("Error", {}).get("Code")
        got_status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        expect(got_code == code and got_status == status,
               f"expected {code} ({status}), got {got_code} ({got_status})")
        return error
    raise CheckFailed(f"expected {code} ({status}), but the call succeeded")


def main():
    client = make_client(os.environ["SIGNALBOX_ACCESS_KEY_ID"], os.environ["SIGNALBOX_SECRET_ACCESS_KEY"])
    run = uuid.uuid4().hex[:8]
    thing = f"boto-{run}"
    checks = []

    def check(name):
        def register(function):
            checks.append((name, function))
            return function
        return register

    @check("update classic shadow")
    def _():
        reply = document(client.update_thing_shadow(
            thingName=thing,
            payload=json.dumps({"state": {"desired": {"color": "red", "level": 3}}, "clientToken": "tok-1"}).encode()))
        expect(reply["state"] == {"desired": {"color": "red", "level": 3}}, f"state: {reply.get('state')}")
        expect(set(reply["metadata"]["desired"]) == {"color", "level"}, f"metadata: {reply.get('metadata')}")
        expect(reply["version"] == 1, f"version: {reply.get('version')}")
        expect(reply["clientToken"] == "tok-1", "clientToken not echoed")
        expect(isinstance(reply["timestamp"], int), "timestamp is not an integer")

    @check("get classic shadow with delta")
    def _():
        client.update_thing_shadow(thingName=thing, payload=b'{"state":{"reported":{"color":"blue","level":3}}}')
        reply = document(client.get_thing_shadow(thingName=thing))
        expect(reply["state"]["desired"] == {"color": "red", "level": 3}, f"desired: {reply['state']}")
        expect(reply["state"]["reported"] == {"color": "blue", "level": 3}, f"reported: {reply['state']}")
        expect(reply["state"]["delta"] == {"color": "red"}, f"delta: {reply['state'].get('delta')}")
        expect(reply["version"] == 2, f"version: {reply.get('version')}")

    @check("version conflict raises ConflictException")
    def _():
        payload = json.dumps({"state": {"desired": {"color": "green"}}, "version": 1}).encode()
        try:
            client.update_thing_shadow(thingName=thing, payload=payload)
        except client.exceptions.ConflictException as error:
            expect(error.response["ResponseMetadata"]["HTTPStatusCode"] == 409, "status is not 409")
            return
        raise CheckFailed("no ConflictException")

    @check("update with the right version")
    def _():
        payload = json.dumps({"state": {"desired": {"color": "green"}}, "version": 2}).encode()
        reply = document(client.update_thing_shadow(thingName=thing, payload=payload))
        expect(reply["version"] == 3, f"version: {reply.get('version')}")

    @check("named shadow update/get")
    def _():
        reply = document(client.update_thing_shadow(
            thingName=thing, shadowName="config", payload=b'{"state":{"desired":{"interval":30}}}'))
        expect(reply["version"] == 1, f"version: {reply.get('version')}")
        got = document(client.get_thing_shadow(thingName=thing, shadowName="config"))
        expect(got["state"] == {"desired": {"interval": 30}, "delta": {"interval": 30}}, f"state: {got['state']}")
        classic = document(client.get_thing_shadow(thingName=thing))
        expect("interval" not in classic["state"]["desired"], "named shadow leaked into the classic shadow")

    @check("delete classic shadow, then get raises ResourceNotFoundException")
    def _():
        reply = document(client.delete_thing_shadow(thingName=thing))
        expect(isinstance(reply.get("version"), int), f"delete reply: {reply}")
        try:
            client.get_thing_shadow(thingName=thing)
        except client.exceptions.ResourceNotFoundException as error:
            expect(error.response["ResponseMetadata"]["HTTPStatusCode"] == 404, "status is not 404")
            expect("No shadow exists" in error.response["Error"]["Message"], "unexpected message")
        else:
            raise CheckFailed("get after delete succeeded")
        expect_error(lambda: client.delete_thing_shadow(thingName=thing), "ResourceNotFoundException", 404)

    @check("delete named shadow")
    def _():
        client.delete_thing_shadow(thingName=thing, shadowName="config")
        expect_error(lambda: client.get_thing_shadow(thingName=thing, shadowName="config"),
                     "ResourceNotFoundException", 404)

    @check("list_named_shadows_for_thing paginates with pageSize=2")
    def _():
        lister = f"{thing}-list"
        names = [f"s{index}" for index in range(1, 6)]
        for name in names:
            client.update_thing_shadow(thingName=lister, shadowName=name, payload=b'{"state":{"reported":{"on":true}}}')
        client.update_thing_shadow(thingName=lister, payload=b'{"state":{"reported":{"on":true}}}')
        seen, pages, token = [], 0, None
        while True:
            arguments = {"thingName": lister, "pageSize": 2}
            if token:
                arguments["nextToken"] = token
            page = client.list_named_shadows_for_thing(**arguments)
            pages += 1
            expect(len(page["results"]) <= 2, f"page too long: {page['results']}")
            expect(isinstance(page["timestamp"], int), "timestamp is not an integer")
            seen += page["results"]
            token = page.get("nextToken")
            if not token:
                break
            expect(pages < 10, "pagination does not end")
        expect(seen == names, f"names: {seen}")
        expect(pages == 3, f"pages: {pages}")

    @check("oversized document raises RequestEntityTooLargeException")
    def _():
        big = thing + "-big"
        client.update_thing_shadow(thingName=big, payload=json.dumps({"state": {"desired": {"a": "x" * 5000}}}).encode())
        payload = json.dumps({"state": {"reported": {"b": "y" * 5000}}}).encode()
        try:
            client.update_thing_shadow(thingName=big, payload=payload)
        except client.exceptions.RequestEntityTooLargeException as error:
            expect(error.response["ResponseMetadata"]["HTTPStatusCode"] == 413, "status is not 413")
        else:
            raise CheckFailed("a merged state over 8 KB was accepted")

    @check("thing name with ':' and shadow name with '$'")
    def _():
        odd = f"my:thing:{run}"
        reply = document(client.update_thing_shadow(
            thingName=odd, shadowName="$config", payload=b'{"state":{"desired":{"mode":"eco"}}}'))
        expect(reply["state"] == {"desired": {"mode": "eco"}}, f"state: {reply['state']}")
        got = document(client.get_thing_shadow(thingName=odd, shadowName="$config"))
        expect(got["state"]["desired"] == {"mode": "eco"}, f"state: {got['state']}")
        listed = client.list_named_shadows_for_thing(thingName=odd)
        expect(listed["results"] == ["$config"], f"results: {listed['results']}")
        client.delete_thing_shadow(thingName=odd, shadowName="$config")

    @check("invalid JSON raises InvalidRequestException")
    def _():
        expect_error(lambda: client.update_thing_shadow(thingName=thing, payload=b"{not json"),
                     "InvalidRequestException", 400)

    @check("wrong secret gets HTTP 401")
    def _():
        wrong = make_client(os.environ["SIGNALBOX_ACCESS_KEY_ID"], "x" * 40)
        error = expect_error(lambda: wrong.get_thing_shadow(thingName=thing), "UnauthorizedException", 401)
        expect(os.environ["SIGNALBOX_SECRET_ACCESS_KEY"] not in str(error.response), "the secret leaked")

    @check("unknown access key gets HTTP 401")
    def _():
        unknown = make_client("SBXAAAAAAAAAAAAAAAAA", os.environ["SIGNALBOX_SECRET_ACCESS_KEY"])
        expect_error(lambda: unknown.get_thing_shadow(thingName=thing), "UnauthorizedException", 401)

    for name, function in checks:
        try:
            function()
        except CheckFailed as failure:
            print(f"FAIL {name}: {failure}")
            return 1
        except Exception as error:  # noqa: BLE001 - report anything unexpected as a failure
            print(f"FAIL {name}: unexpected {type(error).__name__}: {error}")
            return 1
        print(f"ok   {name}")
    print(f"all {len(checks)} checks passed")
    return 0


if __name__ == "__main__":
    for variable in ("SIGNALBOX_ENDPOINT", "SIGNALBOX_ACCESS_KEY_ID", "SIGNALBOX_SECRET_ACCESS_KEY"):
        if not os.environ.get(variable):
            print(f"FAIL setup: {variable} is not set")
            sys.exit(2)
    sys.exit(main())
