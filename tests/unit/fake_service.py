"""A real but tiny service for testing the harness itself: Python's http.server on a free port."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from testservices.readiness import NotReady
from testservices.specs.base import LaunchContext, LaunchPlan, ServiceSpec, http_get


class HttpSpec(ServiceSpec):
    name = "fakehttp"
    description = "python -m http.server, for the harness's own tests"
    compose_file = "fakehttp.yml"
    compose_service = "web"
    container_ports = {"main": 8000}  # noqa: RUF012
    exported = ("FAKEHTTP_HOST", "FAKEHTTP_PORT", "FAKEHTTP_TOKEN")
    required_external = (("FAKEHTTP_HOST",),)
    stop_grace = 3.0

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def choose_run_values(self) -> dict[str, str]:
        return {"token": self.token(4)}

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        (ctx.data_dir / "index.html").write_text("hello")
        if self.fail:
            return LaunchPlan([sys.executable, "-c", "import sys; print('boom: bad config'); sys.exit(3)"])
        return LaunchPlan([sys.executable, "-u", "-m", "http.server", str(ctx.ports["main"]), "--bind", ctx.host])

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        return {"FAKEHTTP_HOST": host, "FAKEHTTP_PORT": str(ports["main"]), "FAKEHTTP_TOKEN": run_values["token"]}

    def check_ready(self, env: Mapping[str, str]) -> None:
        url = f"http://{env['FAKEHTTP_HOST']}:{env['FAKEHTTP_PORT']}/index.html"
        if http_get(url).content != b"hello":
            raise NotReady("unexpected body")
