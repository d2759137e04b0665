"""Publishes telemetry to an MQTT broker with paho-mqtt, QoS 1, and waits until the broker has
acknowledged every message.

Environment: MQTT_PORT (the broker on 127.0.0.1), MQTT_VERSION ("5" or "3.1.1"), MQTT_TOPIC,
MQTT_COUNT. Message n (1-based) has the payload {"n": n, "client": "paho"}. Exits non-zero on any
failure.
"""
import json
import os

import paho.mqtt.client as mqtt
from paho_acks import wait_until_acknowledged

port = int(os.environ["MQTT_PORT"])
version = mqtt.MQTTv5 if os.environ.get("MQTT_VERSION", "5") == "5" else mqtt.MQTTv311
topic = os.environ["MQTT_TOPIC"]
count = int(os.environ.get("MQTT_COUNT", "100"))

client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"paho-{os.getpid()}", protocol=version)
client.max_inflight_messages_set(100)
client.connect("127.0.0.1", port, keepalive=30)
client.loop_start()
infos = [
    client.publish(topic, json.dumps({"n": n, "client": "paho"}), qos=1)
    for n in range(1, count + 1)
]
wait_until_acknowledged(infos)
client.disconnect()
client.loop_stop()
print(f"published {count} messages")
