"""Generated bad input for every public call of `ObjectStore` (issue 16): each example must be refused with
a library error, in time, and leave the bucket's objects exactly as they were.

One bucket per module and worker, seeded with objects (with metadata), an array and a lifecycle rule. After
every refusal the listing (keys, sizes, ETags) is compared with the seed; after each test the contents,
metadata, lifecycle rules and unfinished uploads are read back too. The bucket is deleted at the end.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.bad_input import BAD_INPUT_SETTINGS, Refusals
from tests.bad_values import not_count, not_flag, not_key, not_text, resource_name
from vectorstack.config import S3Config
from vectorstack.storage import LifecycleRule, ObjectInfo, ObjectStore

pytestmark = [pytest.mark.integration, pytest.mark.storage]

OBJECTS = {"a.txt": b"alpha", "dir/b.bin": bytes(range(256))}
METADATA = {"owner": "tests"}
RULE = LifecycleRule("keep", "logs/", expire_days=30)
ARRAY = np.arange(12, dtype=np.float32).reshape(3, 4)


@dataclass
class Seeded:
    objects: ObjectStore
    bucket: str
    listing: list[ObjectInfo] = field(default_factory=list)

    def assert_unchanged(self) -> None:
        """One listing request: cheap enough to run after every refusal."""
        assert self.objects.list_objects(self.bucket) == self.listing, "a refused call changed the bucket"

    def assert_readable_as_seeded(self) -> None:
        for key, data in OBJECTS.items():
            assert self.objects.get_bytes(self.bucket, key) == data
            assert self.objects.client.head_object(Bucket=self.bucket, Key=key)["Metadata"]["owner"] == "tests"
        np.testing.assert_array_equal(self.objects.get_array(self.bucket, "arr"), ARRAY)
        assert self.objects.lifecycle(self.bucket) == [RULE]
        assert self.objects.incomplete_uploads(self.bucket) == []


@pytest.fixture(scope="module")
def seeded(s3_config: S3Config) -> Iterator[Seeded]:
    objects = ObjectStore(s3_config)
    bucket = resource_name("badin")
    objects.create_bucket(bucket)
    try:
        for key, data in OBJECTS.items():
            objects.put_bytes(bucket, key, data, metadata=METADATA)
        objects.put_array(bucket, "arr", ARRAY)
        objects.set_lifecycle(bucket, [RULE])
        seeded = Seeded(objects, bucket)
        seeded.listing = objects.list_objects(bucket)
        assert len(seeded.listing) == 3
        yield seeded
    finally:
        objects.delete_bucket(bucket, force=True, missing_ok=True)


Check = Callable[[Callable[[], object], str], None]


@pytest.fixture
def check(seeded: Seeded, refusals: Refusals) -> Iterator[Check]:
    def run(call: Callable[[], object], what: str) -> None:
        refusals.check(call, what)
        seeded.assert_unchanged()

    yield run
    seeded.assert_readable_as_seeded()


def _valid_bucket(name: str) -> bool:
    """S3's rules for general purpose bucket names, stated here independently of the library's check."""
    return (
        re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name) is not None
        and ".." not in name
        and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name) is None
    )


bad_bucket = st.one_of(
    not_text,
    st.sampled_from(["", "ab", "UPPER", "under_score", "-dash", "dash-", "a..b", "192.168.0.1", "x" * 64]),
    st.text(max_size=70).filter(lambda s: not _valid_bucket(s)),
)
bad_key = st.one_of(not_key, st.just("k" * 1025), st.just("é" * 513), st.just("bad\ud800"))
bad_version = st.one_of(st.just(""), not_text.filter(lambda v: v is not None))
bad_metadata = st.one_of(
    st.lists(st.text(max_size=3), min_size=1, max_size=2),
    st.text(min_size=1, max_size=3),
    st.integers(),
    st.dictionaries(st.just("n"), st.one_of(st.integers(), st.floats(), st.none(), st.booleans()), min_size=1),
    st.dictionaries(st.sampled_from(["", "with space", "naïve", "a:b"]), st.just("v"), min_size=1),
    st.dictionaries(st.just("n"), st.sampled_from(["café", "line\nbreak", "tab\there"]), min_size=1),
    st.just({"VS-SHA256": "forged"}),
    st.just({"big": "x" * 2100}),
)
bad_data = st.one_of(st.text(max_size=5), st.integers(), st.none(), st.lists(st.integers(0, 255), max_size=3))
not_a_stream = st.one_of(st.integers(), st.none(), st.text(max_size=3), st.binary(max_size=3))
bad_days = st.one_of(st.integers(max_value=0), st.floats(allow_nan=True), st.booleans(), st.text(max_size=2))
bad_rule = st.one_of(
    st.builds(LifecycleRule, st.just("r"), st.just("tmp/"), expire_days=bad_days),
    st.builds(LifecycleRule, st.just("r"), st.just("tmp/"), abort_incomplete_uploads_days=bad_days),
    st.builds(
        LifecycleRule, st.one_of(st.just(""), st.just("i" * 256), not_text), st.just("tmp/"), expire_days=st.just(1)
    ),
    st.builds(LifecycleRule, st.just("r"), not_text.filter(lambda v: not isinstance(v, str)), expire_days=st.just(1)),
    st.just(LifecycleRule("r", "tmp/")),
)
bad_prefix = not_text.filter(lambda v: not isinstance(v, str))


@BAD_INPUT_SETTINGS
@given(bucket=bad_bucket, flag=not_flag)
def test_bucket_calls(seeded: Seeded, check: Check, bucket: Any, flag: Any) -> None:
    objects = seeded.objects
    for name in ("create_bucket", "bucket_exists", "delete_bucket", "enable_versioning", "lifecycle"):
        check(lambda name=name: getattr(objects, name)(bucket), f"{name}({bucket!r})")  # type: ignore[misc]
    for name in ("list_objects", "incomplete_uploads", "abort_incomplete_uploads"):
        check(lambda name=name: getattr(objects, name)(bucket), f"{name}({bucket!r})")  # type: ignore[misc]
    check(lambda: objects.iter_objects(bucket), f"iter_objects({bucket!r})")
    check(lambda: objects.create_bucket(seeded.bucket, exist_ok=flag), f"create_bucket(exist_ok={flag!r})")
    check(lambda: objects.delete_bucket(seeded.bucket, force=flag), f"delete_bucket(force={flag!r})")
    check(lambda: objects.delete_bucket(seeded.bucket, missing_ok=flag), f"delete_bucket(missing_ok={flag!r})")


@BAD_INPUT_SETTINGS
@given(bucket=bad_bucket, key=bad_key)
def test_object_calls_with_bad_names(seeded: Seeded, check: Check, bucket: Any, key: Any) -> None:
    objects, own = seeded.objects, seeded.bucket
    calls: dict[str, Callable[[Any, Any], object]] = {
        "put_bytes": lambda t, n: objects.put_bytes(t, n, b"new"),
        "get_bytes": objects.get_bytes,
        "head": objects.head,
        "exists": objects.exists,
        "delete": objects.delete,
        "versions": objects.versions,
        "put_array": lambda t, n: objects.put_array(t, n, ARRAY),
        "get_array": objects.get_array,
        "presigned_url": objects.presigned_url,
        "upload_stream": lambda t, n: objects.upload_stream(t, n, io.BytesIO(b"new")),
        "download_stream": lambda t, n: objects.download_stream(t, n, io.BytesIO()),
    }

    def bound(call: Callable[[Any, Any], object], target: Any, name: Any) -> Callable[[], object]:
        return lambda: call(target, name)

    for target, name in ((bucket, "a.txt"), (own, key)):
        for label, call in calls.items():
            check(bound(call, target, name), f"{label}({target!r}, {name!r})")


@BAD_INPUT_SETTINGS
@given(data=bad_data, metadata=bad_metadata, array=st.one_of(not_text, st.lists(st.floats(), max_size=3)))
def test_uploads_with_bad_content(seeded: Seeded, check: Check, data: Any, metadata: Any, array: Any) -> None:
    objects, own = seeded.objects, seeded.bucket
    check(lambda: objects.put_bytes(own, "a.txt", data), f"put_bytes(data={data!r})")
    check(lambda: objects.put_bytes(own, "a.txt", b"new", metadata=metadata), f"put_bytes(metadata={metadata!r})")
    check(
        lambda: objects.upload_stream(own, "a.txt", io.BytesIO(b"new"), metadata=metadata),
        f"upload_stream(metadata={metadata!r})",
    )
    check(lambda: objects.upload_stream(own, "a.txt", data), f"upload_stream(stream={data!r})")
    check(lambda: objects.put_array(own, "arr", array), f"put_array({array!r})")


@BAD_INPUT_SETTINGS
@given(version=bad_version, sink=not_a_stream, path=st.one_of(st.integers(), st.none(), st.binary(max_size=3)))
def test_downloads_with_bad_targets(
    seeded: Seeded, check: Check, version: Any, sink: Any, path: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    objects, own = seeded.objects, seeded.bucket
    check(lambda: objects.get_bytes(own, "a.txt", version_id=version), f"get_bytes(version_id={version!r})")
    check(lambda: objects.download_stream(own, "a.txt", sink), f"download_stream(sink={sink!r})")
    check(lambda: objects.download_file(own, "a.txt", path), f"download_file(path={path!r})")
    missing = Path(tmp_path_factory.getbasetemp()) / "no-such-dir" / "file"
    check(lambda: objects.upload_file(own, "a.txt", path), f"upload_file(path={path!r})")
    check(lambda: objects.upload_file(own, "a.txt", missing), "upload_file(a missing file)")


@BAD_INPUT_SETTINGS
@given(
    keys=st.one_of(
        st.lists(st.one_of(bad_key, st.tuples(st.just("a.txt"), bad_version), st.integers()), min_size=1, max_size=3),
        st.text(min_size=1, max_size=3),
        st.integers(),
        st.none(),
    )
)
def test_delete_many_deletes_nothing_when_one_key_is_bad(seeded: Seeded, check: Check, keys: Any) -> None:
    if isinstance(keys, list):
        keys = ["a.txt", *keys, "dir/b.bin"]  # the good keys around the bad must survive too
    check(lambda: seeded.objects.delete_many(seeded.bucket, keys), f"delete_many({keys!r})")


@BAD_INPUT_SETTINGS
@given(
    rules=st.one_of(
        st.lists(bad_rule, min_size=1, max_size=2).map(lambda bad: [LifecycleRule("fine", "a/", expire_days=2), *bad]),
        st.just([]),
        st.just(RULE),
        st.integers(),
        st.lists(st.text(max_size=3), min_size=1, max_size=2),
    ),
    expires=st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=7 * 24 * 3600 + 1),
        st.floats(),
        st.booleans(),
        st.text(max_size=3),
        st.none(),
    ),
    method=st.one_of(not_text, st.text(max_size=5).filter(lambda m: m not in ("get", "put"))),
    prefix=bad_prefix,
)
def test_lifecycle_links_and_listings(
    seeded: Seeded, check: Check, rules: Any, expires: Any, method: Any, prefix: Any
) -> None:
    objects, own = seeded.objects, seeded.bucket
    check(lambda: objects.set_lifecycle(own, rules), f"set_lifecycle({rules!r})")
    check(lambda: objects.presigned_url(own, "a.txt", expires=expires), f"presigned_url(expires={expires!r})")
    check(lambda: objects.presigned_url(own, "a.txt", method=method), f"presigned_url(method={method!r})")
    check(lambda: objects.list_objects(own, prefix), f"list_objects(prefix={prefix!r})")
    check(lambda: objects.incomplete_uploads(own, prefix), f"incomplete_uploads(prefix={prefix!r})")
    check(lambda: objects.abort_incomplete_uploads(own, prefix), f"abort_incomplete_uploads(prefix={prefix!r})")


@BAD_INPUT_SETTINGS
@given(
    options=st.one_of(
        st.fixed_dictionaries({"part_size": st.one_of(st.integers(max_value=5 * 1024 * 1024 - 1), not_count)}),
        st.fixed_dictionaries({"multipart_threshold": not_count}),
        st.fixed_dictionaries({"max_concurrency": not_count}),
    )
)
def test_store_options(seeded: Seeded, check: Check, s3_config: S3Config, options: dict[str, Any]) -> None:
    check(lambda: ObjectStore(s3_config, **options), f"ObjectStore({options!r})")
