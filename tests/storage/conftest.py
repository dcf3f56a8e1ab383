"""Fixtures for the storage suite: one bucket per test and worker, emptied and deleted at teardown."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from testservices.state import Endpoint
from vectorstack.config import S3Config
from vectorstack.storage import ObjectStore


@pytest.fixture(scope="session")
def s3_config(s3_service: Endpoint) -> S3Config:
    return S3Config.from_env(s3_service.env)


@pytest.fixture(scope="session")
def objects(s3_config: S3Config) -> ObjectStore:
    return ObjectStore(s3_config)


@pytest.fixture
def make_bucket(
    objects: ObjectStore, unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> Callable[[], str]:
    def make() -> str:
        name = unique_name("bucket").replace("_", "-")  # S3 names: lowercase letters, digits, hyphens
        objects.create_bucket(name)
        cleanup(objects.delete_bucket, name, force=True, missing_ok=True)
        return name

    return make


@pytest.fixture
def bucket(make_bucket: Callable[[], str]) -> str:
    return make_bucket()
