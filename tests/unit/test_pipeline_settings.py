"""Pipeline settings: which records are poison (checked before anything reaches Milvus), and the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from vectorstack.errors import InvalidInputError
from vectorstack.milvus import FieldSpec
from vectorstack.monitoring import Metrics
from vectorstack.pipeline import InvalidRecordError, PipelineSettings, parse_field
from vectorstack.pipeline.cli import build_parser, main
from vectorstack.pipeline.telemetry import PipelineMetrics
from vectorstack.streaming import VectorRecord

SETTINGS = PipelineSettings(
    topic="in",
    collection="docs",
    dimension=4,
    fields=(FieldSpec("source", "varchar", max_length=8), FieldSpec("seq", "int32"), FieldSpec("ok", "bool")),
)
VECTOR = np.ones(4, dtype=np.float32)


def test_a_fitting_record_becomes_a_row_with_dynamic_extras() -> None:
    row = SETTINGS.to_row(VectorRecord(7, VECTOR, {"source": "web", "seq": 3, "ok": True, "lang": "en"}))
    assert row["id"] == 7
    assert row["lang"] == "en"
    back = SETTINGS.from_row(row)
    assert back.metadata == {"source": "web", "seq": 3, "ok": True, "lang": "en"}


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (VectorRecord("x", VECTOR, {"source": "a", "seq": 1, "ok": True}), "not an integer"),
        (VectorRecord(1, np.ones(5, dtype=np.float32), {"source": "a", "seq": 1, "ok": True}), "dimension 5"),
        (VectorRecord(1, VECTOR, {"seq": 1, "ok": True}), "'source' is missing"),
        (VectorRecord(1, VECTOR, {"source": 1, "seq": 1, "ok": True}), "'source' must be varchar"),
        (VectorRecord(1, VECTOR, {"source": "123456789", "seq": 1, "ok": True}), "max_length 8"),
        (VectorRecord(1, VECTOR, {"source": "a", "seq": 2**31, "ok": True}), "'seq' must be int32"),
        (VectorRecord(1, VECTOR, {"source": "a", "seq": True, "ok": True}), "'seq' must be int32"),
        (VectorRecord(1, VECTOR, {"source": "a", "seq": 1, "ok": 1}), "'ok' must be bool"),
        (VectorRecord(1, VECTOR, {"source": "a", "seq": 1, "ok": True, "bad key": 1}), "cannot be stored"),
    ],
)
def test_poison_records_are_refused_with_the_reason(record: VectorRecord, reason: str) -> None:
    with pytest.raises(InvalidRecordError, match=reason):
        SETTINGS.to_row(record)


def test_undeclared_fields_are_poison_without_dynamic_fields() -> None:
    strict = PipelineSettings(topic="in", collection="docs", dimension=4, dynamic_fields=False)
    with pytest.raises(InvalidRecordError, match=r"\['lang'\] are not in the collection's schema"):
        strict.to_row(VectorRecord(1, VECTOR, {"lang": "en"}))


def test_settings_are_checked_up_front() -> None:
    assert SETTINGS.dlq_topic == "in.dlq"
    with pytest.raises(InvalidInputError, match="backup_bucket"):
        PipelineSettings(topic="in", collection="docs", dimension=4, backup_every=60)
    with pytest.raises(InvalidInputError, match="dimension"):
        PipelineSettings(topic="in", collection="docs", dimension=0)
    with pytest.raises(InvalidInputError, match="batch_size"):
        PipelineSettings(topic="in", collection="docs", dimension=4, batch_size=0)


def test_parse_field() -> None:
    assert parse_field("source:varchar:64") == FieldSpec("source", "varchar", 64)
    assert parse_field("seq:int64") == FieldSpec("seq", "int64")
    with pytest.raises(InvalidInputError, match="name:type"):
        parse_field("source")


def test_rate_is_measured_over_a_sliding_window() -> None:
    telemetry = PipelineMetrics(Metrics(system=False), "g")
    telemetry.stored(100, now=0.0)
    telemetry.stored(100, now=1.0)
    telemetry.stored(200, now=2.0)
    assert telemetry.current_rate(now=2.0) == pytest.approx(150.0)
    telemetry.stored(100, now=20.0)  # the old points left the window
    assert telemetry.total == 500
    assert telemetry.current_rate(now=20.0) == 0.0


@pytest.mark.parametrize("command", [[], ["worker"], ["restore", "--collection", "c"]])
def test_cli_says_what_is_missing(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(command)
    assert exited.value.code == 2
    assert "required" in capsys.readouterr().err


def test_cli_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "vectorstack-pipeline worker" in out
    assert "SIGTERM" in out
