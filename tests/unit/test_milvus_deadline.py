"""The connection's deadline on every Milvus call: without one pymilvus retries a call 75 times (about
3.5 minutes against a dead server), so every method that takes `timeout` gets the connection's."""

from __future__ import annotations

from typing import Any

from vectorstack.milvus.connection import _WithDeadline


class Client:
    """Methods shaped like MilvusClient's: some take `timeout`, some do not."""

    uri = "http://127.0.0.1:19530"

    def search(self, collection: str, *, timeout: float | None = None, **kwargs: Any) -> float | None:
        return timeout

    def list_collections(self, timeout: float | None = None) -> float | None:
        return timeout

    def close(self) -> str:
        return "closed"


def test_every_method_that_takes_a_timeout_gets_the_connections() -> None:
    client: Any = _WithDeadline(Client(), 7.5)
    assert client.search("docs", limit=3) == 7.5
    assert client.list_collections() == 7.5


def test_a_callers_own_timeout_wins() -> None:
    client: Any = _WithDeadline(Client(), 7.5)
    assert client.search("docs", timeout=1.0) == 1.0


def test_other_methods_and_attributes_pass_through_unchanged() -> None:
    client: Any = _WithDeadline(Client(), 7.5)
    assert client.close() == "closed"
    assert client.uri == "http://127.0.0.1:19530"
