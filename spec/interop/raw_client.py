#!/usr/bin/env python3
"""A vecbus client in Python with no NATS library: the NATS text protocol over
a plain socket plus `msgpack` (Debian: python3-msgpack). It shows that the API
is NATS request-reply with plain MessagePack bodies and nothing JS-specific.

Usage: raw_client.py nats://127.0.0.1:4222   (runs a short demo, prints JSON)
"""
import json
import socket
import struct
import sys
from urllib.parse import urlparse

import msgpack


class Nats:
    def __init__(self, url):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port or 4222))
        self.buf = b""
        self.inbox = "_INBOX.pyclient"
        self.sid = 0
        self._line()  # INFO {...}
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"lang":"python-raw","version":"0"}\r\n')
        self.sock.sendall(f"SUB {self.inbox}.* 1\r\n".encode())

    def _fill(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("NATS closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def request(self, subject, body):
        self.sid += 1
        reply_to = f"{self.inbox}.{self.sid}"
        payload = msgpack.packb(body, use_bin_type=True)
        self.sock.sendall(f"PUB {subject} {reply_to} {len(payload)}\r\n".encode() + payload + b"\r\n")
        while True:
            line = self._line()
            if line.startswith("PING"):
                self.sock.sendall(b"PONG\r\n")
            elif line.startswith("MSG"):
                parts = line.split()
                data = self._bytes(int(parts[-1]))
                if parts[1] == reply_to:
                    return msgpack.unpackb(data, raw=False)
            elif line.startswith("-ERR"):
                raise RuntimeError(line)


def call(nc, method, **args):
    reply = nc.request(f"vecbus.api.v1.{method}", args)
    if not reply["ok"]:
        raise RuntimeError(f'{reply["error"]["code"]}: {reply["error"]["message"]}')
    return reply["data"]


def main():
    nc = Nats(sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222")
    if call(nc, "has_collection", collection_name="py_demo"):
        call(nc, "drop_collection", collection_name="py_demo")
    call(nc, "create_collection", collection_name="py_demo", dimension=3, metric_type="L2")
    rows = [{"id": i, "vector": [float(i), 0.0, 0.0], "tag": "even" if i % 2 == 0 else "odd"} for i in range(10)]
    # One row's vector as bin of little-endian float32, the compact form.
    rows[9]["vector"] = struct.pack("<3f", 9.0, 0.0, 0.0)
    out = {"insert": call(nc, "insert", collection_name="py_demo", data=rows)}
    out["search"] = call(nc, "search", collection_name="py_demo", data=[[8.9, 0, 0]], limit=2, output_fields=["tag"])
    out["query"] = call(nc, "query", collection_name="py_demo", filter='tag == "odd" and id > 5', output_fields=["tag"])
    out["get"] = call(nc, "get", collection_name="py_demo", ids=[3])
    out["delete"] = call(nc, "delete", collection_name="py_demo", ids=[1, 2])
    # Rows 10..13 as columns: the vectors as one bin of 4 x 3 little-endian float32.
    block = struct.pack("<12f", *[x for i in range(10, 14) for x in (float(i), 0.0, 0.0)])
    out["columns"] = call(nc, "insert", collection_name="py_demo", columns={"id": [10, 11, 12, 13], "vector": block, "tag": ["even", "odd", "even", "odd"]})
    out["column_rows"] = call(nc, "query", collection_name="py_demo", filter="id >= 10", output_fields=["vector", "tag"], consistency_level="Strong")
    out["stats"] = call(nc, "get_collection_stats", collection_name="py_demo")
    try:
        call(nc, "insert", collection_name="py_demo", data=[{"id": 1, "vector": [1.0]}])
    except RuntimeError as e:
        out["error"] = str(e)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
