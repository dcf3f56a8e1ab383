"""SMTP capture with an HTTP API: MailDev (npm), installed on first use into the harness's cache."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from testservices.errors import BinaryNotFoundError
from testservices.settings import Settings
from testservices.specs.base import LaunchContext, LaunchPlan, ServiceSpec, http_ready

MAILDEV = "maildev@3"
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


def find_maildev(settings: Settings) -> str:
    """A maildev on PATH, else the one in the cache, else install it there with npm (once, ~15 s)."""
    on_path = shutil.which("maildev")
    if on_path:
        return on_path
    prefix = settings.home / "cache" / "npm"
    cached = prefix / "node_modules" / ".bin" / "maildev"
    if cached.is_file():
        return str(cached)
    npm = shutil.which("npm")
    if not npm:
        raise BinaryNotFoundError(
            "the SMTP capture needs MailDev: install Node.js and npm, then `npm install -g maildev`"
        )
    print(f"testservices: installing {MAILDEV} into {prefix} (once) ...", flush=True)
    env = dict(os.environ)
    # npm reads its CA from its config, but packages' install scripts run plain Node, which trusts only its
    # own bundle: behind a TLS-inspecting proxy they hang until told about the system store.
    if "NODE_EXTRA_CA_CERTS" not in env and Path(SYSTEM_CA).is_file():
        env["NODE_EXTRA_CA_CERTS"] = SYSTEM_CA
    argv = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-audit",
        "--no-fund",
        "--silent",
        "--fetch-retries=2",
        MAILDEV,
    ]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env)
    except subprocess.TimeoutExpired as exc:
        raise BinaryNotFoundError(f"`npm install {MAILDEV}` did not finish in 300 s; install it by hand") from exc
    if done.returncode != 0 or not cached.is_file():
        raise BinaryNotFoundError(f"`npm install {MAILDEV}` failed: {done.stderr.strip()[-500:]}")
    return str(cached)


class SmtpSpec(ServiceSpec):
    name = "smtp"
    description = "SMTP capture server with an HTTP API (MailDev)"
    port_roles = ("main", "web")
    compose_file = "monitoring.yml"
    compose_service = "smtp"
    container_ports = {"main": 1025, "web": 1080}  # noqa: RUF012
    exported = ("SMTP_HOST", "SMTP_PORT", "MAIL_API_URL")
    required_external = (("SMTP_HOST",),)

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        mails = ctx.data_dir / "mail"
        mails.mkdir()
        return LaunchPlan(
            [
                find_maildev(ctx.settings),
                "-s",
                str(ctx.ports["main"]),
                "-w",
                str(ctx.ports["web"]),
                "--ip",
                ctx.host,
                "--web-ip",
                ctx.host,
                "--mail-directory",
                str(mails),
            ]
        )

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        # MailDev 3 (npm, local) serves its API under /api; the 2.x image of the docker backend at the root.
        api = "/api/email" if backend == "local" else "/email"
        return {
            "SMTP_HOST": host,
            "SMTP_PORT": str(ports["main"]),
            "MAIL_API_URL": f"http://{host}:{ports['web']}{api}",
        }

    def check_ready(self, env: Mapping[str, str]) -> None:
        http_ready(env["MAIL_API_URL"].rsplit("/", 1)[0] + "/healthz")


__all__ = ["SmtpSpec", "find_maildev"]
