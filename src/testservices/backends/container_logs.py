"""Stream a compose service's container log into the run's log file, across restarts, until it is removed.

Run as `python -m testservices.backends.container_logs --project P --service S` with stdout appended to
the log file (the docker backend starts it before `up`, detached, and records its pid). It waits for the
container to appear, follows its log, and when the container stops (a fault test's kill) waits for it to
start again and follows on from the last line written: a failing test's log tail and `testservices logs`
read the same file as under the local backend. It exits once the container is gone.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any, TextIO

from testservices.backends.compose import COMPOSE_SERVICE_LABEL, PROJECT_LABEL

POLL = 0.25


def parse_timestamp(stamp: str) -> tuple[float, int]:
    """Docker's RFC 3339 stamp (`2026-12-01T21:11:03.81712Z`, nanoseconds, trailing zeros trimmed) as
    (whole seconds since the epoch, nanoseconds), which order correctly where the strings do not."""
    whole, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return seconds, int((fraction or "0")[:9].ljust(9, "0"))


def lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Whole lines from a stream of chunks that may split or join them."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line.decode("utf-8", errors="replace")
    if pending:
        yield pending.decode("utf-8", errors="replace")


class Follower:
    def __init__(
        self, client: Any, project: str, service: str, out: TextIO, appear_within: float, gone: type[Exception]
    ) -> None:
        self.client = client
        self.gone = gone  # what the SDK raises for a container removed while we read it
        self.filters = {"label": [f"{PROJECT_LABEL}={project}", f"{COMPOSE_SERVICE_LABEL}={service}"]}
        self.out = out
        self.appear_within = appear_within
        self.last: tuple[float, int] | None = None

    def container(self) -> Any | None:
        found = self.client.containers.list(all=True, filters=self.filters)
        return found[0] if found else None

    def run(self) -> int:
        deadline = time.monotonic() + self.appear_within
        seen = False
        while True:
            container = self.container()
            if container is None:
                if seen or time.monotonic() > deadline:
                    return 0
                time.sleep(POLL)
                continue
            seen = True
            try:
                self.copy(container)
            except self.gone:
                continue  # removed while we read: the next look finds nothing and ends
            time.sleep(POLL)

    def copy(self, container: Any) -> None:
        """Everything after the last line written, until the container stops."""
        since = datetime.fromtimestamp(self.last[0], tz=timezone.utc) if self.last else None
        stream = container.logs(stream=True, follow=True, timestamps=True, since=since)
        for line in lines(stream):
            stamp, _, text = line.partition(" ")
            try:
                when = parse_timestamp(stamp)
            except ValueError:
                when, text = self.last or (0.0, 0), line
            if self.last is not None and when <= self.last:
                continue  # `since` has whole-second precision: skip what was written already
            self.last = when
            self.out.write(f"{stamp} {text}\n")
            self.out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--appear-within", type=float, default=600.0, help="seconds to wait for the container")
    args = parser.parse_args(argv)
    import docker

    try:
        client = docker.from_env()
        return Follower(
            client, args.project, args.service, sys.stdout, args.appear_within, docker.errors.NotFound
        ).run()
    except docker.errors.DockerException as exc:
        # The engine went away or the container vanished mid-read: nothing more will come.
        print(f"--- testservices: stopped following the container log: {exc}", flush=True)
        return 0
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
