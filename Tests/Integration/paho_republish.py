"""Publishes telemetry with paho-mqtt and watches, on the same connection, the messages Signalbox
republishes through the broker.

Environment: MQTT_PORT (the broker on 127.0.0.1, or on localhost with MQTT_CAFILE), MQTT_VERSION
("5" or "3.1.1"), MQTT_CAFILE (optional: connect with TLS, trusting this CA), MQTT_TOPIC (where to
publish), MQTT_WATCH (the topic filter of the republished messages), MQTT_COUNT, MQTT_EXPECT (how
many republished messages to wait for). Message n (1-based) has the payload {"n": n, "temp": t}
with t = 10 for odd n and 2 for even n. Prints the sorted n of the republished messages received,
as JSON, once MQTT_EXPECT have arrived (or 30 s passed); exits non-zero on any failure.
"""
import json
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho_acks import wait_until_acknowledged

port = int(os.environ["MQTT_PORT"])
version = mqtt.MQTTv5 if os.environ.get("MQTT_VERSION", "5") == "5" else mqtt.MQTTv311
cafile = os.environ.get("MQTT_CAFILE")
topic = os.environ["MQTT_TOPIC"]
watch = os.environ["MQTT_WATCH"]
count = int(os.environ["MQTT_COUNT"])
expect = int(os.environ["MQTT_EXPECT"])

received = []
lock = threading.Lock()
subscribed = threading.Event()


def on_message(client, userdata, message):
    with lock:
        received.append(json.loads(message.payload)["n"])


def on_subscribe(client, userdata, mid, reason_codes, properties):
    subscribed.set()


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"paho-watch-{os.getpid()}", protocol=version)
client.on_message = on_message
client.on_subscribe = on_subscribe
if cafile:
    client.tls_set(ca_certs=cafile)
client.connect("localhost" if cafile else "127.0.0.1", port, keepalive=30)
client.loop_start()
client.subscribe(watch, qos=1)
if not subscribed.wait(10):
    print("the broker did not acknowledge the subscription", file=sys.stderr)
    sys.exit(1)
infos = [
    client.publish(topic, json.dumps({"n": n, "temp": 10 if n % 2 else 2}), qos=1)
    for n in range(1, count + 1)
]
wait_until_acknowledged(infos)
deadline = time.time() + 30
while time.time() < deadline:
    with lock:
        if len(received) >= expect:
            break
    time.sleep(0.05)
time.sleep(0.5)  # a duplicate would arrive right behind
client.disconnect()
client.loop_stop()
with lock:
    print(json.dumps(sorted(received)))
