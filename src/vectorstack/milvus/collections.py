"""Making and removing things: collections from declared schemas, and their partitions."""

from __future__ import annotations

from pymilvus import DataType

from vectorstack.errors import (
    AlreadyExistsError,
    CollectionNotFoundError,
    InvalidInputError,
    UnsupportedOperationError,
    VectorStackError,
)
from vectorstack.milvus.catalog import FIELD_TYPES
from vectorstack.milvus.indexes import IndexStore, index_params
from vectorstack.milvus.schema import CollectionSchema, Consistency, IndexSpec, check_name
from vectorstack.milvus.validation import check_consistency, check_flag


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
        """Create from a declared schema, index the vector field (HNSW unless told) and load it (unless
        `load=False`), all or nothing: if the index or the load fails, the collection is dropped again and
        the cause raised, so a retry starts clean.

        With `exist_ok=True` an existing collection is accepted only if it is the one asked for (primary key,
        its type, vector field, dimension, field names, and the index's type and metric); one left without
        its index (by an older version, or a process that died half-way) is finished: the index is created
        and the collection loaded. One that differs is refused with AlreadyExistsError naming the
        difference, never returned as if it were what the caller declared."""
        check_name("collection", name)
        if not isinstance(schema, CollectionSchema):
            raise InvalidInputError(f"schema must be a CollectionSchema, got {type(schema).__name__}")
        if index is not None and not isinstance(index, IndexSpec):
            raise InvalidInputError(f"index must be an IndexSpec or None, got {type(index).__name__}")
        check_consistency(consistency)
        check_flag(load, "load")
        check_flag(exist_ok, "exist_ok")
        index = index or IndexSpec()
        metric = index.metric or schema.metric
        if self.has_collection(name):
            if exist_ok:
                self._accept_existing(name, schema, index, metric, load=load)
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
        params = index_params(client, schema.vector_field, index, metric)
        # Three steps (the driver's one call does them too, but leaves the collection behind when the index
        # or the load fails): each after the first is undone by dropping the collection.
        self._call(
            "create_collection",
            lambda: client.create_collection(
                name, schema=milvus_schema, consistency_level=consistency or self.consistency
            ),
            collection=name,
        )
        try:
            self._call("create_index", lambda: client.create_index(name, params), collection=name)
            if load:
                self.load(name)
        except Exception as exc:
            self._undo_create(name, exc)
            raise

    def _undo_create(self, name: str, cause: Exception) -> None:
        """Drop a collection whose creation failed after it was made; if even that fails, say so on the
        cause (which is what the caller sees) rather than hide the cause behind the second failure."""
        self._forget(name)
        try:
            self._call("drop_collection", lambda: self._client.drop_collection(name), collection=name)
        except VectorStackError as undo:
            cause.add_note(f"collection {name!r} was created but could not be dropped again ({undo}); drop it by hand")

    def _accept_existing(
        self, name: str, schema: CollectionSchema, index: IndexSpec, metric: str, *, load: bool
    ) -> None:
        """exist_ok: the existing collection must be the declared one; a missing index is created."""
        self._forget(name)  # read it as it is now, not as cached
        info = self.info(name)
        declared = {schema.primary_key, schema.vector_field, *(f.name for f in schema.fields)}
        differences = [
            f"{what} {have!r}, declared {want!r}"
            for what, have, want in (
                ("primary key", info.primary_key, schema.primary_key),
                ("primary key type", info.id_type, schema.id_type),
                ("vector field", info.vector_field, schema.vector_field),
                ("dimension", info.dimension, schema.dimension),
                ("fields", sorted(info.fields), sorted(declared)),
            )
            if have != want
        ]
        indexes = self.list_indexes(name)
        if indexes:
            described = self.describe_index(name)
            for what, have, want in (
                ("index type", described.get("index_type"), index.type),
                ("metric", described.get("metric_type"), metric),
            ):
                if have != want:
                    differences.append(f"{what} {have!r}, declared {want!r}")
        if differences:
            raise AlreadyExistsError(
                f"collection {name!r} exists with a different schema or index ({'; '.join(differences)}): "
                "exist_ok accepts only the collection declared; drop it, or use another name"
            )
        if not indexes:  # half-made: finish it
            params = index_params(self._client, schema.vector_field, index, metric)
            self._call("create_index", lambda: self._client.create_index(name, params), collection=name)
        if load:
            self.load(name)

    def drop_collection(self, name: str, *, missing_ok: bool = True) -> None:
        check_name("collection", name)
        check_flag(missing_ok, "missing_ok")
        self._forget(name)
        if not self.has_collection(name):
            # Milvus treats dropping a missing collection as success; say so when the caller cares.
            if missing_ok:
                return
            raise CollectionNotFoundError(name)
        self._call("drop_collection", lambda: self._client.drop_collection(name), collection=name)

    # -- partitions -------------------------------------------------------------------------------------
    def create_partition(self, collection: str, partition: str) -> None:
        check_name("collection", collection)
        check_name("partition", partition)
        self._call(
            "create_partition", lambda: self._client.create_partition(collection, partition), collection=collection
        )

    def list_partitions(self, collection: str) -> list[str]:
        check_name("collection", collection)
        return list(
            self._call("list_partitions", lambda: self._client.list_partitions(collection), collection=collection)
        )

    def has_partition(self, collection: str, partition: str) -> bool:
        check_name("collection", collection)
        check_name("partition", partition)
        return bool(
            self._call(
                "has_partition", lambda: self._client.has_partition(collection, partition), collection=collection
            )
        )

    def drop_partition(self, collection: str, partition: str) -> None:
        """Release then drop (Milvus refuses to drop a loaded partition)."""
        check_name("collection", collection)
        check_name("partition", partition)
        try:
            self._call(
                "release_partition",
                lambda: self._client.release_partitions(collection, [partition]),
                collection=collection,
            )
        except UnsupportedOperationError:
            self.release(collection)  # servers without partition-level release (Milvus Lite)
        self._call("drop_partition", lambda: self._client.drop_partition(collection, partition), collection=collection)
