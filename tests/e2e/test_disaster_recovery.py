"""Disaster recovery: back up to S3, lose the collection, restore it, and get the same answers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from vectorstack.milvus import IndexSpec, VectorStore

from ..waiting import eventually
from .conftest import Pipeline, assert_exactly_once, running

RESTORE_COMMAND = ["-m", "vectorstack.pipeline"]


def test_backup_drop_and_restore_give_identical_search_results(
    pipeline: Pipeline, store: VectorStore, spawn: Callable[..., Any]
) -> None:
    import sys

    # IVF_FLAT searched over all its lists is exact, so "identical" is a fair demand of the restored copy
    # (an HNSW graph rebuilt from the same vectors may order near-ties differently).
    pipeline.settings = dataclasses.replace(pipeline.settings, index=IndexSpec("IVF_FLAT", params={"nlist": 16}))
    settings = pipeline.settings
    pipeline.produce(pipeline.records(range(3000)))
    with running(pipeline.worker()) as worker:
        eventually(lambda: worker.summary.ingested, "3000 records stored", timeout=90, until=lambda n: n >= 3000)
    queries = np.random.default_rng(42).random((20, settings.dimension), dtype=np.float32)

    def search() -> list[list[tuple[Any, float, dict[str, Any]]]]:
        hits = store.search(
            settings.collection, queries, limit=10, params={"nprobe": 16}, output_fields=["source", "seq", "note"]
        )
        return [[(h.id, h.distance, h.fields) for h in row] for row in hits]

    before = search()
    env = pipeline.stack.env
    common = ["--collection", settings.collection, "--bucket", settings.backup_bucket]
    backup = spawn([sys.executable, *RESTORE_COMMAND, "backup", *common], env)
    output, _ = backup.communicate(timeout=180)
    assert backup.returncode == 0, output
    assert "backup: 3,000 records" in output

    store.drop_collection(settings.collection)
    assert not store.has_collection(settings.collection)

    restore = spawn([sys.executable, *RESTORE_COMMAND, "restore", *common], env)
    output, _ = restore.communicate(timeout=300)
    assert restore.returncode == 0, output
    assert "restored 3,000 records" in output

    store.wait_loaded(settings.collection)
    after = search()
    for query, (old, new) in enumerate(zip(before, after, strict=True)):
        assert [h[0] for h in new] == [h[0] for h in old], f"query {query}: other ids after restore"
        np.testing.assert_allclose([h[1] for h in new], [h[1] for h in old], rtol=1e-5)
        assert [h[2] for h in new] == [h[2] for h in old]
    assert_exactly_once(store, pipeline)
    assert store.describe_index(settings.collection)["index_type"] == "IVF_FLAT"
