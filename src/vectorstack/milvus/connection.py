"""A pymilvus connection of our own: one retry layer, a deadline on every call, and the library's errors.

Which layer retries. pymilvus already retries every RPC that failed for want of a server (its
`retry_on_rpc_failure`: gRPC UNAVAILABLE and the like, and Milvus' rate-limit answers, with back-off, and
its connection manager reconnects the channel in between). Retrying its calls again here multiplied the
two: with no deadline pymilvus tries 75 times (about 3.5 minutes against a dead server) and the library
then did that `retries` more times. So RPCs are retried by pymilvus alone, and bounded: every call carries
`timeout=config.timeout`, which pymilvus takes both as each attempt's gRPC deadline and as the limit of its
retries ("Retry timeout: 10s"). When that runs out the call fails with `ServiceUnavailableError`, and a
caller that waits out outages (the ingest worker) does so through `vectorstack.retry`.

Connecting is the one step pymilvus does not retry (a closed port fails at once with its ConnectError),
so that goes through `vectorstack.retry` with `config.retries` further attempts.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pymilvus import MilvusClient

from vectorstack import retry as retries
from vectorstack.config import MilvusConfig
from vectorstack.errors import VectorStackError
from vectorstack.milvus.errors import translate
from vectorstack.tracking import Tracker, tracked

T = TypeVar("T")


class _WithDeadline:
    """A MilvusClient whose methods that take a `timeout` get the connection's unless the caller gives
    one: without it a call has no gRPC deadline and pymilvus retries it 75 times."""

    def __init__(self, client: MilvusClient, timeout: float) -> None:
        self._client = client
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if callable(attr) and _takes_timeout(attr):
            return functools.partial(attr, timeout=self._timeout)  # a caller's own timeout= still wins
        return attr


@functools.cache
def _signature_has_timeout(function: Callable[..., Any]) -> bool:
    try:
        return "timeout" in inspect.signature(function).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        return False


def _takes_timeout(method: Callable[..., Any]) -> bool:
    return _signature_has_timeout(getattr(method, "__func__", method))


class MilvusConnection:
    """Owns one MilvusClient; every driver call goes through `_call`, so errors are always translated."""

    def __init__(self, config: MilvusConfig | None = None, *, tracker: Tracker | None = None) -> None:
        self.config = config or MilvusConfig.from_env()
        self.tracker = tracker
        cfg = self.config
        # An alias of our own: pymilvus shares one connection per URI between clients by default, and
        # closing any of them would break the others (seen with concurrent stores in one process).
        kwargs: dict[str, Any] = {
            "uri": cfg.uri,
            "token": cfg.token,
            "timeout": cfg.timeout,
            "alias": f"vectorstack-{uuid.uuid4().hex}",
        }
        if cfg.db_name:
            kwargs["db_name"] = cfg.db_name
        if cfg.server_pem_path:
            kwargs.update(server_pem_path=cfg.server_pem_path, server_name=cfg.server_name or "")

        def connect() -> MilvusClient:
            try:
                return MilvusClient(**kwargs)
            except Exception as exc:
                raise translate(exc, "connect", address=cfg.address, timeout=cfg.timeout) from exc

        client = retries.call(connect, attempts=cfg.retries + 1)
        # Typed as the client: the wrapper hands out the client's own methods (with the deadline bound).
        self._client: MilvusClient = _WithDeadline(client, cfg.timeout)

    def close(self) -> None:
        self._client.close()

    def _call(
        self,
        operation: str,
        fn: Callable[[], T],
        *,
        collection: str | None = None,
        filter_expr: str | None = None,
    ) -> T:
        """Run one driver call and translate every error; translated inside the tracked block, so metrics
        count errors by the library's kinds. Not retried here: pymilvus alone retries (within the call's
        deadline, see the module docstring), and only the gRPC failures it counts as retriable."""
        with tracked(self.tracker, "milvus", operation):
            try:
                return fn()
            except VectorStackError:
                raise
            except Exception as exc:
                raise translate(
                    exc,
                    operation,
                    address=self.config.address,
                    timeout=self.config.timeout,
                    collection=collection,
                    filter_expr=filter_expr,
                ) from exc
