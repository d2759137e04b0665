#!/usr/bin/env python3
"""A gateway with fridges behind it, for demos of Signalbox (Python 3 standard library only).

Every --interval seconds the gateway posts one batch with a reading from each fridge to
POST /gateways/{gateway}/messages, on topics gateways/{gateway}/devices/{fridge}/telemetry with
payloads like {"temp": 4.2, "battery": 87, "seq": 12, "door": "closed"}. Temperatures drift around
each fridge's setpoint; the --warm fridges (default: every fourth) slowly climb past 8 °C, so the
example rules' "too warm" alert fires.

The batch reply carries the gateway's "message box": the desired-state changes of its fridges'
shadows since the last batch. The simulator prints them and applies them to the fridges it
simulates — "maxTemp" (the alert threshold it shows), "setpoint" (where the temperature drifts to),
anything else is kept as a setting — then reports the applied values back to each fridge's shadow
(POST /things/{fridge}/shadow, reported state), as a device does, so the delta clears.

--silent f3 makes fridge f3 stop reporting after --silent-after seconds, so a rules file with
`devices: {silent_after: …}` publishes a $signalbox/events/devices/f3/silent event.

Usage:
    signalbox gateways add gw-01 --data ./data          # prints the gateway token once
    signalbox serve --data ./data --auto-bind-devices   # binds fridges to the gateway on first report
    python3 tools/gateway-sim.py --url http://127.0.0.1:8080 --token "$GATEWAY_TOKEN" --gateway gw-01 \\
        --fridges 5 --interval 3 --silent f3

    # then, as an operator, lower one fridge's threshold and watch the gateway pick it up:
    curl -H "Authorization: Bearer $ADMIN_TOKEN" -d '{"state":{"desired":{"maxTemp":5}}}' \\
        http://127.0.0.1:8080/things/f2/shadow

Without --auto-bind-devices, bind the fridges first: signalbox gateways bind gw-01 f1 f2 f3 … --data ./data.
Stop with Ctrl-C. Messages refused with 429 or 503, or lost to a connection error, stay queued and
go out with the next batch (store and forward), oldest first.
"""

import argparse
import json
import math
import random
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

MAX_BATCH = 1000


class Fridge:
    """One simulated fridge: a temperature drifting toward its setpoint, or climbing when warm."""

    def __init__(self, name, warm, rng):
        self.name = name
        self.warm = warm
        self.rng = rng
        self.setpoint = 4.0
        self.max_temp = 8.0
        self.settings = {}
        self.temp = self.setpoint + rng.uniform(-0.5, 0.5)
        self.battery = rng.randint(70, 100)
        self.seq = 0
        self.phase = rng.uniform(0, 2 * math.pi)

    def reading(self, now):
        """The next telemetry payload."""
        self.seq += 1
        if self.warm:
            # A failing compressor: a slow climb that ends somewhere between 9 and 12 °C.
            target = 9.0 + 3.0 * (0.5 + 0.5 * math.sin(self.phase + self.seq / 40))
            self.temp += 0.15 * (target - self.temp) + self.rng.gauss(0, 0.15)
        else:
            self.temp += 0.3 * (self.setpoint - self.temp) + self.rng.gauss(0, 0.2)
            self.temp += 0.3 * math.sin(self.phase + self.seq / 10)
        if self.seq % 50 == 0 and self.battery > 5:
            self.battery -= 1
        door = "open" if self.rng.random() < 0.03 else "closed"
        return {"temp": round(self.temp, 1), "battery": self.battery, "seq": self.seq, "door": door}

    def apply(self, desired):
        """Applies a shadow's desired state; returns what it took, to report back."""
        applied = {}
        for key, value in (desired or {}).items():
            if key == "maxTemp" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.max_temp = float(value)
            elif key == "setpoint" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.setpoint = float(value)
            elif value is None:
                self.settings.pop(key, None)
            else:
                self.settings[key] = value
            applied[key] = value
        return applied


class Gateway:
    """Posts batches, reads the message box, applies and reports desired changes."""

    def __init__(self, args):
        self.base = args.url.rstrip("/")
        self.token = args.token
        self.gateway = args.gateway
        self.cursor = 0
        self.queue = []  # (topic, payload) not yet acknowledged, oldest first
        self.timeout = args.timeout

    def request(self, method, path, body=None):
        """Sends a request; returns (status, headers, parsed JSON body or None)."""
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", "Bearer " + self.token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.headers, parse_json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, parse_json(error.read())

    def post_batch(self):
        """Posts what is queued (up to MAX_BATCH); returns the reply's changes, or None on failure."""
        batch = self.queue[:MAX_BATCH]
        body = [{"topic": topic, "payload": payload} for topic, payload in batch]
        gateway = urllib.parse.quote(self.gateway, safe="")
        try:
            status, headers, reply = self.request("POST", f"/gateways/{gateway}/messages?cursor={self.cursor}", body)
        except (urllib.error.URLError, OSError) as error:
            log(f"  batch of {len(batch)} not sent ({reason(error)}); kept for the next batch")
            return None
        if status == 200 and isinstance(reply, dict):
            del self.queue[: len(batch)]
            first, last = reply.get("first_id"), reply.get("last_id")
            log(f"  {reply.get('accepted', len(batch))} readings journaled (message ids {first}–{last})")
            if isinstance(reply.get("cursor"), int):
                self.cursor = reply["cursor"]
            if reply.get("more"):
                log("  the message box has more changes; they come with the next batch")
            return reply.get("changes") or []
        message = reply.get("message") if isinstance(reply, dict) else None
        retry = headers.get("Retry-After") if headers else None
        hint = f", retry after {retry} s" if retry else ""
        log(f"  batch of {len(batch)} refused: HTTP {status}{hint}" + (f" — {message}" if message else ""))
        if status in (400, 401, 403, 404, 413):
            # Not going to get better by retrying the same messages.
            del self.queue[: len(batch)]
        return None

    def report(self, fridge, applied):
        """Reports applied desired values as the fridge's reported state; returns the HTTP status."""
        thing = urllib.parse.quote(fridge.name, safe="")
        try:
            status, _, reply = self.request("POST", f"/things/{thing}/shadow", {"state": {"reported": applied}})
        except (urllib.error.URLError, OSError) as error:
            log(f"  could not report {fridge.name}'s state ({reason(error)})")
            return None
        if status != 200:
            message = reply.get("message") if isinstance(reply, dict) else ""
            log(f"  reporting {fridge.name}'s state: HTTP {status} {message}")
        return status


def parse_json(data):
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def reason(error):
    return str(getattr(error, "reason", error))


def log(text):
    print(text, flush=True)


def names_list(text):
    return [name.strip() for name in text.split(",") if name.strip()]


def main():
    parser = argparse.ArgumentParser(
        description="Simulate a gateway with fridges posting telemetry batches to Signalbox.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Usage:", 1)[1] if "Usage:" in __doc__ else None,
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the server (default %(default)s)")
    parser.add_argument("--token", required=True, help="the gateway's token (ID.SECRET) or an admin token")
    parser.add_argument("--gateway", default="gw-01", help="the gateway's name (default %(default)s)")
    parser.add_argument("--fridges", type=int, default=5, help="fridges f1…fN (default %(default)s)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between batches (default %(default)s)")
    parser.add_argument(
        "--warm", type=names_list, default=None,
        help="comma-separated fridges that get too warm (default: every fourth, f2, f6, …)")
    parser.add_argument(
        "--silent", action="append", default=[], metavar="FRIDGE",
        help="a fridge that stops reporting after --silent-after seconds; repeatable or comma-separated")
    parser.add_argument(
        "--silent-after", type=float, default=None,
        help="seconds before the --silent fridges go quiet (default: two intervals)")
    parser.add_argument("--batches", type=int, default=0, help="stop after this many batches (default: run until Ctrl-C)")
    parser.add_argument("--seed", type=int, default=None, help="seed the drift, for repeatable demos")
    parser.add_argument("--timeout", type=float, default=10.0, help="HTTP timeout in seconds (default %(default)s)")
    args = parser.parse_args()
    if args.fridges < 1 or args.interval <= 0:
        parser.error("--fridges must be at least 1 and --interval positive")

    rng = random.Random(args.seed)
    names = [f"f{i}" for i in range(1, args.fridges + 1)]
    warm = set(args.warm) if args.warm is not None else {name for i, name in enumerate(names, 1) if i % 4 == 2}
    silent = {name for option in args.silent for name in names_list(option)}
    for name in sorted((warm | silent) - set(names)):
        parser.error(f"{name} is not one of the fridges f1…f{args.fridges}")
    silent_after = args.silent_after if args.silent_after is not None else 2 * args.interval
    fridges = {name: Fridge(name, name in warm, rng) for name in names}
    gateway = Gateway(args)

    log(
        f"gateway {args.gateway} → {gateway.base}: {len(fridges)} fridges every {args.interval:g} s"
        + (f"; too warm: {', '.join(sorted(warm, key=natural))}" if warm else "")
        + (f"; {', '.join(sorted(silent, key=natural))} go quiet after {silent_after:g} s" if silent else "")
    )
    # Each fridge reports its settings once, as a device does when it comes up; with
    # --auto-bind-devices this also binds it to the gateway, so its desired changes reach the message box.
    statuses = [gateway.report(fridge, {"maxTemp": fridge.max_temp, "setpoint": fridge.setpoint})
                for fridge in fridges.values()]
    if 403 in statuses:
        log(f"  some fridges are not bound to {args.gateway}: bind them (signalbox gateways bind {args.gateway} "
            f"{' '.join(names)} --data DIR) or serve with --auto-bind-devices, or their desired changes never arrive")
    started = time.monotonic()
    batches = 0
    announced_silent = set()
    try:
        while args.batches == 0 or batches < args.batches:
            tick = time.monotonic()
            now = time.time()
            batches += 1
            readings = []
            for fridge in fridges.values():
                if fridge.name in silent and tick - started >= silent_after:
                    if fridge.name not in announced_silent:
                        log(f"{fridge.name} stops reporting (watch for $signalbox/events/devices/{fridge.name}/silent)")
                        announced_silent.add(fridge.name)
                    continue
                payload = fridge.reading(now)
                readings.append((fridge, payload))
                topic = f"gateways/{args.gateway}/devices/{fridge.name}/telemetry"
                gateway.queue.append((topic, payload))
            summary = "  ".join(
                f"{fridge.name} {payload['temp']:.1f}°C" + (" ⚠" if payload["temp"] > fridge.max_temp else "")
                for fridge, payload in readings)
            log(f"batch {batches} [{time.strftime('%H:%M:%S')}]: {summary}")
            changes = gateway.post_batch()
            for change in changes or []:
                apply_change(change, fridges, gateway)
            time.sleep(max(0.0, args.interval - (time.monotonic() - tick)))
    except KeyboardInterrupt:
        log(f"stopped after {batches} batches; {len(gateway.queue)} readings were still queued")


def apply_change(change, fridges, gateway):
    """Prints one message-box entry and applies it to its fridge."""
    thing = change.get("thing")
    shadow = change.get("shadow")
    label = thing + (f" (shadow {shadow})" if shadow else "")
    if change.get("deleted"):
        log(f"  message box: {label}: shadow deleted")
        return
    desired = change.get("desired") or {}
    delta = change.get("delta") or {}
    log(
        f"  message box: {label} v{change.get('version')}: desired {json.dumps(desired, sort_keys=True)}"
        + (f", delta {json.dumps(delta, sort_keys=True)}" if delta else ", in sync"))
    fridge = fridges.get(thing)
    if fridge is None or shadow is not None or not delta:
        return
    applied = fridge.apply(delta)
    if applied:
        log(f"  {fridge.name} applies {json.dumps(applied, sort_keys=True)} (maxTemp now {fridge.max_temp:g}, "
            f"setpoint {fridge.setpoint:g})")
        gateway.report(fridge, applied)


def natural(name):
    """f2 before f10."""
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 0, name)


if __name__ == "__main__":
    sys.exit(main())
