"""botocore errors as the library's exceptions."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
)

from vectorstack.errors import (
    AlreadyExistsError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    VectorStackError,
)

# Which setting each credentials refusal points at, by the S3 error code: a wrong access key id is not a
# wrong secret (InvalidAccessKeyId is answered before the signature is even checked).
_AUTH = {
    "InvalidAccessKeyId": "the access key id is unknown to the server; check AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "the signature does not match the access key; check AWS_SECRET_ACCESS_KEY",
    "InvalidToken": "the session token is invalid; check AWS_SESSION_TOKEN",
    "ExpiredToken": "the session token has expired; renew the credentials (AWS_SESSION_TOKEN)",
    "AuthorizationHeaderMalformed": "the request was signed for another region; check AWS_DEFAULT_REGION",
}


def translate(
    exc: Exception, operation: str, *, address: str, timeout: float, bucket: str = "", key: str = ""
) -> VectorStackError:
    where = f"{bucket}/{key}" if key else bucket
    if isinstance(exc, EndpointConnectionError):
        return ServiceUnavailableError("s3", address, timeout, exc, "Is the server running? Check S3_ENDPOINT_URL")
    if isinstance(exc, ParamValidationError):
        return InvalidInputError(f"{operation} on {where}: {exc}")
    if isinstance(exc, NoCredentialsError):
        return AuthenticationError("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _AUTH:
            return AuthenticationError(f"S3 at {address} refused the credentials ({code}): {_AUTH[code]}")
        if code in ("AccessDenied", "AllAccessDisabled") or status == 403:
            return PermissionDeniedError(f"{operation} on {where}: access denied ({code})")
        if code == "NoSuchBucket" or (code in ("404", "NotFound") and not key):
            return NotFoundError(f"bucket {bucket!r} does not exist; create it first (ObjectStore.create_bucket)")
        if code in ("NoSuchKey", "404", "NotFound", "NoSuchVersion"):
            return NotFoundError(f"object {where!r} does not exist")
        if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            return AlreadyExistsError(f"bucket {bucket!r} exists already; pass exist_ok=True to accept it")
        if code == "BucketNotEmpty":
            return InvalidInputError(f"bucket {bucket!r} is not empty: delete its objects first, or pass force=True")
        if code in ("InvalidBucketName", "InvalidArgument", "MalformedXML", "EntityTooSmall", "InvalidPart"):
            return InvalidInputError(f"{operation} on {where} refused: {code}: {error.get('Message', '')}")
        return VectorStackError(f"S3 {operation} on {where} failed: {code or status}: {error.get('Message', exc)}")
    if isinstance(exc, BotoCoreError):
        return ServiceUnavailableError("s3", address, timeout, exc)
    return VectorStackError(f"S3 {operation} on {where} failed: {exc}")
