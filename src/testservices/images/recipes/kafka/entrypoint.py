#!/usr/bin/env python3
"""Run noida-db as if it were the apache/kafka image: read its KAFKA_* variables and serve its listeners.

Kafka clients reconnect to the address the broker advertises. noida advertises the address it binds, so
it binds the loopback port of the advertised external listener (`EXTERNAL://127.0.0.1:<host port>`, the
port the harness publishes) and socat forwards every other listener's container port to it. A client on
the host then dials the published port, reaches a listener, and is told the same address again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from urllib.parse import urlsplit


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """`NAME://host:port,...` as {name: (host, port)}; an empty host means every interface."""
    found = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, address = item.partition("://")
        parts = urlsplit(f"//{address}")
        found[name] = (parts.hostname or "", int(parts.port or 9092))
    return found


def main() -> int:
    own = listeners(os.environ.get("KAFKA_LISTENERS", "PLAINTEXT://:9092"))
    advertised = listeners(os.environ.get("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://127.0.0.1:9092"))
    controllers = set(filter(None, os.environ.get("KAFKA_CONTROLLER_LISTENER_NAMES", "").split(",")))
    served = {name: port for name, (_host, port) in own.items() if name not in controllers}
    loopback = [port for host, port in advertised.values() if host in ("127.0.0.1", "localhost")]
    if not loopback:
        sys.exit("testservices-kafka: KAFKA_ADVERTISED_LISTENERS needs a listener on 127.0.0.1:<port>")
    port = loopback[0]
    # When the advertised port is itself a listener's port (compose run by hand with the defaults), noida
    # serves it on every interface; its advertised 0.0.0.0:<port> then reaches the host's published port.
    host = "0.0.0.0" if port in served.values() else "127.0.0.1"  # noqa: S104 - inside its container
    data = os.environ.get("KAFKA_LOG_DIRS", "/var/lib/kafka/data").split(",")[0]
    forwarders = [
        subprocess.Popen(["socat", f"TCP-LISTEN:{listen},fork,reuseaddr", f"TCP:127.0.0.1:{port}"])
        for listen in sorted(set(served.values()) - {port})
    ]
    broker = subprocess.Popen(
        ["noida-db", "start", "--data-dir", data, "--host", host, "--only", "kafka", "--kafka-port", str(port)]
    )

    def forward(signum: int, _frame: object) -> None:
        broker.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = broker.wait()
    for forwarder in forwarders:
        forwarder.terminate()
    return code


if __name__ == "__main__":
    sys.exit(main())
