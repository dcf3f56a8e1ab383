"""Connecting: to the harness's server, to nothing, and with plain pymilvus given the exported variables."""

from __future__ import annotations

import time

import numpy as np
import pytest
from pymilvus import MilvusClient

from testservices.ports import free_port
from testservices.state import Endpoint
from vectorstack.config import MilvusConfig
from vectorstack.errors import InvalidInputError, ServiceUnavailableError
from vectorstack.milvus import VectorStore

pytestmark = [pytest.mark.integration, pytest.mark.milvus]


def test_config_from_the_exported_variables(milvus_service: Endpoint) -> None:
    config = MilvusConfig.from_env(milvus_service.env)
    assert config.uri == milvus_service.env["MILVUS_URI"]
    assert config.uri.endswith(f":{milvus_service.port}")
    by_host = MilvusConfig.from_env({"MILVUS_HOST": "10.0.0.7", "MILVUS_PORT": "19531", "MILVUS_TOKEN": "u:p"})
    assert by_host.uri == "http://10.0.0.7:19531"
    assert "u:p" not in repr(by_host), "tokens stay out of reprs and logs"
    with pytest.raises(InvalidInputError, match="MILVUS_PORT"):
        MilvusConfig.from_env({"MILVUS_PORT": "many"})


def test_connected_store_lists_collections(store: VectorStore, collection: str) -> None:
    assert collection in store.list_collections()


def test_unreachable_server_fails_clearly_within_the_timeout() -> None:
    closed = free_port()
    config = MilvusConfig(uri=f"http://127.0.0.1:{closed}", timeout=1.0, retries=1)
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError, match=rf"milvus at 127.0.0.1:{closed} unreachable after 1 s") as info:
        VectorStore(config)
    elapsed = time.monotonic() - started
    assert elapsed < 15, f"gave up after {elapsed:.1f} s; timeout 1 s x 2 attempts"
    assert info.value.__cause__ is not None, "the driver's error is kept as the cause"


def test_plain_pymilvus_client_works_with_the_exported_variables(
    milvus_service: Endpoint, unique_name: object, cleanup: object
) -> None:
    """What a user gets from `testservices up milvus` + `env`: an ordinary MilvusClient just works."""
    name = unique_name("plain")  # type: ignore[operator]
    client = MilvusClient(uri=milvus_service.env["MILVUS_URI"])
    cleanup(client.close)  # type: ignore[operator]
    cleanup(client.drop_collection, name)  # type: ignore[operator]
    client.create_collection(name, dimension=8, metric_type="L2", consistency_level="Strong")
    vectors = np.eye(8, dtype=np.float32)
    client.insert(name, [{"id": i, "vector": vectors[i].tolist(), "n": i} for i in range(8)])
    hits = client.search(name, [vectors[3].tolist()], limit=1, output_fields=["n"])
    assert hits[0][0]["id"] == 3
    assert client.query(name, filter="id in [5]", output_fields=["n"])[0]["n"] == 5
    client.drop_collection(name)
    assert name not in client.list_collections()
