"""Harness errors: each says what went wrong and what to do next."""

from __future__ import annotations


class HarnessError(Exception):
    """Base class for everything the harness raises on purpose."""


class UnknownServiceError(HarnessError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown service {name!r}; known services: {', '.join(sorted(known))}")
        self.name = name


class ConfigurationError(HarnessError):
    """A setting or environment variable has a value the harness cannot use."""


class BinaryNotFoundError(HarnessError):
    """A server program the local backend needs is not installed."""


class ServiceStartError(HarnessError):
    """A service did not become ready; carries the tail of its log so the cause is visible at once."""

    def __init__(self, name: str, reason: str, log_tail: str = "", log_path: str | None = None) -> None:
        message = f"{name} did not start: {reason}"
        if log_path:
            message += f"\nfull log: {log_path}"
        if log_tail:
            message += f"\n--- last lines of the {name} log ---\n{log_tail.rstrip()}\n--- end of log ---"
        super().__init__(message)
        self.name = name
        self.reason = reason
        self.log_tail = log_tail


class BackendUnavailableError(HarnessError):
    """The chosen backend cannot run on this machine (e.g. no Docker engine)."""
