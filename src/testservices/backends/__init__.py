"""How services run: `local` child processes, `docker` compose projects, or an `external` cluster."""

from __future__ import annotations

from testservices.backends.base import Backend, StartRequest
from testservices.settings import Settings


def get_backend(settings: Settings) -> Backend:
    if settings.backend == "docker":
        from testservices.backends.docker import DockerBackend

        return DockerBackend(settings)
    if settings.backend == "external":
        from testservices.backends.external import ExternalBackend

        return ExternalBackend(settings)
    from testservices.backends.local import LocalBackend

    return LocalBackend(settings)


__all__ = ["Backend", "StartRequest", "get_backend"]
