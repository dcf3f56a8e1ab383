"""Collection lifecycle from declared schemas, load/release, and errors for what does not exist."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vectorstack.errors import (
    AlreadyExistsError,
    CollectionNotFoundError,
    CollectionNotLoadedError,
    InvalidInputError,
)
from vectorstack.milvus import CollectionSchema, FieldSpec, VectorStore

from .conftest import DIM, default_schema, random_vectors, records

pytestmark = [pytest.mark.integration, pytest.mark.milvus]


def test_lifecycle_create_describe_drop(store: VectorStore, unique_name: Callable[[str], str]) -> None:
    name = unique_name("life")
    try:
        store.create_collection(name, default_schema())
        assert store.has_collection(name)
        assert name in store.list_collections()
        info = store.info(name)
        assert (info.primary_key, info.vector_field, info.dimension) == ("id", "vector", DIM)
        assert set(info.fields) == {"id", "vector", "category", "price"}
        assert store.is_loaded(name)
        assert store.count(name) == 0
    finally:
        store.drop_collection(name)
    assert not store.has_collection(name)
    store.drop_collection(name)  # dropping what is gone is fine by default
    with pytest.raises(CollectionNotFoundError):
        store.drop_collection(name, missing_ok=False)


def test_create_twice_is_refused_unless_asked(store: VectorStore, collection: str) -> None:
    with pytest.raises(AlreadyExistsError, match="exist_ok=True"):
        store.create_collection(collection, default_schema())
    store.create_collection(collection, default_schema(), exist_ok=True)


def test_unknown_collection_errors_name_it(store: VectorStore, unique_name: Callable[[str], str]) -> None:
    ghost = unique_name("ghost")
    for call in (
        lambda: store.insert(ghost, records(1)),
        lambda: store.search(ghost, random_vectors(1)),
        lambda: store.count(ghost),
    ):
        with pytest.raises(CollectionNotFoundError, match=ghost):
            call()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CollectionSchema(dimension=0), "dimension"),
        (lambda: CollectionSchema(dimension=8, metric="HAMMING"), "metric"),  # type: ignore[arg-type]
        (lambda: CollectionSchema(dimension=8, fields=(FieldSpec("vector", "int64"),)), "unique"),
        (lambda: FieldSpec("tag", "varchar"), "max_length"),
        (lambda: FieldSpec("bad-name", "int64"), "invalid field name"),
    ],
)
def test_bad_schemas_are_refused_before_the_server(make: Callable[[], object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        make()


def test_bad_collection_name_is_refused(store: VectorStore) -> None:
    with pytest.raises(InvalidInputError, match="invalid collection name"):
        store.create_collection("has space", default_schema())


def test_dynamic_fields_store_undeclared_metadata(store: VectorStore, make_collection: Callable[..., str]) -> None:
    name = make_collection(default_schema(dynamic_fields=True))
    rows = records(3)
    for i, row in enumerate(rows):
        row["color"] = ["red", "green", "blue"][i]
    store.insert(name, rows)
    found = store.query(name, 'color == "green"', output_fields=["id", "color", "category"])
    assert [(r["id"], r["color"], r["category"]) for r in found] == [(1, "green", "c1")]


@pytest.mark.real_server("Milvus Lite searches collections that are not loaded")
def test_released_collection_cannot_be_searched_until_loaded(store: VectorStore, collection: str) -> None:
    store.insert(collection, records(10))
    store.release(collection)
    assert not store.is_loaded(collection)
    with pytest.raises(CollectionNotLoadedError, match=f"load\\('{collection}'\\)"):
        store.search(collection, random_vectors(1))
    store.load(collection)
    assert store.search(collection, random_vectors(1), limit=3)[0]
