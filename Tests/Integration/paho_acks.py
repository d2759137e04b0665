"""What the paho-mqtt publishing scripts share: waiting for the broker to acknowledge what they sent."""
import sys
import time


def wait_until_acknowledged(infos, seconds=30):
    """Waits until the broker has acknowledged every message of `infos` (paho MQTTMessageInfo) or
    `seconds` pass; exits non-zero naming the first one that was not."""
    deadline = time.time() + seconds
    for info in infos:
        info.wait_for_publish(timeout=max(0.1, deadline - time.time()))
        if not info.is_published():
            print(f"message {info.mid} was not acknowledged by the broker", file=sys.stderr)
            sys.exit(1)
