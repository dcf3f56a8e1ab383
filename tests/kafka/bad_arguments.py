"""Hypothesis strategies for invalid arguments of the Kafka clients, each one invalid by a rule the library
states (Kafka's topic-name rule, librdkafka's ranges, types): the generated suite calls every public
method with them and expects a refusal."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from vectorstack.config import KafkaConfig

OTHER_TYPES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.integers()),
)


def not_none(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy.filter(lambda value: value is not None)


_BAD_CHARS = st.characters(exclude_categories=["Cs"]).filter(
    lambda c: not (c.isascii() and (c.isalnum() or c in "._-"))
)

# Topic names Kafka refuses: empty, '.', '..', too long, a character outside [a-zA-Z0-9._-], or not a str.
bad_topic: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(["", ".", ".."]),
    st.text(alphabet="abc._-", min_size=250, max_size=300),
    st.tuples(st.text(alphabet="abc", max_size=5), _BAD_CHARS, st.text(alphabet="xyz", max_size=5)).map("".join),
    not_none(OTHER_TYPES),
)
bad_group: st.SearchStrategy[Any] = st.one_of(
    st.just(""),
    st.text(max_size=5).map(lambda s: f"g{s}\x00"),
    OTHER_TYPES.filter(lambda v: not isinstance(v, str)),
)


def bad_whole(minimum: int, maximum: int = 2**31 - 1, *, none_ok: bool = False) -> st.SearchStrategy[Any]:
    """Not a whole number in [minimum, maximum]: outside it, a bool, a float, a numeric string, ..."""
    kinds: list[st.SearchStrategy[Any]] = [
        st.integers(max_value=minimum - 1),
        st.integers(min_value=maximum + 1),
        st.booleans(),
        st.floats(allow_nan=True),
        st.integers(minimum, minimum + 10).map(str),
        st.binary(max_size=3),
        st.lists(st.integers(), max_size=2),
    ]
    if not none_ok:
        kinds.append(st.none())
    return st.one_of(*kinds)


bad_seconds: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 10.0**12, -0.5, -1]),
    st.floats(max_value=-1e-9, allow_nan=False),
    st.booleans(),
    st.text(alphabet="0123456789.", min_size=1, max_size=4),
    st.lists(st.floats(), max_size=1),
)
bad_flag: st.SearchStrategy[Any] = OTHER_TYPES.filter(lambda v: not isinstance(v, bool)) | st.sampled_from(
    ["true", "false", ""]
)
bad_callback: st.SearchStrategy[Any] = not_none(OTHER_TYPES) | st.text(max_size=3)


def bad_config(good: KafkaConfig) -> st.SearchStrategy[Any]:
    """Not a KafkaConfig (a KafkaConfig with a bad timeout cannot be built: tests/unit/test_config.py)."""
    return st.one_of(
        not_none(OTHER_TYPES),
        st.just({"bootstrap.servers": good.bootstrap_servers}),
    )


def bad_extra(managed: tuple[str, ...] = ()) -> st.SearchStrategy[Any]:
    """Not a mapping of librdkafka setting names to scalars, or a value librdkafka refuses, or a setting the
    library manages itself."""
    kinds: list[st.SearchStrategy[Any]] = [
        st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(), max_size=2)),
        st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=2),
        st.just({"": 1}),
        st.dictionaries(
            st.just("linger.ms"), st.one_of(st.none(), st.lists(st.integers()), st.just(math.nan)), min_size=1
        ),
        st.dictionaries(st.just("socket.timeout.ms"), st.integers(max_value=-1), min_size=1),
        st.dictionaries(st.just("no.such.librdkafka.setting"), st.integers(), min_size=1),
    ]
    if managed:
        kinds.append(st.dictionaries(st.sampled_from(managed), st.one_of(st.just(""), st.booleans()), min_size=1))
    return st.one_of(*kinds)


# One message that breaks the (key, value, headers) contract.
_bad_part: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=4), st.integers(), st.lists(st.binary(max_size=2), max_size=2)
)
bad_message: st.SearchStrategy[Any] = st.one_of(
    st.tuples(_bad_part, st.binary(max_size=4), st.none()),
    st.tuples(st.binary(max_size=4), _bad_part, st.none()),
    st.tuples(
        st.binary(max_size=4),
        st.binary(max_size=4),
        st.one_of(st.text(max_size=3), st.integers(), st.just({"a": b"b"})),
    ),
    st.tuples(
        st.binary(max_size=4),
        st.binary(max_size=4),
        st.lists(st.tuples(st.integers(), st.binary()), min_size=1, max_size=2),
    ),
    st.tuples(
        st.binary(max_size=4),
        st.binary(max_size=4),
        st.lists(st.tuples(st.text(max_size=3), st.text(max_size=3)), min_size=1, max_size=2),
    ),
    st.tuples(st.binary(max_size=4), st.binary(max_size=4)),
    st.binary(max_size=4),
    st.none(),
)
good_message = st.tuples(st.binary(min_size=1, max_size=6), st.binary(max_size=6), st.none())
# A batch with at least one bad message somewhere among good ones (so a half-sent batch would show), or
# not a batch at all.
bad_messages: st.SearchStrategy[Any] = st.one_of(
    st.tuples(st.lists(good_message, max_size=3), bad_message, st.lists(good_message, max_size=3)).map(
        lambda parts: [*parts[0], parts[1], *parts[2]]
    ),
    st.one_of(st.integers(), st.text(max_size=3), st.binary(max_size=3), st.just({b"k": b"v"})),
)
bad_timestamps: st.SearchStrategy[Any] = st.one_of(
    st.lists(
        st.one_of(st.integers(max_value=-1), st.booleans(), st.floats(), st.text(max_size=2)), min_size=1, max_size=2
    ),
    st.integers(),
    st.text(min_size=1, max_size=3),
    st.lists(st.integers(0, 10**12), min_size=3, max_size=4),  # more timestamps than the 2 messages sent
)
bad_topic_config: st.SearchStrategy[Any] = st.one_of(
    st.dictionaries(
        st.just("retention.ms"), st.one_of(st.integers(), st.floats(), st.booleans(), st.none()), min_size=1
    ),
    st.dictionaries(st.integers(), st.text(max_size=3), min_size=1, max_size=1),
    st.just({"": "1"}),
    st.one_of(st.integers(), st.text(min_size=1, max_size=3), st.lists(st.text(max_size=2), min_size=1, max_size=2)),
    st.just({"cleanup.policy": "no-such-policy"}),
    st.just({"no.such.topic.setting": "1"}),
    st.just({"retention.ms": "soon"}),
)


def bad_vectors() -> st.SearchStrategy[Any]:
    """Vectors VectorRecord.of refuses: NaN or infinity, empty, 2-D, complex, text, None."""
    return st.one_of(
        st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), max_size=3).map(
            lambda v: [*v, st_nan_or_inf(len(v))]
        ),
        st.just([]),
        st.just([[1.0, 2.0], [3.0, 4.0]]),
        st.lists(
            st.complex_numbers(allow_nan=False, allow_infinity=False).filter(lambda c: c.imag != 0),
            min_size=1,
            max_size=3,
        ),
        st.lists(st.text(max_size=3), min_size=1, max_size=3),
        st.lists(st.booleans(), min_size=1, max_size=3),
        st.just(None),
        st.just([1e300]),
    )


def st_nan_or_inf(n: int) -> float:
    return (math.nan, math.inf, -math.inf)[n % 3]


bad_record_id: st.SearchStrategy[Any] = st.one_of(
    st.just(""), st.booleans(), st.floats(), st.none(), st.binary(max_size=3), st.lists(st.integers(), max_size=2)
)
