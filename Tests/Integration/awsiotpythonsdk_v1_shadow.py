"""Drives the classic shadow with the AWS IoT Device SDK for Python v1 (AWSIoTPythonSDK) shadow
client, over a plain MQTT connection to a broker on 127.0.0.1 that Signalbox is connected to.

The v1 client stamps every request with its own clientToken and drops any reply that does not
echo it, so each accepted/rejected below also proves the echo. Flow: get (rejected 404), update
desired (accepted), the delta callback, report (accepted), get (accepted, no delta), a stale version
(rejected 409), delete (accepted).

Environment: MQTT_PORT, THING. Exits non-zero with a message on the first failed check.
"""
import json
import queue

from AWSIoTPythonSDK.MQTTLib import AWSIoTMQTTShadowClient

from shadow_checks import PORT, THING, TIMEOUT, check, fail

client = AWSIoTMQTTShadowClient(f"v1-{THING}")
client.configureEndpoint("127.0.0.1", PORT)
client.configureConnectDisconnectTimeout(TIMEOUT)
client.configureMQTTOperationTimeout(TIMEOUT)
check(client.connect(), "not connected")
handler = client.createShadowHandlerWithName(THING, True)

replies = queue.Queue()
deltas = queue.Queue()


def on_reply(payload, status, token):
    replies.put((status, json.loads(payload) if payload else {}, token))


def next_reply(what):
    try:
        return replies.get(timeout=TIMEOUT + 2)
    except queue.Empty:
        fail(f"no reply to {what}")


handler.shadowRegisterDeltaCallback(lambda payload, status, token: deltas.put(json.loads(payload)))

handler.shadowGet(on_reply, TIMEOUT)
status, body, _ = next_reply("the first get")
check(status == "rejected" and body.get("code") == 404, f"get of a missing shadow: {status} {body}")

handler.shadowUpdate(json.dumps({"state": {"desired": {"maxTemp": 5}}}), on_reply, TIMEOUT)
status, body, _ = next_reply("the desired update")
check(status == "accepted" and body.get("version") == 1, f"desired update: {status} {body}")
try:
    delta = deltas.get(timeout=TIMEOUT)
except queue.Empty:
    fail("no delta")
check(delta.get("state") == {"maxTemp": 5} and delta.get("version") == 1, f"delta: {delta}")

handler.shadowUpdate(json.dumps({"state": {"reported": {"maxTemp": 5}}}), on_reply, TIMEOUT)
status, body, _ = next_reply("the report")
check(status == "accepted" and body.get("version") == 2, f"report: {status} {body}")

handler.shadowGet(on_reply, TIMEOUT)
status, body, _ = next_reply("the second get")
check(status == "accepted" and body.get("version") == 2, f"second get: {status} {body}")
check("delta" not in body.get("state", {}), f"the delta is not cleared: {body}")

handler.shadowUpdate(json.dumps({"state": {"desired": {"maxTemp": 3}}, "version": 1}), on_reply, TIMEOUT)
status, body, _ = next_reply("the stale update")
check(status == "rejected" and body.get("code") == 409, f"stale version: {status} {body}")

handler.shadowDelete(on_reply, TIMEOUT)
status, body, _ = next_reply("the delete")
check(status == "accepted" and body.get("version") == 2, f"delete: {status} {body}")

client.disconnect()
print("AWSIoTPythonSDK v1 classic shadow: ok")
