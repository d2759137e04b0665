"""Drives a classic and a named shadow with the AWS IoT Device SDK for Python v2 (awsiotsdk), its
MQTT connection pointed at a broker on 127.0.0.1 that Signalbox is connected to.

For each shadow: get (rejected 404, then accepted once it exists), update desired, receive the
delta, report, see the delta cleared, and a stale version rejected with 409. Every reply must echo
the request's clientToken.

Environment: MQTT_PORT, THING. Exits non-zero with a message on the first failed check.
"""
import queue

from awscrt import io, mqtt
from awsiot import iotshadow

from shadow_checks import PORT, THING, TIMEOUT, check, fail

group = io.EventLoopGroup(1)
resolver = io.DefaultHostResolver(group)
bootstrap = io.ClientBootstrap(group, resolver)
connection = mqtt.Connection(
    client=mqtt.Client(bootstrap, None),
    host_name="127.0.0.1",
    port=PORT,
    client_id=f"awsiotsdk-{THING}",
    clean_session=True,
    keep_alive_secs=30,
)
connection.connect().result(TIMEOUT)
shadow = iotshadow.IotShadowClient(connection)


class Replies:
    """One queue per reply kind, fed by the SDK's callbacks."""

    def __init__(self):
        self.queues = {}

    def callback(self, kind):
        self.queues[kind] = queue.Queue()
        return lambda reply: self.queues[kind].put(reply)

    def next(self, kind):
        try:
            return self.queues[kind].get(timeout=TIMEOUT)
        except queue.Empty:
            fail(f"no {kind} within {TIMEOUT} s")


def subscribe(future_and_topic):
    future, _ = future_and_topic
    future.result(TIMEOUT)


def run(name):
    """The whole flow for the classic shadow (name None) or a named one."""
    label = name or "classic"
    replies = Replies()
    qos = mqtt.QoS.AT_LEAST_ONCE
    if name is None:
        subscribe(shadow.subscribe_to_get_shadow_accepted(
            iotshadow.GetShadowSubscriptionRequest(thing_name=THING), qos, replies.callback("get/accepted")))
        subscribe(shadow.subscribe_to_get_shadow_rejected(
            iotshadow.GetShadowSubscriptionRequest(thing_name=THING), qos, replies.callback("get/rejected")))
        subscribe(shadow.subscribe_to_update_shadow_accepted(
            iotshadow.UpdateShadowSubscriptionRequest(thing_name=THING), qos, replies.callback("update/accepted")))
        subscribe(shadow.subscribe_to_update_shadow_rejected(
            iotshadow.UpdateShadowSubscriptionRequest(thing_name=THING), qos, replies.callback("update/rejected")))
        subscribe(shadow.subscribe_to_shadow_delta_updated_events(
            iotshadow.ShadowDeltaUpdatedSubscriptionRequest(thing_name=THING), qos, replies.callback("delta")))

        def get(token):
            shadow.publish_get_shadow(iotshadow.GetShadowRequest(thing_name=THING, client_token=token), qos).result(TIMEOUT)

        def update(token, version=None, **state):
            shadow.publish_update_shadow(iotshadow.UpdateShadowRequest(
                thing_name=THING, state=iotshadow.ShadowState(**state), client_token=token, version=version),
                qos).result(TIMEOUT)
    else:
        subscribe(shadow.subscribe_to_get_named_shadow_accepted(
            iotshadow.GetNamedShadowSubscriptionRequest(thing_name=THING, shadow_name=name), qos,
            replies.callback("get/accepted")))
        subscribe(shadow.subscribe_to_get_named_shadow_rejected(
            iotshadow.GetNamedShadowSubscriptionRequest(thing_name=THING, shadow_name=name), qos,
            replies.callback("get/rejected")))
        subscribe(shadow.subscribe_to_update_named_shadow_accepted(
            iotshadow.UpdateNamedShadowSubscriptionRequest(thing_name=THING, shadow_name=name), qos,
            replies.callback("update/accepted")))
        subscribe(shadow.subscribe_to_update_named_shadow_rejected(
            iotshadow.UpdateNamedShadowSubscriptionRequest(thing_name=THING, shadow_name=name), qos,
            replies.callback("update/rejected")))
        subscribe(shadow.subscribe_to_named_shadow_delta_updated_events(
            iotshadow.NamedShadowDeltaUpdatedSubscriptionRequest(thing_name=THING, shadow_name=name), qos,
            replies.callback("delta")))

        def get(token):
            shadow.publish_get_named_shadow(iotshadow.GetNamedShadowRequest(
                thing_name=THING, shadow_name=name, client_token=token), qos).result(TIMEOUT)

        def update(token, version=None, **state):
            shadow.publish_update_named_shadow(iotshadow.UpdateNamedShadowRequest(
                thing_name=THING, shadow_name=name, state=iotshadow.ShadowState(**state), client_token=token,
                version=version), qos).result(TIMEOUT)

    get(f"{label}-get-1")
    rejected = replies.next("get/rejected")
    check(rejected.code == 404, f"{label}: get of a missing shadow: code {rejected.code}")
    check(rejected.client_token == f"{label}-get-1", f"{label}: rejected clientToken {rejected.client_token}")

    update(f"{label}-desire", desired={"maxTemp": 5, "mode": "cool"})
    accepted = replies.next("update/accepted")
    check(accepted.client_token == f"{label}-desire", f"{label}: accepted clientToken {accepted.client_token}")
    check(accepted.version == 1, f"{label}: first version {accepted.version}")
    check(accepted.state.desired == {"maxTemp": 5, "mode": "cool"}, f"{label}: accepted state {accepted.state}")
    delta = replies.next("delta")
    check(delta.state == {"maxTemp": 5, "mode": "cool"}, f"{label}: delta state {delta.state}")
    check(delta.version == 1, f"{label}: delta version {delta.version}")

    update(f"{label}-report", reported={"maxTemp": 5, "mode": "cool", "temp": 4.2})
    accepted = replies.next("update/accepted")
    check(accepted.version == 2, f"{label}: version after the report {accepted.version}")

    get(f"{label}-get-2")
    document = replies.next("get/accepted")
    check(document.client_token == f"{label}-get-2", f"{label}: get clientToken {document.client_token}")
    check(document.version == 2, f"{label}: get version {document.version}")
    check(document.state.delta is None, f"{label}: the delta is not cleared: {document.state.delta}")
    check(document.state.reported.get("temp") == 4.2, f"{label}: reported {document.state.reported}")

    update(f"{label}-stale", version=1, desired={"maxTemp": 3})
    conflict = replies.next("update/rejected")
    check(conflict.code == 409, f"{label}: stale version: code {conflict.code}")
    check(conflict.client_token == f"{label}-stale", f"{label}: conflict clientToken {conflict.client_token}")
    print(f"{label} shadow: ok")


run(None)
run("door")
connection.disconnect().result(TIMEOUT)
print("awsiotsdk shadows: ok")
