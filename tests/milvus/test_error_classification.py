"""What Milvus (2.3.5 here) answers, classified by pymilvus' types and codes into the library's errors."""

from __future__ import annotations

import socket
import time

import pytest

from vectorstack.config import MilvusConfig
from vectorstack.errors import (
    CollectionNotFoundError,
    CollectionNotLoadedError,
    InvalidFilterError,
    ServiceUnavailableError,
)
from vectorstack.milvus import VectorStore
from vectorstack.retry import is_transient

from .conftest import DIM, random_vectors, records


def test_a_missing_collection_is_not_found_and_not_retried(store: VectorStore) -> None:
    with pytest.raises(CollectionNotFoundError) as raised:
        store.upsert("no_such_collection_here", records(1))
    assert not is_transient(raised.value)


def test_an_unloaded_collection_says_so(store: VectorStore, collection: str) -> None:
    store.release(collection)
    with pytest.raises(CollectionNotLoadedError):
        store.search(collection, random_vectors(1, DIM), limit=1)


def test_a_filter_naming_an_unknown_field_is_an_invalid_filter_not_an_outage(
    store: VectorStore, collection: str
) -> None:
    # The server's message names the field; a field called "unavailable" once read as "server unavailable".
    with pytest.raises(InvalidFilterError) as raised:
        store.query(collection, "unavailable == 3")
    assert not is_transient(raised.value)


def test_a_closed_port_is_unavailable_after_the_configured_attempts_only() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as raised:
        VectorStore(MilvusConfig(uri=f"http://127.0.0.1:{port}", timeout=1.0, retries=2))
    assert is_transient(raised.value)
    assert time.monotonic() - started < 10, "connecting is retried by one layer, a bounded number of times"
