"""What the harness relies on in the pinned `milvus` wheel: its config template's layout (every key the
harness sets is there, every other setting comes out as the template has it) and its version."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from testservices.errors import BinaryNotFoundError
from testservices.specs import milvus as milvus_spec
from testservices.specs.milvus_config import COMPONENT_PORTS, OVERRIDES, config_values, render_config

milvus = pytest.importorskip("milvus", reason="the milvus wheel is installed for the standalone flavor only")


def leaves(node: object, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    if not isinstance(node, dict):
        return {prefix: node}
    return {path: value for key, child in node.items() for path, value in leaves(child, (*prefix, key)).items()}


def test_the_wheels_template_renders_with_every_setting_and_nothing_else_changed() -> None:
    template = (Path(milvus.__file__).parent / "data" / "config.yaml.template").read_text()
    ports = {key: str(30000 + i) for i, key in enumerate((*COMPONENT_PORTS, "proxy_port", "etcd_port"))}
    values = config_values(ports, "/data", etcd_log_path="stdout")
    rendered = leaves(yaml.safe_load(render_config(template, values)))
    for path, value in OVERRIDES.items():
        assert rendered[path] == value, path
    # Everything else is what the template says once its `{{ key(type): default }}` placeholders are
    # filled: parsing and writing it again as YAML changes no other setting's value or type.
    filled = re.sub(r"\{\{(.*?)\}\}", lambda m: values[m.group(1).split(":")[0].split("(")[0].strip()], template)
    expected = leaves(yaml.safe_load(filled))
    assert {p: v for p, v in rendered.items() if p not in OVERRIDES} == {
        p: v for p, v in expected.items() if p not in OVERRIDES
    }


def test_another_wheel_version_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(milvus_spec, "MILVUS_WHEEL_VERSION", "2.4.0")
    with pytest.raises(BinaryNotFoundError) as info:
        milvus_spec.unpack_binaries(Path("/nonexistent"))
    assert str(info.value).startswith(
        f"testservices needs milvus==2.4.0 (found {milvus.__version__}): pip install milvus==2.4.0"
    )
