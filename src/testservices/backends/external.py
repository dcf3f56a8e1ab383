"""Run the suites against servers somebody else runs: nothing is started or stopped."""

from __future__ import annotations

import os
from collections.abc import Callable

from testservices.errors import ConfigurationError, HarnessError
from testservices.ports import is_listening
from testservices.settings import Settings
from testservices.specs.base import ServiceSpec
from testservices.state import Endpoint, ServiceRecord

REACHABLE_WITHIN_S = 3.0


class ExternalBackend:
    name = "external"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def endpoint(self, spec: ServiceSpec) -> Endpoint:
        """The user's server, once something answers at its address (a TCP connect, bounded by
        REACHABLE_WITHIN_S): a typo in a variable fails here, naming the variables, not in every test."""
        env = spec.external_env(os.environ)
        host, port = spec.main_port(env)
        if not is_listening(host, port, timeout=REACHABLE_WITHIN_S):
            raise ConfigurationError(
                f"TESTSERVICES_BACKEND=external: nothing answers at {host}:{port} for {spec.name} (TCP connect, "
                f"{REACHABLE_WITHIN_S:g} s); is the server up? Check {', '.join(spec.address_variables())}"
            )
        return Endpoint(name=spec.name, backend=self.name, env=env, host=host, port=port, reused=True)

    def start(self, spec: ServiceSpec, request: object) -> ServiceRecord:
        raise HarnessError("the external backend starts nothing; set the service's variables instead")

    def remove(self, spec: ServiceSpec, record: ServiceRecord) -> None:
        """Nothing to remove: the cluster is not ours."""

    def stop(self, spec: ServiceSpec, record: ServiceRecord, *, kill: bool) -> None:
        raise HarnessError(f"the external backend did not start {spec.name}: it cannot stop or kill it")

    def resume(
        self, spec: ServiceSpec, record: ServiceRecord, on_spawn: Callable[[ServiceRecord], None] | None = None
    ) -> ServiceRecord:
        raise HarnessError(f"the external backend did not start {spec.name}: it cannot start it again")

    def is_running(self, record: ServiceRecord) -> bool:
        return True

    def reap_orphans(self) -> list[str]:
        return []
