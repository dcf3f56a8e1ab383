"""What the server knows about collections, as the store reads it: existence, descriptions, the schema facts
every call checks its input against (read once per collection and cached), and the load state.

The base of `VectorStore` (the other parts: indexes.py, collections.py, reads.py, store.py build on it).
One store holds one gRPC connection; it is safe to share between threads (gRPC channels are), which is
how the tests drive 16 concurrent clients. Driver errors become the library's own (see errors.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from pymilvus import DataType
from tenacity import RetryError, Retrying, retry_if_exception, retry_if_result, stop_after_delay, wait_fixed

from vectorstack.config import MilvusConfig
from vectorstack.errors import CollectionNotLoadedError
from vectorstack.milvus.connection import MilvusConnection
from vectorstack.milvus.records import DEFAULT_MAX_BATCH_BYTES, CollectionInfo
from vectorstack.milvus.schema import Consistency, check_name
from vectorstack.milvus.validation import check_consistency, check_partitions, check_seconds, whole_number
from vectorstack.retry import is_transient
from vectorstack.tracking import Tracker

# The declared field types as Milvus' DataType (the backup maps them back by this table).
FIELD_TYPES = {
    "int64": DataType.INT64,
    "int32": DataType.INT32,
    "int16": DataType.INT16,
    "int8": DataType.INT8,
    "float": DataType.FLOAT,
    "double": DataType.DOUBLE,
    "bool": DataType.BOOL,
    "varchar": DataType.VARCHAR,
    "json": DataType.JSON,
}


class Catalog(MilvusConnection):
    """Collections as the server describes them, and whether they are loaded."""

    def __init__(
        self,
        config: MilvusConfig | None = None,
        *,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        consistency: Consistency = "Strong",
        tracker: Tracker | None = None,
    ) -> None:
        # Checked before connecting: a bad setting should cost no connection.
        whole_number(max_batch_bytes, "max_batch_bytes", 1, 64 * 1024 * 1024)  # Milvus refuses requests over 64 MiB
        check_consistency(consistency)
        super().__init__(config, tracker=tracker)
        self.max_batch_bytes = max_batch_bytes
        self.consistency = consistency
        self._info: dict[str, CollectionInfo] = {}
        self._search_params: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def has_collection(self, name: str) -> bool:
        check_name("collection", name)
        return bool(self._call("has_collection", lambda: self._client.has_collection(name), collection=name))

    def list_collections(self) -> list[str]:
        return list(self._call("list_collections", self._client.list_collections))

    def describe_collection(self, name: str) -> dict[str, Any]:
        check_name("collection", name)
        return dict(self._call("describe", lambda: self._client.describe_collection(name), collection=name))

    def info(self, name: str) -> CollectionInfo:
        """The schema facts used to check records, read once per collection and cached."""
        check_name("collection", name)
        with self._lock:
            cached = self._info.get(name)
        if cached:
            return cached
        described = self.describe_collection(name)
        primary = vector = ""
        dimension = id_max_length = 0
        id_type = "int64"
        for field in described["fields"]:
            if field.get("is_primary"):
                primary = field["name"]
                if field["type"] == DataType.VARCHAR:
                    id_type, id_max_length = "varchar", int(field["params"]["max_length"])
            if field["type"] == DataType.FLOAT_VECTOR:
                vector, dimension = field["name"], int(field["params"]["dim"])
        info = CollectionInfo(
            name=name,
            primary_key=primary,
            vector_field=vector,
            dimension=dimension,
            auto_id=bool(described.get("auto_id")),
            fields=tuple(f["name"] for f in described["fields"]),
            id_type=id_type,
            id_max_length=id_max_length,
            dynamic_fields=bool(described.get("enable_dynamic_field")),
        )
        with self._lock:
            self._info[name] = info
        return info

    def _forget(self, name: str) -> None:
        """Drop what is cached about a collection (it was dropped, or its index changed)."""
        with self._lock:
            self._info.pop(name, None)
            self._search_params.pop(name, None)

    def load(self, name: str, partitions: Sequence[str] | None = None) -> None:
        check_name("collection", name)
        partitions = check_partitions(partitions)
        if partitions:
            self._call("load", lambda: self._client.load_partitions(name, partitions), collection=name)
        else:
            self._call("load", lambda: self._client.load_collection(name), collection=name)

    def release(self, name: str) -> None:
        check_name("collection", name)
        self._call("release", lambda: self._client.release_collection(name), collection=name)

    def is_loaded(self, name: str) -> bool:
        check_name("collection", name)
        state = self._call("load_state", lambda: self._client.get_load_state(name), collection=name)
        return str(state.get("state")).endswith("Loaded")

    def wait_loaded(self, name: str, timeout: float = 60.0) -> float:
        """Wait until the collection is searchable; returns the seconds waited. A restarted Milvus reloads
        the collections that were loaded, but only after its old sessions expire (10-30 s after a crash),
        and answers `CollectionNotLoadedError` until then."""
        check_name("collection", name)
        check_seconds(timeout, "timeout")
        started = time.monotonic()
        waiting = Retrying(
            retry=retry_if_result(lambda loaded: loaded is False)
            | retry_if_exception(is_transient),  # still coming up: the library's one definition of it
            wait=wait_fixed(0.5),
            stop=stop_after_delay(timeout),
        )
        try:
            waiting(self.is_loaded, name)
        except RetryError as exc:
            raise CollectionNotLoadedError(name) from exc.last_attempt.exception()
        return time.monotonic() - started
