"""Turn pymilvus and gRPC failures into the library's exceptions, keeping the driver's error as the cause.

Classified by the driver's types and codes:
- a raw `grpc.RpcError` (pymilvus re-raises the codes it does not retry: UNAUTHENTICATED, PERMISSION_DENIED,
  DEADLINE_EXCEEDED, UNIMPLEMENTED, ...) by its `grpc.StatusCode`;
- a `MilvusException` whose `.code` is a `grpc.StatusCode` (pymilvus ran out of retries of an RPC, e.g.
  UNAVAILABLE while the server is down) the same way;
- any other `MilvusException` by its integer `.code`: pymilvus' own `ConnectError` code 2 (no server at the
  address), and the server's merr codes (Milvus >= 2.3: 100 collection not found, 101 not loaded, 200
  partition not found, 700 index not found, 1100 invalid parameter, 1400/1401 not authenticated/permitted),
  and the server's own `retriable` flag (Milvus >= 2.3 sets it on "not ready yet" answers).

Measured against Milvus 2.3.5 (tests/milvus/test_error_classification.py): a missing collection is 100,
an unloaded one 101, a missing partition 200, a closed port pymilvus' 2 (at connect). A filter that does
not parse or names an unknown field, and a vector of the wrong dimension, come back as 65535 (merr's
"undefined", not retriable) with nothing but the message to tell them apart from any other server
failure; only for that code are the messages looked at (`_FILTER_REFUSED`, `_DIMENSION_REFUSED`).
"""

from __future__ import annotations

import grpc
from pymilvus.exceptions import (
    CollectionNotExistException,
    ConnectError,
    DataNotMatchException,
    DataTypeNotMatchException,
    IndexNotExistException,
    MilvusException,
    MilvusUnavailableException,
    ParamError,
)

from vectorstack.errors import (
    AuthenticationError,
    CollectionNotFoundError,
    CollectionNotLoadedError,
    DimensionMismatchError,
    InvalidFilterError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    UnsupportedOperationError,
    VectorStackError,
)

# pymilvus' own code for "could not connect" (pymilvus.client.types.Status.CONNECT_FAILED), which is
# also merr's ErrServiceUnavailable; and merr's codes (milvus/pkg/util/merr) the library maps.
CONNECT_FAILED = 2
COLLECTION_NOT_FOUND = 100
COLLECTION_NOT_LOADED = 101
PARTITION_NOT_FOUND = 200
INDEX_NOT_FOUND = 700
PARAMETER_INVALID = 1100
NOT_AUTHENTICATED = 1400
NOT_PERMITTED = 1401
UNDEFINED = 65535  # merr's catch-all: what Milvus 2.3.5 answers a bad filter or a wrong dimension with

# gRPC statuses that mean the server was not there or did not answer in time: try again later.
_UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
# Only for UNDEFINED (see the module docstring): the prefixes Milvus 2.3.5's planner puts on a filter it
# could not parse or apply, and its proxy's check of a float vector's length.
_FILTER_REFUSED = ("cannot parse expression", "failed to create query plan", "failed to create expr plan")
_DIMENSION_REFUSED = ("should divide the dim",)
_HINT = "Check MILVUS_URI (or MILVUS_HOST/PORT)"


def _code_and_message(exc: BaseException) -> tuple[object, str]:
    """The driver's status (a grpc.StatusCode or an int) and text; (None, str) for anything else."""
    if isinstance(exc, MilvusException):
        return exc.code, str(exc.message)
    if isinstance(exc, grpc.RpcError) and callable(getattr(exc, "code", None)):  # grpc.Call, grpc.aio.AioRpcError
        return exc.code(), str(exc.details() or "")
    return None, str(exc)


def translate(
    exc: BaseException,
    operation: str,
    *,
    address: str,
    timeout: float,
    collection: str | None = None,
    filter_expr: str | None = None,
) -> VectorStackError:
    """The library error for a driver error; callers `raise translate(...) from exc`."""
    code, message = _code_and_message(exc)
    where = f"{operation} on {collection!r}"
    if isinstance(code, grpc.StatusCode):
        return _from_status(code, message, operation, address, timeout, where)
    if isinstance(exc, ConnectError | MilvusUnavailableException) or code == CONNECT_FAILED:
        return ServiceUnavailableError("milvus", address, timeout, message, _HINT)
    if isinstance(exc, CollectionNotExistException) or code == COLLECTION_NOT_FOUND:
        return CollectionNotFoundError(collection or "?")
    if code == COLLECTION_NOT_LOADED:
        return CollectionNotLoadedError(collection or "?")
    if isinstance(exc, IndexNotExistException) or code == INDEX_NOT_FOUND:
        return NotFoundError(f"{where}: no index ({message}); create one with create_index")
    if code == PARTITION_NOT_FOUND:
        return NotFoundError(f"{where}: {message}")
    if code == NOT_AUTHENTICATED:
        return _credentials_refused(address, message)
    if code == NOT_PERMITTED:
        return _not_permitted(where, message)
    if code == UNDEFINED and any(prefix in message for prefix in _FILTER_REFUSED):
        return InvalidFilterError(f"invalid filter {filter_expr!r} for {collection!r}: {message}")
    if code == UNDEFINED and any(prefix in message for prefix in _DIMENSION_REFUSED):
        return DimensionMismatchError(None, None, f"{where}: {message}")
    if (
        isinstance(exc, ParamError | DataNotMatchException | DataTypeNotMatchException)
        or code == PARAMETER_INVALID
        or getattr(exc, "is_input_error", False) is True  # pymilvus >= 3: the server's own judgement
    ):
        return _input_refused(where, message)
    if isinstance(exc, LookupError):  # the store found nothing where the server answered with nothing
        hint = "; create one with create_index" if "index" in operation else ""
        return NotFoundError(f"{where}: {message} not found{hint}")
    error = VectorStackError(f"milvus {where} failed (code {code}): {message}")
    # Milvus >= 2.3 marks the answers worth retrying (a node not ready yet, ...) in its status.
    error.transient = getattr(exc, "retriable", False) is True
    return error


def _from_status(
    code: grpc.StatusCode, message: str, operation: str, address: str, timeout: float, where: str
) -> VectorStackError:
    if code in _UNREACHABLE:
        return ServiceUnavailableError("milvus", address, timeout, f"{code.name}: {message}", _HINT)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return _credentials_refused(address, message)
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return _not_permitted(where, message)
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return UnsupportedOperationError(f"{operation} is not supported by the Milvus at {address}: {message}")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return _input_refused(where, message)
    return VectorStackError(f"milvus {where} failed ({code.name}): {message}")


# The same refusal comes as a merr code from the server or as a gRPC status from the channel: one message.
def _credentials_refused(address: str, message: str) -> AuthenticationError:
    return AuthenticationError(f"milvus at {address} refused the credentials: {message}; check MILVUS_TOKEN")


def _not_permitted(where: str, message: str) -> PermissionDeniedError:
    return PermissionDeniedError(f"{where}: not permitted for these credentials: {message}")


def _input_refused(where: str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{where} refused by Milvus: {message}")
