"""The Milvus client's input contract, checked before anything is sent: each check states the rule it holds.

Milvus answers most bad arguments with its catch-all code 65535 and nothing but a message to tell one
refusal from another (see errors.py), so whatever the client can know is checked here and refused with
the library's specific class: names by Milvus' own rule, limits and batch sizes as whole numbers in the
server's range (not bools, not floats), filters as strings, output fields and primary keys against the
collection's schema. `ids_filter` writes the primary-key expression the store sends for get and delete
(quoted properly, unlike the driver's, which breaks on a key with a quote in it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, get_args

import numpy as np

from vectorstack.errors import InvalidFilterError, InvalidInputError
from vectorstack.milvus.schema import Consistency, check_name

if TYPE_CHECKING:
    from vectorstack.milvus.records import CollectionInfo

# Milvus' range for a search's top-k, a query's limit and an iterator's batch.
MAX_LIMIT = 16384
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
CONSISTENCY: tuple[str, ...] = get_args(Consistency)
# Names the server accepts in output_fields besides the declared fields.
_ALL_FIELDS = "*"


def whole_number(value: object, what: str, low: int, high: int) -> int:
    """A whole number in [low, high]; bools and floats are refused (True is 1 to Python, not to a caller)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise InvalidInputError(f"{what} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def check_limit(limit: object, what: str = "limit") -> int:
    return whole_number(limit, what, 1, MAX_LIMIT)


def check_flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{what} must be True or False, got {value!r}")
    return value


def check_seconds(value: object, what: str) -> float:
    """A positive, finite number of seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)


def check_consistency(value: object) -> None:
    if value is not None and value not in CONSISTENCY:
        raise InvalidInputError(f"consistency must be one of {', '.join(CONSISTENCY)} (or None), got {value!r}")


def check_filter(expression: object, what: str = "filter") -> str:
    """A filter is an expression string ("" for none); anything else is refused as an invalid filter."""
    if not isinstance(expression, str):
        raise InvalidFilterError(
            f"{what} must be an expression string such as 'price > 3' ('' for none), got {type(expression).__name__}"
        )
    return expression


def _name_list(values: object, what: str) -> list[Any]:
    """A list of names, refusing one bare string (it would be read as a list of one-letter names)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence):
        raise InvalidInputError(f"{what} must be a list of names, got {values!r}")
    return list(values)


def check_partitions(partitions: object) -> list[str]:
    if partitions is None:
        return []
    return [check_name("partition", name) for name in _name_list(partitions, "partitions")]


def check_output_fields(info: CollectionInfo, fields: object, default: Sequence[str]) -> list[str]:
    """Declared fields (or '*'); with dynamic fields any well-formed name, since it may be a dynamic key."""
    if fields is None:
        return list(default)
    names = _name_list(fields, "output_fields")
    for name in names:
        if name == _ALL_FIELDS or (isinstance(name, str) and name in info.fields):
            continue
        if info.dynamic_fields and isinstance(name, str):
            check_name("output field", name)
            continue
        raise InvalidInputError(
            f"output field {name!r} is not a field of {info.name!r}; use one of {', '.join(info.fields)} or '*'"
        )
    return names


def check_id(info: CollectionInfo, value: object, where: str) -> None:
    """A primary key of the collection's type: an int64 key a whole number in range (not a bool or float),
    a varchar key a string of at most `id_max_length` bytes."""
    if info.id_type == "varchar":
        if not isinstance(value, str):
            raise InvalidInputError(f"{where}: primary key {value!r} of {info.name!r} must be a string (varchar)")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise InvalidInputError(f"{where}: primary key {value!r} of {info.name!r} is not valid UTF-8 text") from exc
        if size > info.id_max_length:
            raise InvalidInputError(
                f"{where}: primary key of {info.name!r} is {size} bytes, over its max_length {info.id_max_length}"
            )
        return
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not INT64_MIN <= value <= INT64_MAX:
        raise InvalidInputError(
            f"{where}: primary key {value!r} of {info.name!r} must be a whole number in the int64 range "
            f"({INT64_MIN} to {INT64_MAX}), not {type(value).__name__}"
        )


def check_ids(info: CollectionInfo, ids: object) -> list[Any]:
    """A list of primary keys, each checked; one key alone (not in a list) is refused, as is a string."""
    if isinstance(ids, str | bytes | Mapping) or not isinstance(ids, Sequence | np.ndarray):
        raise InvalidInputError(f"ids must be a list of primary keys, got {ids!r}")
    keys = list(ids)
    for position, key in enumerate(keys):
        check_id(info, key, f"ids[{position}]")
    return keys


def ids_filter(info: CollectionInfo, ids: Sequence[Any]) -> str:
    """`pk in [...]` for checked keys; strings as JSON literals, which Milvus' parser reads with escapes."""
    if info.id_type == "varchar":
        literals = ",".join(json.dumps(key, ensure_ascii=False) for key in ids)
    else:
        literals = ",".join(str(int(key)) for key in ids)
    return f"{info.primary_key} in [{literals}]"
