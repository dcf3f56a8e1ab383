"""S3 settings and error mapping, without a server."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from vectorstack.config import S3Config
from vectorstack.errors import (
    AlreadyExistsError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
)
from vectorstack.storage.errors import translate


def test_s3_settings_from_variables() -> None:
    config = S3Config.from_env(
        {
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AWS_ACCESS_KEY_ID": "id",
            "AWS_SECRET_ACCESS_KEY": "topsecret",
            "AWS_REGION": "eu-west-1",
        }
    )
    assert (config.endpoint_url, config.access_key, config.region) == ("http://127.0.0.1:9000", "id", "eu-west-1")
    assert "topsecret" not in repr(config)
    assert S3Config.from_env({}).address == "s3.us-east-1.amazonaws.com"
    with pytest.raises(InvalidInputError, match="needs a scheme"):
        S3Config.from_env({"S3_ENDPOINT_URL": "localhost:9000"})


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize(
    ("error", "key", "expected"),
    [
        (client_error("NoSuchBucket", 404), "k", NotFoundError),
        (client_error("NoSuchKey", 404), "k", NotFoundError),
        (client_error("404", 404), "", NotFoundError),
        (client_error("SignatureDoesNotMatch", 403), "", AuthenticationError),
        (client_error("AccessDenied", 403), "k", PermissionDeniedError),
        (client_error("BucketAlreadyOwnedByYou", 409), "", AlreadyExistsError),
        (client_error("BucketNotEmpty", 409), "", InvalidInputError),
        (EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "", ServiceUnavailableError),
    ],
)
def test_s3_errors_become_library_errors(error: Exception, key: str, expected: type[Exception]) -> None:
    assert isinstance(translate(error, "get", address="a", timeout=1, bucket="b", key=key), expected)
