"""Turn pymilvus and gRPC failures into the library's exceptions, keeping the driver's error as the cause."""

from __future__ import annotations

from vectorstack.errors import (
    CollectionNotFoundError,
    CollectionNotLoadedError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    NotFoundError,
    ServiceUnavailableError,
    UnsupportedOperationError,
    VectorStackError,
)

# Milvus status codes (milvus/pkg/util/merr) that the library maps to its own types.
COLLECTION_NOT_FOUND = 100
COLLECTION_NOT_LOADED = 101
PARTITION_NOT_FOUND = 200
INDEX_NOT_FOUND = 700
CONNECT_FAILED = 2  # pymilvus' own code for "could not connect"
_UNAVAILABLE_HINTS = ("fail connecting", "unavailable", "connection refused", "deadline exceeded", "failed to connect")


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the server could not be reached or dropped the call, not a refusal of the request."""
    if exc.__class__.__name__ == "MilvusUnavailableException":
        return True
    code = getattr(exc, "code", None)
    message = str(getattr(exc, "message", exc)).lower()
    if code == CONNECT_FAILED:
        return True
    return any(hint in message for hint in _UNAVAILABLE_HINTS) and "not found" not in message


def translate(
    exc: Exception,
    operation: str,
    *,
    address: str,
    timeout: float,
    collection: str | None = None,
    filter_expr: str | None = None,
) -> VectorStackError:
    """The library error for a driver error; callers `raise translate(...) from exc`."""
    code = getattr(exc, "code", None)
    if callable(code):  # a raw grpc.RpcError: code() is its status
        code = getattr(code(), "name", code())
        message = str(getattr(exc, "details", lambda: exc)())
    else:
        message = str(getattr(exc, "message", "") or exc)
    lowered = message.lower()
    if code == "UNIMPLEMENTED":
        return UnsupportedOperationError(f"{operation} is not supported by the Milvus at {address}: {message}")
    if is_transient(exc):
        return ServiceUnavailableError("milvus", address, timeout, message, "Check MILVUS_URI (or MILVUS_HOST/PORT)")
    if code == COLLECTION_NOT_FOUND or "collection not found" in lowered or "can't find collection" in lowered:
        return CollectionNotFoundError(collection or "?")
    if code == COLLECTION_NOT_LOADED or "not loaded" in lowered:
        return CollectionNotLoadedError(collection or "?")
    if code == PARTITION_NOT_FOUND or "partition not found" in lowered:
        return NotFoundError(f"{operation} on {collection!r}: {message}")
    if code == INDEX_NOT_FOUND or "index not found" in lowered or "index doesn't exist" in lowered:
        return NotFoundError(f"{operation} on {collection!r}: no index ({message}); create one with create_index")
    parse_failure = any(hint in lowered for hint in ("at column", "unexpected token", "unexpected end of expression"))
    if (
        "cannot parse expression" in lowered
        or "failed to create query plan" in lowered
        or (filter_expr and parse_failure)
    ):
        return InvalidFilterError(f"invalid filter {filter_expr!r} for {collection!r}: {message}")
    if "dimension mismatch" in lowered or "should divide the dim" in lowered:
        return DimensionMismatchError(None, None, f"{operation} on {collection!r}: {message}")
    if code == 1100 or "invalid parameter" in lowered or "exceeds max" in lowered:
        return InvalidInputError(f"{operation} on {collection!r} refused by Milvus: {message}")
    return VectorStackError(f"milvus {operation} on {collection!r} failed (code {code}): {message}")
