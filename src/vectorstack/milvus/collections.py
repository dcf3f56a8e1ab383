"""Making and removing things: collections from declared schemas, and their partitions."""

from __future__ import annotations

from pymilvus import DataType

from vectorstack.errors import AlreadyExistsError, CollectionNotFoundError, UnsupportedOperationError
from vectorstack.milvus.catalog import FIELD_TYPES
from vectorstack.milvus.indexes import IndexStore, index_params
from vectorstack.milvus.schema import CollectionSchema, Consistency, IndexSpec, check_name


class CollectionStore(IndexStore):
    """Collection and partition lifecycle on top of the catalog and its indexes."""

    # -- collections ------------------------------------------------------------------------------------
    def create_collection(
        self,
        name: str,
        schema: CollectionSchema,
        *,
        index: IndexSpec | None = None,
        consistency: Consistency | None = None,
        load: bool = True,
        exist_ok: bool = False,
    ) -> None:
        """Create from a declared schema, index the vector field (HNSW unless told) and load it."""
        check_name("collection", name)
        if self.has_collection(name):
            if exist_ok:
                return
            raise AlreadyExistsError(f"collection {name!r} exists already; drop it or pass exist_ok=True")
        client = self._client
        milvus_schema = client.create_schema(
            auto_id=schema.auto_id, enable_dynamic_field=schema.dynamic_fields, description=schema.description
        )
        if schema.id_type == "int64":
            milvus_schema.add_field(schema.primary_key, DataType.INT64, is_primary=True)
        else:
            milvus_schema.add_field(
                schema.primary_key, DataType.VARCHAR, is_primary=True, max_length=schema.id_max_length
            )
        milvus_schema.add_field(schema.vector_field, DataType.FLOAT_VECTOR, dim=schema.dimension)
        for spec in schema.fields:
            extra = {"max_length": spec.max_length} if spec.type == "varchar" else {}
            milvus_schema.add_field(spec.name, FIELD_TYPES[spec.type], description=spec.description, **extra)
        index = index or IndexSpec()
        params = index_params(client, schema.vector_field, index, index.metric or schema.metric)
        self._call(
            "create_collection",
            lambda: client.create_collection(
                name, schema=milvus_schema, index_params=params, consistency_level=consistency or self.consistency
            ),
            collection=name,
        )
        if load:
            self.load(name)

    def drop_collection(self, name: str, *, missing_ok: bool = True) -> None:
        self._forget(name)
        if not self.has_collection(name):
            # Milvus treats dropping a missing collection as success; say so when the caller cares.
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        self._call("drop_collection", lambda: self._client.drop_collection(name), collection=name)

    # -- partitions -------------------------------------------------------------------------------------
    def create_partition(self, collection: str, partition: str) -> None:
        check_name("partition", partition)
        self._call(
            "create_partition", lambda: self._client.create_partition(collection, partition), collection=collection
        )

    def list_partitions(self, collection: str) -> list[str]:
        return list(
            self._call("list_partitions", lambda: self._client.list_partitions(collection), collection=collection)
        )

    def has_partition(self, collection: str, partition: str) -> bool:
        return bool(
            self._call(
                "has_partition", lambda: self._client.has_partition(collection, partition), collection=collection
            )
        )

    def drop_partition(self, collection: str, partition: str) -> None:
        """Release then drop (Milvus refuses to drop a loaded partition)."""
        try:
            self._call(
                "release_partition",
                lambda: self._client.release_partitions(collection, [partition]),
                collection=collection,
            )
        except UnsupportedOperationError:
            self.release(collection)  # servers without partition-level release (Milvus Lite)
        self._call("drop_partition", lambda: self._client.drop_partition(collection, partition), collection=collection)
