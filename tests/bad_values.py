"""Hypothesis strategies for values that are wrong whatever the call: the building blocks the generated
bad-input suites (tests/<service>/test_bad_inputs.py) compose, so each suite states only what is special
about its client."""

from __future__ import annotations

import math
import os
import uuid
from typing import Any

from hypothesis import strategies as st

NAN, INF = math.nan, math.inf

# Anything but a string (None, numbers, bytes, containers): what a str argument must refuse.
not_text: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=4),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
# Not a usable name or key: not a string, or the empty one.
not_key: st.SearchStrategy[Any] = st.one_of(not_text, st.just(""))
# Not True or False (0 and 1 included: a flag is a bool, not something truthy).
not_flag: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=3), st.lists(st.booleans(), max_size=1)
)
# Not a finite number of seconds > 0 (None left out: for some calls it means "no limit" and is valid).
not_positive_seconds: st.SearchStrategy[Any] = st.one_of(
    st.floats(max_value=0.0),
    st.integers(max_value=0),
    st.sampled_from([NAN, INF, -INF]),
    st.booleans(),
    st.text(max_size=3),
    st.lists(st.integers(), max_size=1),
)
# Not a finite number of seconds >= 0.
not_seconds: st.SearchStrategy[Any] = st.one_of(
    st.floats(max_value=-1e-9),
    st.integers(max_value=-1),
    st.sampled_from([NAN, INF, -INF]),
    st.booleans(),
    st.text(max_size=3),
)
# Not a whole number >= 1.
not_count: st.SearchStrategy[Any] = st.one_of(
    st.integers(max_value=0), st.floats(allow_nan=True), st.booleans(), st.text(max_size=3), st.none()
)
# Not finite real numbers.
not_finite_number: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([NAN, INF, -INF]),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
    st.complex_numbers(max_magnitude=2),
)
# Values JSON cannot hold as standard JSON: alone, or inside an otherwise fine object.
_unjsonable: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from([NAN, INF, -INF]),
    st.builds(object),
    st.frozensets(st.integers(), min_size=1, max_size=2),
    st.binary(min_size=1, max_size=4),
    st.complex_numbers(max_magnitude=2),
)
not_json: st.SearchStrategy[Any] = st.one_of(
    _unjsonable, st.dictionaries(st.text(max_size=3), _unjsonable, min_size=1, max_size=2)
)


def resource_name(prefix: str) -> str:
    """A name unique to this run, xdist worker and module (for module-scoped resources, which the
    function-scoped `unique_name` fixture cannot serve)."""
    run = os.environ.get("TESTSERVICES_RUN_ID", "local")[-6:].lower()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}-{run}-{worker}-{uuid.uuid4().hex[:6]}".replace("_", "-")
