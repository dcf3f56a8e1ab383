"""What the Milvus client checks before anything reaches a server: records, batches, schemas, errors."""

from __future__ import annotations

import re
from collections.abc import Callable

import grpc
import numpy as np
import pytest
from pymilvus.exceptions import MilvusException

from vectorstack.config import MilvusConfig
from vectorstack.errors import (
    CollectionNotFoundError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    ServiceUnavailableError,
    UnsupportedOperationError,
    ValueTooLargeError,
)
from vectorstack.milvus import CollectionSchema, FieldSpec, IndexSpec
from vectorstack.milvus.errors import translate
from vectorstack.milvus.records import CollectionInfo, as_matrix, batches, prepare, record_size
from vectorstack.retry import is_transient

INFO = CollectionInfo("c", "id", "vec", 4, False, ("id", "vec", "tag"))


def rows(n: int) -> list[dict[str, object]]:
    return [{"id": i, "vec": [float(i)] * 4, "tag": "t"} for i in range(n)]


def test_prepare_converts_vectors_to_float32_arrays() -> None:
    prepared = prepare(INFO, rows(3), refuse_duplicates=True)
    assert all(isinstance(r["vec"], np.ndarray) and r["vec"].dtype == np.float32 for r in prepared)
    assert prepared[2]["tag"] == "t"


def test_prepare_refuses_bad_records_with_their_position() -> None:
    bad = rows(3)
    bad[1]["vec"] = [1.0, 2.0]
    with pytest.raises(DimensionMismatchError, match=r"record 1 of 'c'.*expected 4, got 2"):
        prepare(INFO, bad, refuse_duplicates=True)
    dup = rows(3)
    dup[2]["id"] = 0
    with pytest.raises(InvalidInputError, match=r"primary key 0 appears twice \(records 0 and 2\)"):
        prepare(INFO, dup, refuse_duplicates=True)
    with pytest.raises(InvalidInputError, match="record 0 is a list"):
        prepare(INFO, [[1, 2]], refuse_duplicates=True)  # type: ignore[list-item]


def test_as_matrix_shapes_and_checks() -> None:
    assert as_matrix([1, 2, 3, 4], 4).shape == (1, 4)
    assert as_matrix(np.zeros((5, 4)), 4).dtype == np.float32
    with pytest.raises(DimensionMismatchError):
        as_matrix(np.zeros((2, 3)), 4)
    with pytest.raises(InvalidInputError, match=r"vectors\[1\] contains NaN"):
        as_matrix([[0, 0, 0, 0], [0, np.nan, 0, 0]], 4)
    with pytest.raises(InvalidInputError, match="must be real numbers"):
        as_matrix([["a", "b", "c", "d"]], 4)
    with pytest.raises(InvalidInputError, match="2-D"):
        as_matrix(np.zeros((2, 2, 4)), 4)


def test_batches_respect_the_byte_limit_and_keep_positions() -> None:
    prepared = prepare(INFO, rows(100), refuse_duplicates=True)
    largest = max(record_size(r, "vec") for r in prepared)
    planned = list(batches(prepared, "vec", largest * 10))
    assert all(b[3] <= largest * 10 for b in planned)
    assert all(len(b[2]) >= 10 for b in planned[:-1]), "batches are filled before a new one starts"
    covered = [i for first, last, _rows, _n in planned for i in range(first, last + 1)]
    assert covered == list(range(100)), "every record once, in order"
    with pytest.raises(ValueTooLargeError, match="record 0"):
        list(batches(prepared, "vec", record_size(prepared[0], "vec") - 1))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (MilvusException(code=100, message="collection not found[collection=x]"), CollectionNotFoundError),
        (MilvusException(code=2, message="Fail connecting to server on 127.0.0.1:1"), ServiceUnavailableError),
        (MilvusException(code=65535, message="cannot parse expression: a ==="), InvalidFilterError),
        (MilvusException(code=1100, message="invalid parameter"), InvalidInputError),
    ],
)
def test_driver_errors_become_library_errors(error: Exception, expected: type[Exception]) -> None:
    translated = translate(error, "search", address="127.0.0.1:1", timeout=1, collection="x", filter_expr="a ===")
    assert isinstance(translated, expected)


def test_only_unreachable_servers_are_transient() -> None:
    def judged(code: int, message: str) -> bool:
        return is_transient(translate(MilvusException(code=code, message=message), "search", address="a", timeout=1))

    assert judged(2, "Fail connecting to server")
    assert not judged(100, "collection not found")
    assert not judged(1100, "invalid parameter")


def test_a_raw_grpc_status_is_classified_by_its_code() -> None:
    def raw(code: grpc.StatusCode, details: str) -> grpc.RpcError:
        return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)

    translated = translate(raw(grpc.StatusCode.UNIMPLEMENTED, "release partition"), "release", address="a", timeout=1)
    assert isinstance(translated, UnsupportedOperationError)
    assert "release partition" in str(translated)
    unavailable = translate(raw(grpc.StatusCode.UNAVAILABLE, "down"), "search", address="a", timeout=1)
    assert isinstance(unavailable, ServiceUnavailableError)
    assert is_transient(unavailable)


def test_milvus_config_from_variables() -> None:
    assert MilvusConfig.from_env({}).uri == "http://127.0.0.1:19530"
    assert MilvusConfig.from_env({"MILVUS_HOST": "h", "MILVUS_TLS": "true"}).uri == "https://h:19530"
    assert MilvusConfig.from_env({"MILVUS_USER": "u", "MILVUS_PASSWORD": "p"}).token == "u:p"
    with pytest.raises(InvalidInputError, match="needs a scheme"):
        MilvusConfig.from_env({"MILVUS_URI": "127.0.0.1:19530"})


# Issue 16, finding 7 and the IndexSpec part of finding 3: declared specs are refused where they are built.
@pytest.mark.parametrize(
    ("build", "says"),
    [
        (lambda: FieldSpec("t", "text"), "unknown type 'text'"),  # type: ignore[arg-type]  # was a KeyError later
        (lambda: FieldSpec("t", "varchar", max_length=True), "max_length"),
        (lambda: FieldSpec("t", "varchar", max_length=70000), "1 to 65535"),
        (lambda: CollectionSchema(dimension=True), "dimension"),  # was accepted as dimension 1
        (lambda: IndexSpec("FOO"), "unknown index type 'FOO'"),  # type: ignore[arg-type]
        (lambda: IndexSpec("HNSW", metric="cosine"), "upper case"),  # type: ignore[arg-type]
        (lambda: IndexSpec("HNSW", params={"M": -1}), "M must be a whole number from 2"),
        (lambda: IndexSpec("IVF_FLAT", params={"nlist": 0}), "nlist must be"),
        (lambda: IndexSpec("IVF_FLAT", params={"nlist": 2.5}), "nlist must be"),
        (lambda: MilvusConfig(timeout=-1), "timeout must be > 0"),  # was accepted
        (lambda: MilvusConfig(timeout=float("nan")), "timeout must be > 0"),
        (lambda: MilvusConfig(retries=True), "retries"),
    ],
)
def test_bad_specs_are_refused_where_they_are_built(build: Callable[[], object], says: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(says)):
        build()


def test_good_specs_still_build() -> None:
    assert IndexSpec("HNSW", metric="L2", params={"M": 8}).build_params()["M"] == 8
    assert FieldSpec("lang", "varchar", max_length=8).max_length == 8
    assert CollectionSchema(dimension=8).dimension == 8
    assert MilvusConfig(timeout=0.5).timeout == 0.5


# Issue 16, findings 6 and 9: the client-side half of the input contract.
VARCHAR = CollectionInfo("v", "pk", "vec", 4, False, ("pk", "vec"), id_type="varchar", id_max_length=8)


def test_the_primary_key_expression_escapes_what_the_driver_did_not() -> None:
    from vectorstack.milvus.validation import ids_filter

    assert ids_filter(INFO, [1, np.int64(2)]) == "id in [1,2]"
    assert ids_filter(VARCHAR, ['a"b', "c'd", "e\\f"]) == 'pk in ["a\\"b","c\'d","e\\\\f"]'


@pytest.mark.parametrize(
    ("info", "key", "says"),
    [
        (INFO, True, "int64 range"),
        (INFO, 2.0, "int64 range"),
        (INFO, 2**63, "int64 range"),
        (VARCHAR, 3, "must be a string"),
        (VARCHAR, "ü" * 5, "10 bytes, over its max_length 8"),
        (VARCHAR, "\ud800", "not valid UTF-8"),
    ],
)
def test_keys_of_the_wrong_type_or_size_are_refused(info: CollectionInfo, key: object, says: str) -> None:
    from vectorstack.milvus.validation import check_ids

    with pytest.raises(InvalidInputError, match=says):
        check_ids(info, [key])


def test_complex_and_non_numeric_vectors_are_refused_not_cast() -> None:
    with pytest.raises(InvalidInputError, match="complex"):
        as_matrix(np.ones((1, 4), dtype=np.complex128), 4)
    with pytest.raises(InvalidInputError, match=r"expected shape \(4,\), got \(2, 2\)"):
        prepare(INFO, [{"id": 1, "vec": np.ones((2, 2)), "tag": "t"}], refuse_duplicates=True)
