"""What the Device SDK shadow scripts share: the broker and thing from the environment, the reply
timeout, and failing with a message on the first failed check."""
import os
import sys

PORT = int(os.environ["MQTT_PORT"])
THING = os.environ["THING"]
TIMEOUT = 10


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
