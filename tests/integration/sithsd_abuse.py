#!/usr/bin/python3
"""sithsd_abuse.py SOCKET CERT: hostile and careless clients of sithsd's
socket, each judged by what sithsd does with it, then a check that it still
answers. TAP lines on stdout ("ok N - ..."), numbered from --from.

Bounded in count and time: every socket has a timeout, and the whole run
takes well under a minute.
"""
import base64
import json
import socket
import struct
import sys
import threading
import time

SOCK = sys.argv[1]
CERT_DER = open(sys.argv[2], "rb").read()
n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
failed = 0


def ok(cond, desc):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, desc), flush=True)
    if not cond:
        failed += 1


def conn(timeout=8.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    return s


def frame(obj):
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


def recv_answer(s):
    """The answer object, or None when sithsd closed without one."""
    head = b""
    try:
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                return None
            head += chunk
        (length,) = struct.unpack(">I", head)
        body = b""
        while len(body) < length:
            chunk = s.recv(length - len(body))
            if not chunk:
                return None
            body += chunk
        return json.loads(body)
    except (socket.timeout, ConnectionResetError):
        return None


def ask(obj):
    s = conn()
    s.sendall(frame(obj))
    a = recv_answer(s)
    s.close()
    return a


def closed_without_answer(data, desc):
    s = conn()
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR) if desc.endswith("(then closed)") else None
    except BrokenPipeError:
        pass
    ok(recv_answer(s) is None, desc)
    s.close()


def still_answers(desc):
    a = ask({"v": 1, "op": "ping"})
    ok(a is not None and a.get("code") == 0, desc)


cert = base64.b64encode(CERT_DER).decode()

closed_without_answer(frame(b"this is not JSON"), "malformed JSON: closed, no answer")
closed_without_answer(frame(b"[1, 2, 3]"), "JSON that is not an object: closed")
closed_without_answer(frame(b'{"v": 1, "op": "ping", "op": "verify"}'),
                      "duplicate keys: closed")
closed_without_answer(frame(b"[" * 5000 + b"]" * 5000), "nesting 5000 deep: closed")
closed_without_answer(struct.pack(">I", 0x7FFFFFFF) + b"{}",
                      "a length of 2 GiB: refused before reading")
closed_without_answer(struct.pack(">I", 256 * 1024 + 1) + b"{", "one byte over the cap: refused")
closed_without_answer(struct.pack(">I", 100) + b'{"v": 1, "o',
                      "truncated: announced 100 bytes, sent 11 (then closed)")
closed_without_answer(struct.pack(">I", 0), "a zero length: refused")
still_answers("sithsd still answers after the malformed requests")

for req, want, desc in [
        ({"v": 2, "op": "ping"}, "SITHS_ERR_SERVICE_PROTOCOL", "another protocol version"),
        ({"v": 1, "op": "shutdown"}, "SITHS_ERR_SERVICE_PROTOCOL", "an unknown operation"),
        ({"v": 1}, "SITHS_ERR_SERVICE_PROTOCOL", "no operation"),
        ({"v": 1, "op": "verify", "cert": 12}, "SITHS_ERR_SERVICE_PROTOCOL",
         "a certificate that is a number"),
        ({"v": 1, "op": "verify", "cert": "!!!!"}, "SITHS_ERR_SERVICE_PROTOCOL",
         "a certificate that is not base64"),
        ({"v": 1, "op": "verify", "cert": base64.b64encode(b"x" * 300).decode()},
         "SITHS_ERR_CERT_PARSE", "base64 of something that is not a certificate"),
        ({"v": 1, "op": "verify", "cert": cert, "profile": "root"},
         "SITHS_ERR_SERVICE_PROTOCOL", "an unknown profile"),
        ({"v": 1, "op": "verify", "cert": cert, "untrusted": [cert] * 9},
         "SITHS_ERR_SERVICE_PROTOCOL", "nine untrusted certificates"),
        ({"v": 1, "op": "verify", "cert": cert, "at": -5}, "SITHS_ERR_SERVICE_PROTOCOL",
         "a negative time"),
        ({"v": 1, "op": "resolve", "hsa_id": "x" * 65}, "SITHS_ERR_SERVICE_PROTOCOL",
         "an HSA-id of 65 characters"),
        ({"v": 1, "op": "resolve", "hsa_id": "*)(objectClass=*"}, "SITHS_ERR_HSA_ID_INVALID",
         "an HSA-id with filter characters"),
]:
    a = ask(req)
    ok(a is not None and a.get("status") == want,
       "%s: %s (%s)" % (desc, want, a.get("status") if a else "no answer"))

# a slow client (one byte now and then) never blocks the others, and is closed
slow = conn(timeout=20.0)
slow.sendall(struct.pack(">I", 40))
t0 = time.monotonic()
answered = 0
for _ in range(5):
    t = time.monotonic()
    a = ask({"v": 1, "op": "ping"})
    answered += a is not None and a.get("code") == 0 and time.monotonic() - t < 2
    try:
        slow.sendall(b" ")
    except BrokenPipeError:
        break
    time.sleep(0.3)
ok(answered == 5, "a slow client in the middle of a request: others are answered at once")
ok(recv_answer(slow) is None and time.monotonic() - t0 < 12,
   "  and the slow one is closed once its time is up")
slow.close()

# many clients at once: within the per-user limit all are served; past it refused
results = []
lock = threading.Lock()
hold = threading.Event()


def client(i):
    try:
        s = conn(timeout=15.0)
        hold.wait(10)
        s.sendall(frame({"v": 1, "op": "verify", "cert": cert}))
        a = recv_answer(s)
        s.close()
    except OSError:
        a = None
    with lock:
        results.append(a.get("status") if a else None)


threads = [threading.Thread(target=client, args=(i,)) for i in range(30)]
for t in threads:
    t.start()
time.sleep(0.5)
hold.set()
for t in threads:
    t.join(30)
ok(results.count("SITHS_OK") == 30, "30 clients at once are all answered (%d)" %
   results.count("SITHS_OK"))

held = []
for _ in range(40):
    try:
        held.append(conn(timeout=5.0))
    except OSError:
        break
time.sleep(0.3)
a = ask({"v": 1, "op": "ping"})
ok(a is not None and a.get("status") == "SITHS_ERR_SERVICE_UNAVAILABLE",
   "past max_clients_per_user a connection is refused with an answer saying so")
for s in held:
    s.close()
time.sleep(0.3)

sent = 0
for i in range(1000):
    a = ask({"v": 1, "op": "ping"})
    sent += a is not None and a.get("code") == 0
ok(sent == 1000, "a thousand requests one after another are answered (%d)" % sent)
a = ask({"v": 1, "op": "verify", "cert": cert})
ok(a is not None and a.get("status") == "SITHS_OK", "and a certificate is still validated")
print("# %d cases, %d failed" % (n, failed))
sys.exit(1 if failed else 0)
