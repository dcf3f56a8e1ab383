"""The exception hierarchy and its messages: what was wrong, and what to do next."""

from __future__ import annotations

import pytest

from vectorstack import errors
from vectorstack.errors import (
    AuthenticationError,
    BatchWriteError,
    CorruptValueError,
    DimensionMismatchError,
    FailedBatch,
    InvalidInputError,
    LockNotOwnedError,
    LockTimeoutError,
    NotFoundError,
    RateLimitExceededError,
    ServerError,
    ServiceUnavailableError,
    ValueTooLargeError,
    VectorStackError,
)


def test_every_library_error_is_a_vectorstack_error() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert len(classes) > 10
    for cls in classes:
        assert issubclass(cls, VectorStackError), cls


def test_familiar_builtin_bases_let_generic_handlers_work() -> None:
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(DimensionMismatchError, InvalidInputError)
    assert issubclass(ValueTooLargeError, InvalidInputError)
    assert issubclass(NotFoundError, LookupError)
    assert issubclass(LockTimeoutError, TimeoutError)
    for cls in (ServiceUnavailableError, AuthenticationError, CorruptValueError, ServerError, LockNotOwnedError):
        assert not issubclass(cls, InvalidInputError), f"{cls.__name__} is not the caller's bad argument"


def test_service_unavailable_says_where_how_long_why_and_what_to_check() -> None:
    cause = ConnectionRefusedError(111, "Connection refused")
    error = ServiceUnavailableError("redis", "127.0.0.1:6390", 2.0, cause, "Check REDIS_HOST/REDIS_PORT")
    text = str(error)
    assert text.startswith("redis at 127.0.0.1:6390 unreachable after 2 s: ")
    assert "Connection refused" in text
    assert text.endswith("Check REDIS_HOST/REDIS_PORT")
    assert (error.service, error.address, error.timeout_s) == ("redis", "127.0.0.1:6390", 2.0)
    assert "Is the server running" in str(ServiceUnavailableError("redis", "h:1", 0.5))


def test_dimension_mismatch_carries_both_sizes() -> None:
    error = DimensionMismatchError(768, 384, "value for 'doc:1'")
    assert (error.expected, error.got) == (768, 384)
    assert "(value for 'doc:1'): expected 768, got 384" in str(error)
    assert "embedding model" in str(error)
    assert str(DimensionMismatchError(None, None, "insert")) == "vector dimension mismatch (insert)"


def test_value_too_large_names_size_and_limit() -> None:
    error = ValueTooLargeError("array for 'k'", 4096, 1024)
    assert (error.size, error.limit) == (4096, 1024)
    assert "4,096 bytes, over the limit of 1,024 bytes" in str(error)
    assert "raise the configured limit" in str(error)
    assert str(ValueTooLargeError("m", 2, 1, "shrink it")).endswith("; shrink it")


def test_rate_limit_error_says_when_to_retry() -> None:
    error = RateLimitExceededError("api/user-1", 5, 30.0, 1.234)
    assert (error.key, error.limit, error.window_s, error.retry_after) == ("api/user-1", 5, 30.0, 1.234)
    assert "5 per 30 s; retry in 1.23 s" in str(error)


def test_batch_write_error_lists_failed_records_and_keys() -> None:
    failed = [FailedBatch(i, i, f"k{i}: NOPERM") for i in range(7)]
    error = BatchWriteError("VectorCache.set_many", 3, failed, failed_keys=[f"k{i}" for i in range(7)])
    assert error.written == 3
    assert error.failed_keys == [f"k{i}" for i in range(7)]
    assert "3 records written, 7 batches failed: records 0-0: k0: NOPERM" in str(error)
    assert "(and 2 more batches)" in str(error)
    assert BatchWriteError("op", 0, []).failed_keys == []


def _fail_to_connect(cause: OSError) -> None:
    try:
        raise cause
    except OSError as exc:
        raise ServiceUnavailableError("redis", "h:1", 1.0, exc) from exc


def test_raising_from_a_cause_keeps_it() -> None:
    cause = OSError("socket closed")
    with pytest.raises(ServiceUnavailableError) as info:
        _fail_to_connect(cause)
    assert info.value.__cause__ is cause
