"""Hypothesis strategies for arguments the Milvus client must refuse (used by test_bad_inputs.py).

Every value drawn here is invalid for the place it is passed to: if the client accepted one, the call
would either fail in the driver or change stored data, and the suite reports it. The records that carry
one bad part use keys from FRESH_KEYS upward, so a wrongly accepted write shows as a count change.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from hypothesis import strategies as st

DIM = 16
FIELDS = ("id", "vector", "category", "price")
FRESH_KEYS = 1000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")

# Not a Milvus name: the rule is a letter or _ first, then letters, digits and _, at most 255 characters.
bad_names = st.one_of(
    st.text(max_size=12).filter(lambda s: not _NAME.match(s)),
    st.sampled_from(["", "has space", "9lives", "a-b", "ü", "a" * 256, "x;drop", "a.b"]),
    st.integers(),
    st.none(),
    st.binary(max_size=4),
    st.lists(st.sampled_from(["a", "b"]), max_size=2),
)
# Unknown or unusable partition names: valid-looking but missing ones are the server's to refuse.
bad_partition_lists = st.one_of(
    st.sampled_from(["p1", "partition"]),  # one name, not a list: it would read as one-letter names
    st.lists(bad_names, min_size=1, max_size=2),
    st.integers(),
    st.dictionaries(st.text(max_size=2), st.integers(), min_size=1, max_size=1),
)


def _at(position: int, bad: float) -> list[float]:
    values = [0.5] * DIM
    values[position % DIM] = bad
    return values


bad_vectors = st.one_of(
    st.just(np.ones(DIM, dtype=np.complex64)),  # was cast to float32, the imaginary part dropped
    st.lists(
        st.complex_numbers(allow_nan=False, allow_infinity=False, max_magnitude=10).filter(lambda c: c.imag != 0),
        min_size=DIM,
        max_size=DIM,
    ),
    st.lists(st.floats(-1, 1, width=32), max_size=DIM * 2).filter(lambda v: len(v) != DIM),
    st.lists(st.text(max_size=2), min_size=DIM, max_size=DIM),
    st.lists(st.booleans(), min_size=DIM, max_size=DIM),
    st.builds(_at, st.integers(0, DIM - 1), st.sampled_from([math.nan, math.inf, -math.inf, 1e39])),
    st.sampled_from(
        [
            np.ones((2, DIM // 2)),  # 16 numbers, but no vector
            np.ones((DIM, 1)),
            np.ones(DIM, dtype=object),
            np.array(["1"] * DIM),
            [[0.0] * DIM, [0.0]],  # ragged
            None,
            "vector",
            7,
            {"x": 1.0},
        ]
    ),
)
# Vectors for search: the per-record ones, plus shapes only a batch of queries can have.
bad_query_vectors = st.one_of(
    bad_vectors.filter(lambda v: not (isinstance(v, np.ndarray) and v.shape == (DIM, 1))),
    st.sampled_from([np.zeros((0, DIM)), np.zeros((2, 2, DIM)), np.zeros((3, DIM - 1))]),
)
bad_int64_keys = st.one_of(
    st.booleans(),
    st.floats(),
    st.integers(min_value=2**63, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**63) - 1),
    st.text(max_size=4),
    st.none(),
    st.lists(st.integers(0, 5), max_size=2),
    st.binary(max_size=2),
    st.just(np.float32(1.0)),
)
# A list of keys with at least one bad key, or something that is no list of keys at all.
bad_key_lists = st.one_of(
    st.builds(
        lambda good, bad, at: [*good[:at], bad, *good[at:]],
        st.lists(st.integers(0, 19), max_size=3),
        bad_int64_keys,
        st.integers(0, 3),
    ),
    st.sampled_from(["0", b"1", {"id": 1}, 3, None, 2.0]),
)
bad_limits = st.one_of(
    st.integers(max_value=0),
    st.integers(min_value=16385),
    st.floats(),
    st.booleans(),
    st.text(max_size=3),
    st.sampled_from([[10], np.float64(5.0)]),
)
bad_batch_sizes = bad_limits
bad_filter_types = st.one_of(
    st.integers(), st.none(), st.binary(max_size=3), st.booleans(), st.lists(st.text(max_size=3), max_size=2)
)
# Strings the server's parser refuses (each costs a round trip: a short list).
unparsable_filters = st.sampled_from(["price >>> 3", "category == ", "id in [1, 2", "nope == 3", "((", "id == 'x"])
bad_output_fields = st.one_of(
    st.lists(st.text(min_size=1, max_size=8).filter(lambda s: s not in FIELDS and s != "*"), min_size=1, max_size=2),
    st.sampled_from(["id", "category", "*"]),  # one string, not a list
    st.lists(st.integers(), min_size=1, max_size=2),
    st.just({"id": True}),
)
# Every word some setting accepts: a "bad word" is none of them, wherever it is passed.
_VALID_WORDS = {
    *("Strong", "Bounded", "Session", "Eventually"),
    *("L2", "IP", "COSINE"),
    *("FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW", "AUTOINDEX"),
    *("int64", "int32", "int16", "int8", "float", "double", "bool", "varchar", "json"),
}
bad_consistency = st.one_of(
    st.text(max_size=8).filter(lambda s: s not in _VALID_WORDS),
    st.sampled_from(["strong", "STRONG", "cosine", "hnsw", "text", 0, True]),
)
bad_flags = st.one_of(st.integers(), st.text(max_size=3), st.none(), st.floats())
bad_seconds = st.one_of(
    st.floats(max_value=0), st.sampled_from([math.nan, math.inf, "1", True, None]), st.integers(max_value=0)
)


def good_rows(n: int, start: int = FRESH_KEYS) -> list[dict[str, Any]]:
    """Valid records under fresh keys: the good company a bad record is put in."""
    vectors = np.random.default_rng(start).random((n, DIM), dtype=np.float32)
    return [{"id": start + i, "vector": vectors[i], "category": "fresh", "price": 1.0} for i in range(n)]


def _replace(field: str, value: object) -> dict[str, Any]:
    return {**good_rows(1, FRESH_KEYS + 500)[0], field: value}


def _without(field: str) -> dict[str, Any]:
    row = good_rows(1, FRESH_KEYS + 600)[0]
    del row[field]
    return row


bad_rows = st.one_of(
    st.builds(_replace, st.just("id"), bad_int64_keys),
    st.builds(_replace, st.just("vector"), bad_vectors),
    st.builds(_without, st.sampled_from(FIELDS)),
    st.builds(lambda name: {**good_rows(1, FRESH_KEYS + 700)[0], name: 1}, st.sampled_from(["color", "extra", "_x"])),
    st.sampled_from([None, 1, "row", [1, 2], (0.5,) * DIM]),
)


def _among_good(before: int, bad: object, after: int) -> list[Any]:
    return [*good_rows(before), bad, *good_rows(after, FRESH_KEYS + 100)]


bad_record_lists = st.one_of(
    st.builds(_among_good, st.integers(0, 3), bad_rows, st.integers(0, 3)),
    st.builds(lambda n: [*good_rows(n), good_rows(1)[0]], st.integers(1, 3)),  # a key twice in one call
    st.sampled_from([None, "records", 5, b"x"]),
    st.just(good_rows(1)[0]),  # one record, not a list
)
