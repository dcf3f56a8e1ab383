"""The Milvus 2.3.5 wheel's config template, filled for tests: by the local backend for each instance, and
once inside the local Milvus image (`testservices images build milvus`), which copies this file into its
build and runs it with the image's Python. The standard library and PyYAML only, for that reason (the
image's recipe installs PyYAML next to the wheel).

The template's own `{{ key(type): default }}` placeholders are filled first (ports, folders, auth, TLS);
then the result is parsed and the settings the template has no placeholder for are set by their key path.
A key path the template does not have fails loudly, naming the path and the wheel version: a new layout
must not silently give a server with other settings than the harness believes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

# The wheel the harness is written against: its template's layout and its private unpacking function
# (see specs/milvus.py). pyproject pins the same version.
MILVUS_WHEEL_VERSION = "2.3.5"

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")

# Component ports the template asks for besides the proxy's (each a free port per local instance).
COMPONENT_PORTS = (
    "root_coord_port",
    "proxy_internal_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)

# Settings the template has no placeholder for, by key path.
OVERRIDES: dict[tuple[str, ...], Any] = {
    # The address each component advertises (empty: "the first unicastable address", which a machine
    # without a network, or a container, may not have): loopback.
    **{
        (component, "ip"): "127.0.0.1"
        for component in ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")
    },
    # Strong-consistency reads wait for the next time tick: ~20 ms instead of ~200 ms.
    ("proxy", "timeTickInterval"): 20,
    # After a crash (SIGKILL) the restarted Milvus waits for the dead process's sessions to expire before
    # it reloads collections: 30 s by default, 10 s here. Keep-alives are in-process (embedded etcd), so a
    # shorter lease cannot expire under load.
    ("common", "session", "ttl"): 10,
    # Warnings and errors only: at `info` Milvus logs several lines per request, which would bury the
    # lines that matter in the log tail attached to a failing test.
    ("log", "level"): "warn",
}


class MilvusConfigError(Exception):
    """The wheel's config template is not laid out as the harness expects."""


def config_values(ports: Mapping[str, str], data_dir: str, etcd_log_path: str) -> dict[str, str]:
    """Every value the template asks for: the given ports, storage under `data_dir`, no auth, no TLS.

    `ports` holds `proxy_port`, `etcd_port` and each of COMPONENT_PORTS; logs go to stdout (the harness's
    log file, or the container's log)."""
    return {
        **ports,
        "etcd_log_level": "warn",
        "etcd_log_path": etcd_log_path,
        "etcd_data_dir": f"{data_dir}/etcd",
        "local_storage_dir": f"{data_dir}/storage",
        "rocksmq_data_dir": f"{data_dir}/rocksmq",
        "system_log_path": "",
        "server_pem_path": "server.pem",
        "server_key_path": "server.key",
        "ca_pem_path": "ca.pem",
        "authorization_enabled": "false",
        "tls_mode": "0",
    }


def _key(placeholder: str) -> str:
    """`proxy_port` of ` proxy_port(int): 19530 `."""
    return placeholder.split(":")[0].split("(")[0].strip()


def template_defaults(template: str) -> dict[str, str]:
    """The defaults written in the template itself (`{{ proxy_port(int): 19530 }}`): a container's ports."""
    return {_key(m.group(1)): m.group(1).partition(":")[2].strip() for m in _PLACEHOLDER.finditer(template)}


def _set(config: dict[str, Any], path: tuple[str, ...], value: Any, version: str) -> None:
    node: Any = config
    for depth, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            raise MilvusConfigError(
                f"the milvus {version} config template has no key {'.'.join(path[: depth + 1])} (needed to set "
                f"{'.'.join(path)}): its layout is not the one testservices knows; install "
                f"milvus=={MILVUS_WHEEL_VERSION}"
            )
        if depth == len(path) - 1:
            node[key] = value
        node = node[key]


def render_config(template: str, values: Mapping[str, str], version: str = MILVUS_WHEEL_VERSION) -> str:
    """The wheel's config template filled with `values` and OVERRIDES, as YAML; `version` is the wheel's
    (named in the error when the template lacks a key)."""

    def fill(match: re.Match[str]) -> str:
        key = _key(match.group(1))
        if key not in values:
            raise MilvusConfigError(
                f"the milvus {version} config template asks for {key!r}, which testservices does not set; "
                f"install milvus=={MILVUS_WHEEL_VERSION}"
            )
        return values[key]

    config = yaml.safe_load(_PLACEHOLDER.sub(fill, template))
    if not isinstance(config, dict):
        raise MilvusConfigError(f"the milvus {version} config template is not a YAML mapping")
    for path, value in OVERRIDES.items():
        _set(config, path, value, version)
    # Wide lines: the access-log formats stay on one line each, as in the template.
    return yaml.safe_dump(config, sort_keys=False, width=1_000_000)
