#!/usr/bin/env python3
"""Stand-in for apache/kafka's kafka-broker-api-versions.sh, so the compose healthcheck is the same:
send an ApiVersions request to --bootstrap-server and exit 0 when the broker answers without error."""

from __future__ import annotations

import argparse
import socket
import struct
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap-server", default="localhost:9092")
    args, _unknown = parser.parse_known_args()
    host, _, port = args.bootstrap_server.split(",")[0].rpartition(":")
    client = b"healthcheck"
    # ApiVersions (key 18) v0: header = api key, version, correlation id, client id; no body.
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    with socket.create_connection((host or "localhost", int(port)), timeout=5) as sock:
        sock.sendall(struct.pack(">i", len(body)) + body)
        header = sock.recv(10)
    if len(header) < 10:
        print("no answer to ApiVersions", file=sys.stderr)
        return 1
    _size, correlation, error = struct.unpack(">iih", header)
    if correlation != 1 or error != 0:
        print(f"ApiVersions failed: correlation {correlation}, error {error}", file=sys.stderr)
        return 1
    print(f"{host}:{port} answers ApiVersions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
