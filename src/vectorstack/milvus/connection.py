"""A pymilvus connection of our own, with retries of transient failures and the library's errors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pymilvus import MilvusClient

from vectorstack.config import MilvusConfig
from vectorstack.errors import VectorStackError
from vectorstack.milvus.errors import is_transient, translate
from vectorstack.tracking import Tracker, tracked

T = TypeVar("T")


def with_retries(fn: Callable[[], T], attempts: int) -> T:
    """Call `fn`, retrying only failures to reach the server, with exponential backoff (0.2 s to 2 s)."""
    delay = 0.2
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except VectorStackError:
            raise
        except Exception as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")


class MilvusConnection:
    """Owns one MilvusClient; every driver call goes through `_call`, so errors are always translated."""

    def __init__(self, config: MilvusConfig | None = None, *, metrics: Tracker | None = None) -> None:
        self.config = config or MilvusConfig.from_env()
        self.metrics = metrics
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
        try:
            self._client: MilvusClient = with_retries(lambda: MilvusClient(**kwargs), cfg.retries + 1)
        except Exception as exc:
            raise translate(exc, "connect", address=cfg.address, timeout=cfg.timeout) from exc

    def close(self) -> None:
        self._client.close()

    def _call(
        self,
        operation: str,
        fn: Callable[[], T],
        *,
        collection: str | None = None,
        filter_expr: str | None = None,
        retry: bool = True,
    ) -> T:
        """Run one driver call; retry transient failures of idempotent calls, translate every error.

        Translated inside the tracked block, so metrics count errors by the library's kinds."""
        with tracked(self.metrics, "milvus", operation):
            try:
                return with_retries(fn, self.config.retries + 1 if retry else 1)
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
