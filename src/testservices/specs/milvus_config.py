"""The Milvus 2.3.5 wheel's config template, filled for tests: by the local backend for each instance, and
once inside the local Milvus image (`testservices images build milvus`), which copies this file into its
build. Standard library only, for that reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

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


def render_config(template: str, values: Mapping[str, str]) -> str:
    """Fill the wheel's config template; `ip` is the address each component advertises: loopback."""

    def fill(match: re.Match[str]) -> str:
        key = _key(match.group(1))
        if key not in values:
            raise KeyError(f"milvus config template asks for {key!r}, which the harness does not set")
        return values[key]

    text = _PLACEHOLDER.sub(fill, template)
    text = re.sub(r"^(\s+)ip:\s*(#.*)?$", r"\1ip: 127.0.0.1", text, flags=re.MULTILINE)
    text = re.sub(r"^(\s+)timeTickInterval: \d+", r"\1timeTickInterval: 20", text, flags=re.MULTILINE)
    # After a crash (SIGKILL) the restarted Milvus waits for the dead process's sessions to expire before
    # it reloads collections: 30 s by default, 10 s here. Keep-alives are in-process (embedded etcd), so a
    # shorter lease cannot expire under load.
    text = re.sub(r"^(  session:\n    ttl:) \d+", r"\1 10", text, flags=re.MULTILINE)
    # Warnings and errors only: at `info` Milvus logs several lines per request, which would bury the
    # lines that matter in the log tail attached to a failing test.
    return re.sub(r"^log:\n  level: \w+", "log:\n  level: warn", text, flags=re.MULTILINE)
