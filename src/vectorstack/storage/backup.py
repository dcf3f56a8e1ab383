"""Collection backups: a Milvus collection exported to S3 as chunks plus a manifest, restored by version.

Layout under `<prefix>/<collection>/<version>/`: `chunk-NNNNN.vectors` (the vectors as one encoded array),
`chunk-NNNNN.rows.json` (ids and metadata), and `manifest.json` (schema, index, counts, chunk list),
written last: a version without a manifest is an interrupted backup and is never restored.
Versions are UTC timestamps, so they sort in time order and every backup is kept until deleted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vectorstack.errors import NotFoundError, VectorStackError
from vectorstack.milvus import CollectionSchema, FieldSpec, IndexSpec, VectorStore
from vectorstack.milvus.store import FIELD_TYPES
from vectorstack.storage.objects import ObjectStore

FORMAT = 1
MANIFEST = "manifest.json"
_TYPE_NAMES = {value: name for name, value in FIELD_TYPES.items()}
_INDEX_INFO_KEYS = {
    "index_type",
    "metric_type",
    "field_name",
    "index_name",
    "total_rows",
    "indexed_rows",
    "pending_index_rows",
    "state",
}


@dataclass(frozen=True)
class BackupInfo:
    collection: str
    version: str
    rows: int
    chunks: int
    location: str


def _number(text: Any) -> Any:
    try:
        return int(text)
    except (TypeError, ValueError):
        try:
            return float(text)
        except (TypeError, ValueError):
            return text


class CollectionBackup:
    def __init__(
        self, store: VectorStore, objects: ObjectStore, bucket: str, *, prefix: str = "backups", chunk_rows: int = 5000
    ) -> None:
        self.store = store
        self.objects = objects
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.chunk_rows = chunk_rows

    def _base(self, collection: str, version: str) -> str:
        return f"{self.prefix}/{collection}/{version}"

    def describe(self, collection: str) -> dict[str, Any]:
        """The collection's schema and index as plain data (what restore needs to rebuild it)."""
        described = self.store.describe_collection(collection)
        info = self.store.info(collection)
        fields, id_type, id_max_length = [], "int64", 64
        for field in described["fields"]:
            params = field.get("params", {})
            if field.get("is_primary"):
                id_type = "varchar" if field["type"] == FIELD_TYPES["varchar"] else "int64"
                id_max_length = int(params.get("max_length", 64))
            elif field["name"] != info.vector_field:
                entry = {"name": field["name"], "type": _TYPE_NAMES[field["type"]]}
                if "max_length" in params:
                    entry["max_length"] = int(params["max_length"])
                fields.append(entry)
        index = self.store.describe_index(collection)
        return {
            "dimension": info.dimension,
            "metric": str(index.get("metric_type", "COSINE")),
            "primary_key": info.primary_key,
            "id_type": id_type,
            "id_max_length": id_max_length,
            "vector_field": info.vector_field,
            "fields": fields,
            "dynamic_fields": bool(described.get("enable_dynamic_field")),
            "auto_id": info.auto_id,
            "index": {
                "type": str(index.get("index_type", "HNSW")),
                "params": {k: _number(v) for k, v in index.items() if k not in _INDEX_INFO_KEYS},
            },
        }

    def backup(self, collection: str, *, progress: Callable[[int], None] | None = None) -> BackupInfo:
        """Write every record to S3 in chunks, then the manifest; `progress` gets the rows done so far."""
        version = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() % 1_000_000_000:09d}Z"
        base = self._base(collection, version)
        schema = self.describe(collection)
        vector_field = schema["vector_field"]
        chunks, rows_total = [], 0
        for number, rows in enumerate(self.store.iterate(collection, batch_size=self.chunk_rows)):
            vectors = np.asarray([row.pop(vector_field) for row in rows], dtype=np.float32)
            name = f"{base}/chunk-{number:05d}"
            self.objects.put_array(self.bucket, f"{name}.vectors", vectors)
            self.objects.put_bytes(self.bucket, f"{name}.rows.json", json.dumps(rows).encode())
            chunks.append({"vectors": f"{name}.vectors", "rows": f"{name}.rows.json", "count": len(rows)})
            rows_total += len(rows)
            if progress is not None:
                progress(rows_total)
        manifest = {
            "format": FORMAT,
            "collection": collection,
            "version": version,
            "rows": rows_total,
            "schema": schema,
            "chunks": chunks,
            "created_at": time.time(),
        }
        self.objects.put_bytes(self.bucket, f"{base}/{MANIFEST}", json.dumps(manifest, indent=2).encode())
        return BackupInfo(collection, version, rows_total, len(chunks), f"s3://{self.bucket}/{base}")

    def versions(self, collection: str) -> list[str]:
        """Complete backups of `collection`, oldest first."""
        found = self.objects.list_objects(self.bucket, f"{self.prefix}/{collection}/")
        return sorted(o.key.split("/")[-2] for o in found if o.key.endswith(f"/{MANIFEST}"))

    def manifest(self, collection: str, version: str | None = None) -> dict[str, Any]:
        versions = self.versions(collection)
        if not versions:
            raise NotFoundError(f"no backup of {collection!r} in s3://{self.bucket}/{self.prefix}/")
        chosen = version or versions[-1]
        if chosen not in versions:
            raise NotFoundError(f"no backup version {chosen!r} of {collection!r}; there are: {', '.join(versions)}")
        manifest: dict[str, Any] = json.loads(
            self.objects.get_bytes(self.bucket, f"{self._base(collection, chosen)}/{MANIFEST}")
        )
        if manifest.get("format") != FORMAT:
            raise VectorStackError(f"backup {chosen} has format {manifest.get('format')}; this library reads {FORMAT}")
        return manifest

    def restore(
        self,
        collection: str,
        *,
        version: str | None = None,
        into: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> BackupInfo:
        """Rebuild the collection (schema, index, records) from a backup; the latest unless `version`."""
        manifest = self.manifest(collection, version)
        spec = manifest["schema"]
        target = into or collection
        schema = CollectionSchema(
            dimension=spec["dimension"],
            metric=spec["metric"],
            primary_key=spec["primary_key"],
            id_type=spec["id_type"],
            id_max_length=spec["id_max_length"],
            vector_field=spec["vector_field"],
            fields=tuple(FieldSpec(f["name"], f["type"], f.get("max_length")) for f in spec["fields"]),
            dynamic_fields=spec["dynamic_fields"],
            auto_id=spec["auto_id"],
        )
        index = IndexSpec(spec["index"]["type"], metric=spec["metric"], params=spec["index"]["params"])
        self.store.create_collection(target, schema, index=index, load=False)
        done = 0
        for chunk in manifest["chunks"]:
            vectors = self.objects.get_array(self.bucket, chunk["vectors"])
            rows = json.loads(self.objects.get_bytes(self.bucket, chunk["rows"]))
            if len(rows) != len(vectors) or len(rows) != chunk["count"]:
                raise VectorStackError(
                    f"backup chunk {chunk['rows']} is inconsistent: {len(rows)} rows, {len(vectors)} vectors"
                )
            for row, vector in zip(rows, vectors, strict=True):
                row[spec["vector_field"]] = vector
            self.store.insert(target, rows)
            done += len(rows)
            if progress is not None:
                progress(done)
        self.store.load(target)
        restored = self.store.count(target)
        if restored != manifest["rows"]:
            raise VectorStackError(
                f"restore of {collection!r} into {target!r}: {restored} rows, backup holds {manifest['rows']}"
            )
        return BackupInfo(
            collection,
            manifest["version"],
            restored,
            len(manifest["chunks"]),
            f"s3://{self.bucket}/{self._base(collection, manifest['version'])}",
        )
