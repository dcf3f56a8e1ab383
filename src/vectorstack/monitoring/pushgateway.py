"""Pushes to a Prometheus Pushgateway over `requests`, with the library's errors.

prometheus_client builds the push (the URL with its escaped grouping key, the exposition text); this module
only carries it: one `requests.Session` per client, a timeout on every call, and urllib3's `Retry` for what
is transient and safe to repeat. Its own urllib transport reported every HTTP refusal (a 400 for
inconsistent metrics, a 404 from something that is not a Pushgateway) as "unreachable".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType

import requests
from prometheus_client import delete_from_gateway, push_to_gateway
from prometheus_client.registry import Collector
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from vectorstack.errors import (
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
    ServerError,
    ServiceUnavailableError,
)

_HINT = "Is the Pushgateway running? Check PUSHGATEWAY_URL"
# A gateway that is restarting or behind a proxy answers these for a moment; anything else is an answer.
_TRANSIENT_STATUSES = frozenset({502, 503, 504})
# PUT (replace a group) and DELETE may be repeated without changing the outcome; POST (add) may not.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})


def http_session(retries: int) -> requests.Session:
    """A Session that retries refused connections, and 502/503/504 answers to idempotent methods, `retries`
    times with a short backoff; never a read timeout (the server may have acted) nor another status."""
    retry = Retry(
        total=None,
        connect=retries,
        read=0,
        status=retries,
        other=0,
        redirect=False,
        status_forcelist=_TRANSIENT_STATUSES,
        allowed_methods=_IDEMPOTENT_METHODS,
        backoff_factor=0.1,
        raise_on_status=False,  # the last answer comes back, and is classified by its status below
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def translate(service: str, url: str, timeout: float, exc: requests.RequestException) -> Exception:
    """The library's error for a `requests` failure, chosen by its type and the HTTP status."""
    if isinstance(
        exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema | requests.exceptions.InvalidSchema
    ):
        return InvalidInputError(f"{service} URL {url!r} is not a valid http(s) URL: {exc}")
    if isinstance(exc, requests.ConnectionError | requests.Timeout):
        return ServiceUnavailableError(service, url, timeout, exc, _HINT)
    response = exc.response if isinstance(exc, requests.HTTPError) else None
    if response is None:
        return ServerError(f"{service} at {url} failed: {exc}")
    status = response.status_code
    said = response.text.strip()[:300] or response.reason
    if status in _TRANSIENT_STATUSES:
        return ServiceUnavailableError(service, url, timeout, f"HTTP {status} {said}", _HINT)
    if status == 401:
        return AuthenticationError(f"{service} at {url} refused the credentials (HTTP 401): {said}")
    if status == 403:
        return PermissionDeniedError(f"{service} at {url} does not allow this (HTTP 403): {said}")
    if 400 <= status < 500:
        return InvalidInputError(
            f"{service} at {url} refused the request (HTTP {status}): {said}; nothing was stored. Check that the "
            "URL is the Pushgateway's and that the metrics match earlier pushes of the same names"
        )
    return ServerError(f"{service} at {url} failed (HTTP {status}): {said}; try again later")


class Pushgateway:
    """A Pushgateway client: `push` replaces a job's group, `delete` removes it. Close it (or use `with`)."""

    def __init__(self, url: str, *, timeout: float = 5.0, retries: int = 2) -> None:
        if not isinstance(url, str) or not url:
            raise InvalidInputError("a Pushgateway URL is required, e.g. PUSHGATEWAY_URL=http://127.0.0.1:9091")
        self.url = url
        self.timeout = timeout
        self._session = http_session(retries)

    def push(self, registry: Collector, job: str, *, grouping_key: Mapping[str, str] | None = None) -> None:
        """Replace the metrics of `job` (and `grouping_key`) with `registry`'s (an HTTP PUT)."""
        push_to_gateway(
            self.url, job=job, registry=registry, grouping_key=dict(grouping_key or {}), handler=self._handler
        )

    def delete(self, job: str, *, grouping_key: Mapping[str, str] | None = None) -> None:
        """Remove the metrics of `job` (and `grouping_key`); deleting a group that is not there is no error."""
        delete_from_gateway(self.url, job=job, grouping_key=dict(grouping_key or {}), handler=self._handler)

    def _handler(
        self, url: str, method: str, timeout: float | None, headers: Sequence[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        """prometheus_client's transport hook: it hands over the request, this sends it (with this client's
        timeout, not the one prometheus_client passes)."""

        def send() -> None:
            try:
                answer = self._session.request(method, url, data=data, headers=dict(headers), timeout=self.timeout)
                answer.raise_for_status()
            except requests.RequestException as exc:
                raise translate("pushgateway", self.url, self.timeout, exc) from exc

        return send

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> Pushgateway:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
