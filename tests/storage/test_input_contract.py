"""Issue 16, the S3 items: bad input refused before a request is sent, credentials blamed on the right
setting, and a sink that never holds bytes that failed their checksum."""

from __future__ import annotations

import io

import pytest

from vectorstack.config import S3Config
from vectorstack.errors import AuthenticationError, CorruptValueError, InvalidInputError
from vectorstack.storage import LifecycleRule, ObjectStore
from vectorstack.storage.models import CHECKSUM_KEY

pytestmark = [pytest.mark.integration, pytest.mark.storage]


def test_put_bytes_of_text_is_refused_with_how_to_encode_it(objects: ObjectStore, bucket: str) -> None:
    with pytest.raises(InvalidInputError, match=r"takes bytes, got str; encode the text first"):
        objects.put_bytes(bucket, "t", "some text")  # type: ignore[arg-type]
    assert objects.list_objects(bucket) == []


@pytest.mark.parametrize("metadata", [{"n": 1}, {"n": None}, {"": "v"}, {"ok": "café"}, {CHECKSUM_KEY: "x"}])
def test_metadata_that_cannot_be_a_header_is_refused(
    objects: ObjectStore, bucket: str, metadata: dict[str, object]
) -> None:
    with pytest.raises(InvalidInputError, match="metadata"):
        objects.put_bytes(bucket, "m", b"data", metadata=metadata)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="metadata"):
        objects.upload_stream(bucket, "m", io.BytesIO(b"data"), metadata=metadata)  # type: ignore[arg-type]
    assert objects.list_objects(bucket) == []


def test_a_wrong_access_key_is_not_blamed_on_the_secret(s3_config: S3Config, bucket: str) -> None:
    wrong_key = ObjectStore(S3Config(s3_config.endpoint_url, "NOSUCHKEY", s3_config.secret_key, s3_config.region))
    with pytest.raises(AuthenticationError, match=r"InvalidAccessKeyId.*check AWS_ACCESS_KEY_ID") as info:
        wrong_key.list_objects(bucket)
    assert "SECRET" not in str(info.value)
    wrong_secret = ObjectStore(S3Config(s3_config.endpoint_url, s3_config.access_key, "wrong", s3_config.region))
    with pytest.raises(AuthenticationError, match=r"SignatureDoesNotMatch.*check AWS_SECRET_ACCESS_KEY"):
        wrong_secret.list_objects(bucket)


@pytest.mark.parametrize("expires", [-1, 0, 7 * 24 * 3600 + 1, 2.5, True, "60"])
def test_presigned_url_expiry_outside_1s_to_7_days_is_refused(
    objects: ObjectStore, bucket: str, expires: object
) -> None:
    with pytest.raises(InvalidInputError, match="expires must be a whole number of seconds from 1 to 604800"):
        objects.presigned_url(bucket, "k", expires=expires)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rule",
    [
        LifecycleRule("r", "tmp/", expire_days=0),
        LifecycleRule("r", "tmp/", expire_days=-3),
        LifecycleRule("r", "tmp/", abort_incomplete_uploads_days=0),
        LifecycleRule("r", "tmp/", expire_days=1.5),  # type: ignore[arg-type]
        LifecycleRule("r", "tmp/"),
        LifecycleRule("", "tmp/", expire_days=1),
    ],
)
def test_lifecycle_rules_with_zero_or_negative_days_are_refused_and_the_old_rules_kept(
    objects: ObjectStore, bucket: str, rule: LifecycleRule
) -> None:
    objects.set_lifecycle(bucket, [LifecycleRule("keep", "logs/", expire_days=30)])
    with pytest.raises(InvalidInputError, match="rule"):
        objects.set_lifecycle(bucket, [LifecycleRule("fine", "a/", expire_days=2), rule])
    assert [(r.id, r.expire_days) for r in objects.lifecycle(bucket)] == [("keep", 30)]


def test_a_sink_never_receives_bytes_that_failed_their_checksum(objects: ObjectStore, bucket: str) -> None:
    objects.put_bytes(bucket, "k", b"original")
    stored = objects.client.head_object(Bucket=bucket, Key="k")["Metadata"][CHECKSUM_KEY]
    objects.client.put_object(Bucket=bucket, Key="k", Body=b"tampered", Metadata={CHECKSUM_KEY: stored})
    sink = io.BytesIO()
    with pytest.raises(CorruptValueError, match="nothing was written to the sink"):
        objects.download_stream(bucket, "k", sink)
    assert sink.getvalue() == b"", "the damaged bytes reached the caller's sink"
    objects.put_bytes(bucket, "k", b"original")
    assert objects.download_stream(bucket, "k", sink) == 8
    assert sink.getvalue() == b"original"


def test_delete_many_checks_every_key_before_deleting_any(objects: ObjectStore, bucket: str) -> None:
    for key in ("a", "b", "c"):
        objects.put_bytes(bucket, key, b"x")
    with pytest.raises(InvalidInputError, match="object key"):
        objects.delete_many(bucket, ["a", "b", ""])
    with pytest.raises(InvalidInputError, match="key or a \\(key, version_id\\) pair"):
        objects.delete_many(bucket, ["a", 7])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match="list of keys"):
        objects.delete_many(bucket, "abc")
    assert [o.key for o in objects.list_objects(bucket)] == ["a", "b", "c"]


@pytest.mark.parametrize("name", ["ab", "UPPER", "has_underscore", "-dash", "a..b", "10.0.0.1", "x" * 64, 5])
def test_bucket_names_against_s3_rules_are_refused_before_sending(objects: ObjectStore, name: object) -> None:
    with pytest.raises(InvalidInputError, match="S3's naming rules"):
        objects.create_bucket(name)  # type: ignore[arg-type]
