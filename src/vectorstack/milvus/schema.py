"""Declared collection schemas and index specs: plain data, validated before anything reaches the server."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, get_args

from vectorstack.errors import InvalidInputError

Metric = Literal["L2", "IP", "COSINE"]
FieldType = Literal["int64", "int32", "int16", "int8", "float", "double", "bool", "varchar", "json"]
IndexType = Literal["FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "HNSW", "AUTOINDEX"]
Consistency = Literal["Strong", "Bounded", "Session", "Eventually"]
# The values the Literals above allow, for the checks at run time (one list each, never retyped).
METRICS: tuple[str, ...] = get_args(Metric)
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
INDEX_TYPES: tuple[str, ...] = get_args(IndexType)

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
# Defaults that give good recall at modest cost; callers override per index.
DEFAULT_INDEX_PARAMS: Mapping[str, Mapping[str, Any]] = {
    "FLAT": {},
    "IVF_FLAT": {"nlist": 128},
    "IVF_SQ8": {"nlist": 128},
    "IVF_PQ": {"nlist": 128, "m": 8},
    "HNSW": {"M": 16, "efConstruction": 200},
    "AUTOINDEX": {},
}
DEFAULT_SEARCH_PARAMS: Mapping[str, Mapping[str, Any]] = {
    "FLAT": {},
    "IVF_FLAT": {"nprobe": 16},
    "IVF_SQ8": {"nprobe": 16},
    "IVF_PQ": {"nprobe": 16},
    "HNSW": {"ef": 64},
    "AUTOINDEX": {},
}


# Milvus 2.3's ranges for the build parameters of the index types above.
_PARAM_RANGES: Mapping[str, tuple[int, int]] = {
    "nlist": (1, 65536),
    "m": (1, 65536),
    "nbits": (1, 16),
    "M": (2, 2048),
    "efConstruction": (1, 2**31 - 1),
}


def _whole(value: object) -> TypeGuard[int]:
    """A whole number and not a bool (True is an int to Python, not a size to Milvus)."""
    return isinstance(value, int) and not isinstance(value, bool)


def check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"invalid {kind} name {name!r}: use letters, digits and underscores, starting with a letter or _"
        )
    return name


@dataclass(frozen=True)
class FieldSpec:
    """A typed metadata field. `max_length` is required for varchar (bytes)."""

    name: str
    type: FieldType
    max_length: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        check_name("field", self.name)
        if self.type not in FIELD_TYPES:
            raise InvalidInputError(
                f"field {self.name!r} has unknown type {self.type!r}; use one of {', '.join(FIELD_TYPES)}"
            )
        if self.type == "varchar" and not (_whole(self.max_length) and 1 <= self.max_length <= 65535):
            raise InvalidInputError(
                f"varchar field {self.name!r} needs max_length, a whole number from 1 to 65535, got {self.max_length!r}"
            )


@dataclass(frozen=True)
class IndexSpec:
    type: IndexType = "HNSW"
    metric: Metric | None = None  # None: the collection's metric
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Checked here, before create_collection makes anything: an index the server refuses would
        # otherwise leave a collection without its index behind.
        if self.type not in INDEX_TYPES:
            raise InvalidInputError(
                f"unknown index type {self.type!r}; use one of {', '.join(INDEX_TYPES)} (upper case)"
            )
        if self.metric is not None and self.metric not in METRICS:
            raise InvalidInputError(
                f"unknown metric {self.metric!r}; use L2, IP or COSINE (upper case), or None for the collection's"
            )
        if not isinstance(self.params, Mapping):
            raise InvalidInputError(f"index params must be a mapping of name to value, got {self.params!r}")
        for name, (low, high) in _PARAM_RANGES.items():
            if name in self.params:
                value = self.params[name]
                if not (_whole(value) and low <= value <= high):
                    raise InvalidInputError(
                        f"{self.type} index parameter {name} must be a whole number from {low} to {high}, got {value!r}"
                    )

    def build_params(self) -> dict[str, Any]:
        return {**DEFAULT_INDEX_PARAMS.get(self.type, {}), **self.params}


@dataclass(frozen=True)
class CollectionSchema:
    """What a collection holds: a primary key, one float vector of `dimension`, typed metadata fields.

    `dynamic_fields=True` also stores keys that are not declared (as Milvus' dynamic JSON field).
    """

    dimension: int
    metric: Metric = "COSINE"
    primary_key: str = "id"
    id_type: Literal["int64", "varchar"] = "int64"
    id_max_length: int = 64
    vector_field: str = "vector"
    fields: tuple[FieldSpec, ...] = ()
    dynamic_fields: bool = False
    auto_id: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not _whole(self.dimension) or not 1 <= self.dimension <= 32768:
            raise InvalidInputError(f"dimension must be a whole number from 1 to 32768, got {self.dimension!r}")
        if self.metric not in METRICS:
            raise InvalidInputError(f"metric must be L2, IP or COSINE, got {self.metric!r}")
        if self.id_type not in ("int64", "varchar"):
            raise InvalidInputError(f"id_type must be 'int64' or 'varchar', got {self.id_type!r}")
        if not (_whole(self.id_max_length) and 1 <= self.id_max_length <= 65535):
            raise InvalidInputError(
                f"id_max_length must be a whole number from 1 to 65535 (bytes), got {self.id_max_length!r}"
            )
        for flag in ("dynamic_fields", "auto_id"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidInputError(f"{flag} must be True or False, got {getattr(self, flag)!r}")
        if not isinstance(self.description, str):
            raise InvalidInputError(f"description must be a string, got {self.description!r}")
        if not isinstance(self.fields, tuple | list) or not all(isinstance(f, FieldSpec) for f in self.fields):
            raise InvalidInputError(f"fields must be a tuple of FieldSpec, got {self.fields!r}")
        names = [self.primary_key, self.vector_field, *(f.name for f in self.fields)]
        for name in names:
            check_name("field", name)
        if len(set(names)) != len(names):
            raise InvalidInputError(f"field names must be unique, got {names}")
