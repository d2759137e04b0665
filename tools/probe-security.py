#!/usr/bin/env python3
"""Probes a Signalbox HTTP listener the way a hostile client would, and prints what it saw.

Loopback only, bounded in connections and time. It reproduces:
  1. slow request bodies (with a bad token, and with a valid gateway token) while another gateway
     publishes: its publishes must keep getting 200, and the slow connections must be closed;
  2. idle connections and half-sent headers: they must be closed; past the connection limit
     /healthz must still answer;
  3. a gateway publishing for a device bound to another gateway: it must get 403.

Usage: probe-security.py --url http://127.0.0.1:PORT --token-a GW_A_TOKEN --token-b GW_B_TOKEN
                         [--slow 64] [--idle 200] [--wait 15]
gwA must have device a1 bound, gwB device b1 (tools/probe-security.sh sets that up).
"""
import argparse
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def open_connection(host, port):
    connection = socket.create_connection((host, port), timeout=5)
    connection.setblocking(True)
    return connection


def publish(url, token, gateway, device, body=b'{"temp": 3.5}'):
    topic = urllib.parse.quote(f"gateways/{gateway}/devices/{device}/telemetry", safe="")
    request = urllib.request.Request(
        f"{url}/topics/{topic}", data=body, method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def first_line(connection, timeout):
    connection.settimeout(timeout)
    try:
        data = connection.recv(4096)
    except socket.timeout:
        return "(no reply)"
    except OSError as error:
        return f"(error: {error})"
    if not data:
        return "(closed)"
    return data.split(b"\r\n", 1)[0].decode(errors="replace")


def closed_within(connections, seconds):
    """How many of `connections` the server closes within `seconds`."""
    deadline = time.monotonic() + seconds
    open_ones = list(connections)
    closed = 0
    while open_ones and time.monotonic() < deadline:
        still = []
        for connection in open_ones:
            connection.settimeout(0.05)
            try:
                data = connection.recv(4096)
                if not data:
                    closed += 1
                    continue
                still.append(connection)
            except socket.timeout:
                still.append(connection)
            except OSError:
                closed += 1
        open_ones = still
    return closed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--token-a", required=True)
    parser.add_argument("--token-b", required=True)
    parser.add_argument("--slow", type=int, default=64)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--wait", type=float, default=15)
    args = parser.parse_args()
    parsed = urllib.parse.urlparse(args.url)
    host, port = parsed.hostname, parsed.port
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("probe-security: loopback addresses only")
    args.slow = min(args.slow, 512)
    args.idle = min(args.idle, 2000)
    failures = 0

    print(f"== 1. {args.slow} slow bodies (half with a bad token, half with gwA's token), gwB publishing")
    slow = []
    for index in range(args.slow):
        token = "SBXNOTATOKEN.bad" if index % 2 == 0 else args.token_a
        connection = open_connection(host, port)
        connection.sendall(
            b"POST /topics/gateways%2FgwA%2Fdevices%2Fa1%2Ftelemetry HTTP/1.1\r\nHost: probe\r\n"
            + f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n".encode() + b'{"temp":')
        slow.append(connection)
    time.sleep(0.3)
    statuses = [publish(args.url, args.token_b, "gwB", "b1")[0] for _ in range(20)]
    ok = statuses.count(200)
    print(f"   gwB publishes while the slow bodies are held: {ok}/20 got 200 (statuses: {sorted(set(statuses))})")
    failures += ok != 20
    replies = {}
    for connection in slow:
        line = first_line(connection, 0.2)
        replies[line] = replies.get(line, 0) + 1
    for line, count in sorted(replies.items()):
        print(f"   slow requests answered at once: {count} x {line}")
    started = time.monotonic()
    closed = closed_within(slow, args.wait)
    print(f"   slow connections closed by the server: {closed}/{len(slow)} within {time.monotonic() - started:.1f} s")
    failures += closed != len(slow)
    for connection in slow:
        connection.close()

    print(f"== 2. {args.idle} idle connections and {args.idle // 10} with half-sent headers")
    idle = [open_connection(host, port) for _ in range(args.idle)]
    half = []
    for _ in range(args.idle // 10):
        connection = open_connection(host, port)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: probe\r\n")
        half.append(connection)
    status, _ = (0, "")
    try:
        with urllib.request.urlopen(f"{args.url}/healthz", timeout=5) as reply:
            status = reply.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        print(f"   /healthz failed: {error}")
    print(f"   /healthz while they are open: {status}")
    failures += status != 200
    started = time.monotonic()
    closed = closed_within(idle + half, args.wait)
    print(f"   closed by the server: {closed}/{len(idle) + len(half)} within {time.monotonic() - started:.1f} s")
    failures += closed != len(idle) + len(half)
    for connection in idle + half:
        connection.close()

    print("== 3. gwA publishing for b1, which is bound to gwB")
    status, body = publish(args.url, args.token_a, "gwA", "b1", b'{"temp": 99.9}')
    print(f"   {status} {body}")
    failures += status != 403
    status, _ = publish(args.url, args.token_a, "gwA", "a1")
    print(f"   gwA publishing for its own a1: {status}")
    failures += status != 200

    print("probe-security: all held" if failures == 0 else f"probe-security: {failures} check(s) failed")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
