#!/usr/bin/env python3
"""Deploys and invokes a Python function on a running Signalbox with boto3's unchanged ``lambda`` client.

Environment:
  SIGNALBOX_ENDPOINT             http://127.0.0.1:PORT
  SIGNALBOX_ACCESS_KEY_ID        an admin token's access key id
  SIGNALBOX_SECRET_ACCESS_KEY    its secret
  EFFECTS_FILE                   where the deployed function appends one line per event it handles

The function is Lambda code as written for AWS: ``def handler(event, context)`` using
``context.aws_request_id`` and ``context.get_remaining_time_in_millis()``. It is created from a zip,
invoked (result, ``LogType=Tail``, a raised exception), published, aliased as ``live`` (the alias the
caller's rules name), updated, and checked through get/list. It is left deployed. Exits 1 with a
message on the first failure.
"""
import base64
import io
import json
import os
import sys
import zipfile

import boto3
from botocore.config import Config

from boto3_publish import CheckFailed, expect_error  # the same checks as the iot-data scripts

HANDLER = '''
import json, os

def handler(event, context):
    if isinstance(event, dict) and "raise" in event:
        raise ValueError(event["raise"])
    custom = (context.client_context.custom or {}) if context.client_context else {}
    key = custom.get("idempotency_key")
    if key is not None:
        with open(os.environ["EFFECTS_FILE"], "a") as effects:
            effects.write(key + " " + os.environ["AWS_LAMBDA_FUNCTION_VERSION"] + "\\n")
    print("handled", context.aws_request_id)
    return {
        "requestId": context.aws_request_id,
        "remaining": context.get_remaining_time_in_millis(),
        "event": event,
        "version": os.environ["AWS_LAMBDA_FUNCTION_VERSION"],
        "marker": MARKER,
    }
'''


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def bundle(marker):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", f"MARKER = {marker!r}\n" + HANDLER)
    return out.getvalue()


def main():
    client = boto3.client(
        "lambda",
        endpoint_url=os.environ["SIGNALBOX_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["SIGNALBOX_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["SIGNALBOX_SECRET_ACCESS_KEY"],
        config=Config(retries={"total_max_attempts": 1}, read_timeout=60),
    )
    name = "effects"
    created = client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/unused",
        Handler="app.handler",
        Code={"ZipFile": bundle("one")},
        Timeout=10,
        MemorySize=256,
        Environment={"Variables": {"EFFECTS_FILE": os.environ["EFFECTS_FILE"]}},
    )
    check(created["FunctionName"] == name and created["Version"] == "$LATEST", f"create_function: {created}")
    check(created["State"] == "Active", "the function is not Active")
    client.get_waiter("function_active_v2").wait(FunctionName=name)
    expect_error(
        lambda: client.create_function(
            FunctionName=name, Runtime="python3.12", Role="r", Handler="app.handler", Code={"ZipFile": bundle("x")}
        ),
        "ResourceConflictException",
        409,
    )
    expect_error(
        lambda: client.create_function(
            FunctionName="no-handler", Runtime="python3.12", Role="r", Handler="missing.handler",
            Code={"ZipFile": bundle("x")},
        ),
        "InvalidParameterValueException",
        400,
    )

    # RequestResponse, with the log tail.
    reply = client.invoke(FunctionName=name, Payload=json.dumps({"n": 1}), LogType="Tail")
    check(reply["StatusCode"] == 200 and "FunctionError" not in reply, f"invoke: {reply}")
    check(reply["ExecutedVersion"] == "$LATEST", f"ExecutedVersion: {reply.get('ExecutedVersion')}")
    result = json.loads(reply["Payload"].read())
    check(result["event"] == {"n": 1} and result["marker"] == "one", f"result: {result}")
    check(0 < result["remaining"] <= 10_000, f"get_remaining_time_in_millis: {result['remaining']}")
    log = base64.b64decode(reply["LogResult"]).decode()
    for part in (f"START RequestId: {result['requestId']}", "handled " + result["requestId"], "END RequestId:", "REPORT RequestId:"):
        check(part in log, f"log tail lacks {part!r}: {log!r}")
    check(len(base64.b64decode(reply["LogResult"])) <= 4096, "the log tail is longer than 4 KB")

    # A raised exception: FunctionError and Lambda's error document.
    failed = client.invoke(FunctionName=name, Payload=json.dumps({"raise": "bad reading"}))
    check(failed["StatusCode"] == 200 and failed.get("FunctionError") == "Unhandled", f"error invoke: {failed}")
    document = json.loads(failed["Payload"].read())
    check(document["errorType"] == "ValueError" and document["errorMessage"] == "bad reading", f"error: {document}")
    check(isinstance(document.get("stackTrace"), list), f"no stackTrace: {document}")

    # Event and DryRun.
    check(client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")["StatusCode"] == 202, "Event")
    check(client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204, "DryRun")
    expect_error(lambda: client.invoke(FunctionName="nobody"), "ResourceNotFoundException", 404)

    # Versions and the alias the rules use.
    version = client.publish_version(FunctionName=name, Description="first")
    check(version["Version"] == "1", f"publish_version: {version}")
    alias = client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    check(alias["AliasArn"].endswith(":function:effects:live"), f"create_alias: {alias}")
    updated = client.update_function_code(FunctionName=name, ZipFile=bundle("two"), Publish=True)
    check(updated["Version"] == "2", f"update_function_code: {updated}")
    client.update_alias(FunctionName=name, Name="live", FunctionVersion="2")
    reply = client.invoke(FunctionName=name, Qualifier="live", Payload=b'{"n": 2}')
    check(reply["ExecutedVersion"] == "2", f"alias invoke ran {reply.get('ExecutedVersion')}")
    check(json.loads(reply["Payload"].read())["marker"] == "two", "the alias did not run the new code")
    reply = client.invoke(FunctionName=f"{name}:1", Payload=b"{}")
    check(json.loads(reply["Payload"].read())["marker"] == "one", "version 1 no longer runs its own code")

    configured = client.update_function_configuration(FunctionName=name, Timeout=20, Description="effects")
    check(configured["Timeout"] == 20 and configured["Description"] == "effects", f"update config: {configured}")
    got = client.get_function(FunctionName=name, Qualifier="live")
    check(got["Configuration"]["Version"] == "2", f"get_function: {got['Configuration']}")
    names = [f["FunctionName"] for f in client.list_functions()["Functions"]]
    check(names == [name], f"list_functions: {names}")
    versions = [v["Version"] for v in client.list_versions_by_function(FunctionName=name)["Versions"]]
    check(versions == ["$LATEST", "1", "2"], f"list_versions_by_function: {versions}")

    # The configuration changed since version 2, so this is version 3; nothing changed since, so
    # publishing again (whatever the description) gives version 3 again.
    third = client.publish_version(FunctionName=name, Description="third")
    again = client.publish_version(FunctionName=name, Description="unchanged")
    check(third["Version"] == "3" and again["Version"] == "3", f"publish: {third['Version']}, {again['Version']}")
    check(created["FunctionArn"].endswith(":function:effects"), f"$LATEST's ARN: {created['FunctionArn']}")
    expect_error(
        lambda: client.update_function_configuration(FunctionName=name, Timeout=5, RevisionId="stale"),
        "PreconditionFailedException",
        412,
    )
    expect_error(lambda: client.invoke(FunctionName=name, Payload=b"{not json"), "InvalidRequestContentException", 400)
    expect_error(lambda: client.invoke(FunctionName=f"{name}:1", Qualifier="2"), "InvalidParameterValueException", 400)

    # A function made only to be changed and deleted: handler and code move to a new module, in
    # either order; a reserved concurrency of 0 throttles it.
    client.create_function(
        FunctionName="scratch", Runtime="python3.12", Role="r", Handler="app.handler", Code={"ZipFile": bundle("s")}
    )
    moved = io.BytesIO()
    with zipfile.ZipFile(moved, "w") as archive:
        archive.writestr("main.py", "def handler(event, context):\n    return 'moved'\n")
    client.update_function_configuration(FunctionName="scratch", Handler="main.handler")
    client.update_function_code(FunctionName="scratch", ZipFile=moved.getvalue())
    reply = client.invoke(FunctionName="scratch")
    check(json.loads(reply["Payload"].read()) == "moved", "the moved handler did not run")
    client.put_function_concurrency(FunctionName="scratch", ReservedConcurrentExecutions=0)
    expect_error(lambda: client.invoke(FunctionName="scratch"), "TooManyRequestsException", 429)
    client.delete_function_concurrency(FunctionName="scratch")
    check(client.invoke(FunctionName="scratch")["StatusCode"] == 200, "invoke after the concurrency was removed")
    client.delete_function(FunctionName="scratch")
    expect_error(lambda: client.get_function(FunctionName="scratch"), "ResourceNotFoundException", 404)
    print("boto3 lambda: all checks passed")


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
