"""Relays Jupyter messages between the interpreter server (Node, which cannot speak ZeroMQ without
a native module) and the sandbox's Python kernels, as JSON lines over this process's stdin/stdout.

One bridge serves every kernel of the sandbox. It never runs user code, so a busy kernel cannot
block it, and it only imports pyzmq so that it is up long before the first kernel is. Kernels are
reached over the ipc transport (unix sockets inside the sandbox), which survives a checkpoint and
restore of the sandbox, and a clone that gets a new IP address, where TCP connections would not.

In (one JSON object a line):
  {"op": "attach", "k": key, "conn": {connection file fields}}
  {"op": "send", "k": key, "ch": "shell"|"control", "id": msg_id, "type": msg_type, "content": {...}}
  {"op": "detach", "k": key}
Out:
  {"k": key, "ch": "iopub"|"shell"|"control", "type": msg_type, "parent": parent msg_id, "content": {...}}
"""
import datetime
import hashlib
import hmac
import json
import os
import sys
import uuid

import zmq

DELIMITER = b"<IDS|MSG>"
# Kernels bind their sockets a moment after they are spawned; retry the connection quickly
# rather than after zmq's default 100 ms, because the first execution waits for it.
RECONNECT_MS = 5


class Kernel:
    def __init__(self, context, key, conn):
        self.key = key
        self.session = uuid.uuid4().hex
        self.hmac_key = conn["key"].encode()
        self.sockets = {}

        def endpoint(port_name):
            return "ipc://%s-%d" % (conn["ip"], conn[port_name])

        for channel, kind in (("shell", zmq.DEALER), ("control", zmq.DEALER), ("iopub", zmq.SUB)):
            sock = context.socket(kind)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
            if kind == zmq.SUB:
                sock.setsockopt(zmq.SUBSCRIBE, b"")
            sock.connect(endpoint(channel + "_port"))
            self.sockets[channel] = sock

    def send(self, channel, msg_id, msg_type, content):
        header = json.dumps({
            "msg_id": msg_id,
            "session": self.session,
            "username": "sandcastle",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "msg_type": msg_type,
            "version": "5.3",
        }).encode()
        parts = [header, b"{}", b"{}", json.dumps(content).encode()]
        signature = hmac.new(self.hmac_key, digestmod=hashlib.sha256)
        for part in parts:
            signature.update(part)
        self.sockets[channel].send_multipart([DELIMITER, signature.hexdigest().encode()] + parts)

    def close(self):
        for sock in self.sockets.values():
            sock.close(0)


def relay_line(key, channel, frames):
    """The JSON line for one received message. The content is passed through as the kernel
    encoded it, except that NaN and Infinity (which Python's json writes but JSON has not) become
    null so that the server can parse it."""
    at = frames.index(DELIMITER)
    header = json.loads(frames[at + 2])
    parent = json.loads(frames[at + 3])
    content = frames[at + 5]
    if b"NaN" in content or b"Infinity" in content:
        content = json.dumps(json.loads(content, parse_constant=lambda _: None)).encode()
    return b"".join([
        b'{"k":', json.dumps(key).encode(),
        b',"ch":"', channel.encode(),
        b'","type":', json.dumps(header.get("msg_type")).encode(),
        b',"parent":', json.dumps(parent.get("msg_id")).encode(),
        b',"content":', content, b"}\n",
    ])


def main():
    context = zmq.Context()
    poller = zmq.Poller()
    kernels = {}
    owner = {}  # socket -> (kernel key, channel)
    stdin = sys.stdin.fileno()
    out = sys.stdout.buffer
    os.set_blocking(stdin, False)
    poller.register(stdin, zmq.POLLIN)
    pending = b""

    def handle(request):
        op = request["op"]
        key = request["k"]
        if op in ("attach", "detach") and key in kernels:
            kernel = kernels.pop(key)
            for sock in kernel.sockets.values():
                poller.unregister(sock)
                owner.pop(sock, None)
            kernel.close()
        if op == "attach":
            kernel = Kernel(context, key, request["conn"])
            kernels[key] = kernel
            for channel, sock in kernel.sockets.items():
                owner[sock] = (key, channel)
                poller.register(sock, zmq.POLLIN)
        elif op == "send":
            kernel = kernels.get(key)
            if kernel is not None:
                kernel.send(request["ch"], request["id"], request["type"], request["content"])

    while True:
        for target, _ in poller.poll():
            if target == stdin:
                chunk = os.read(stdin, 1 << 20)
                if not chunk:
                    return  # the server is gone: so is the reason to relay
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        handle(json.loads(line))
                continue
            key, channel = owner.get(target, (None, None))
            if key is None:
                continue
            while True:
                try:
                    frames = target.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                out.write(relay_line(key, channel, frames))
            out.flush()


if __name__ == "__main__":
    main()
