"""A local stand-in for Twilio's Messages API, for Signalbox's tests.

    python3 fake_twilio.py LOG_FILE [--fail N] [--hang]

Listens on 127.0.0.1 on a free port and prints `port N` once ready. Every
POST /2010-04-01/Accounts/{AccountSid}/Messages.json is appended to LOG_FILE as one JSON line
(path, Basic-auth user and password, form fields, outcome, arrival time "at" in seconds since the
epoch). It answers 201 with a Message resource, as Twilio does; the first N requests get 500
instead (--fail N); with --hang it never answers. A file LOG_FILE.mode containing "ok", "fail" or
"hang" switches behaviour while it runs.
"""

import base64
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path = sys.argv[1]
fail_left = int(sys.argv[sys.argv.index("--fail") + 1]) if "--fail" in sys.argv else 0
hang = "--hang" in sys.argv
lock = threading.Lock()
count = 0


def mode():
    try:
        with open(log_path + ".mode") as f:
            return f.read().strip()
    except OSError:
        return "hang" if hang else "ok"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        global fail_left, count
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        parts = self.path.split("/")
        ok_path = len(parts) == 5 and parts[1] == "2010-04-01" and parts[2] == "Accounts" and parts[4] == "Messages.json"
        user = password = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        with lock:
            current = mode()
            failing = fail_left > 0 or current == "fail"
            if fail_left > 0:
                fail_left -= 1
            count += 1
            with open(log_path, "a") as f:
                f.write(json.dumps({
                    "path": self.path, "user": user, "password": password, "form": form,
                    "content_type": self.headers.get("Content-Type"),
                    "outcome": "hang" if current == "hang" else ("fail" if failing else "ok"),
                    "at": time.time(),
                }) + "\n")
        if current == "hang":
            time.sleep(3600)
            return
        if not ok_path or user != parts[3]:
            self.reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        elif failing:
            self.reply(500, {"code": 20500, "message": "Internal Server Error", "status": 500})
        else:
            self.reply(201, {
                "sid": "SM%032d" % count, "account_sid": parts[3], "to": form.get("To"),
                "from": form.get("From"), "body": form.get("Body"), "status": "queued",
            })

    def reply(self, status, document):
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print("port %d" % server.server_address[1], flush=True)
server.serve_forever()
