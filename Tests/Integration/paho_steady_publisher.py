"""Publishes QoS 1 telemetry at a steady rate with paho-mqtt, riding out broker restarts, and
writes the numbers of the messages the broker acknowledged.

Environment: MQTT_PORT, MQTT_TOPIC, MQTT_COUNT, MQTT_RATE (messages per second), ACKED_FILE.
Message n (1-based) has the payload {"n": n}. Waits up to 60 s for every message to be
acknowledged (paho resends unacknowledged ones after a reconnect) and exits non-zero if some never
were.
"""
import json
import os
import time

import paho.mqtt.client as mqtt

port = int(os.environ["MQTT_PORT"])
topic = os.environ["MQTT_TOPIC"]
count = int(os.environ["MQTT_COUNT"])
rate = float(os.environ["MQTT_RATE"])
acked_file = os.environ["ACKED_FILE"]

# Filled by paho's network thread (set.add is atomic); publish() runs on this thread without a lock
# of ours, so the two never wait on each other.
acknowledged_mids = set()


def on_publish(client, userdata, mid, reason_code, properties):
    acknowledged_mids.add(mid)


client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="steady-publisher", clean_session=False,
                     protocol=mqtt.MQTTv311)
client.on_publish = on_publish
client.reconnect_delay_set(min_delay=0.05, max_delay=0.5)
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port, keepalive=5)
client.loop_start()
start = time.time()
infos = []
for n in range(1, count + 1):
    delay = start + n / rate - time.time()
    if delay > 0:
        time.sleep(delay)
    infos.append((n, client.publish(topic, json.dumps({"n": n}), qos=1)))
deadline = time.time() + 60
# A message published while the broker is down is queued and sent after the reconnect: its mid is
# acknowledged then (mids are unique here: fewer than 65,535 messages).
while time.time() < deadline and len(acknowledged_mids) < count:
    time.sleep(0.05)
done = [n for n, info in infos if info.mid in acknowledged_mids]
with open(acked_file, "w") as out:
    out.write("\n".join(str(n) for n in done))
print(f"{len(done)} of {count} acknowledged by the broker", flush=True)
# Not loop_stop(): the network thread may be between reconnect attempts, and joining it can wait.
os._exit(0 if len(done) == count else 1)
