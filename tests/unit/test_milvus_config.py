"""The Milvus config is the wheel's template with its placeholders filled, parsed, and the settings the
harness needs set by key path; a template without one of those keys fails loudly (it used to be edited
with regexes that silently changed nothing when the layout moved)."""

from __future__ import annotations

import pytest
import yaml

from testservices.errors import BinaryNotFoundError
from testservices.specs.base import require_version
from testservices.specs.milvus_config import (
    COMPONENT_PORTS,
    MILVUS_WHEEL_VERSION,
    OVERRIDES,
    MilvusConfigError,
    config_values,
    render_config,
    template_defaults,
)

COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexNode", "dataCoord", "dataNode")

# The layout of the 2.3.5 template, reduced to what the harness fills or sets (comments as upstream has).
TEMPLATE = """\
etcd:
  endpoints: localhost:{{ etcd_port(int): 2379 }}
  log:
    level: {{ etcd_log_level: info }} # Only supports debug, info, warn, error, panic, or fatal. Default 'info'.
    path: {{ etcd_log_path: stdout }}
  data:
    dir: {{ etcd_data_dir }}
localStorage:
  path: {{ local_storage_dir }} # please adjust in embedded Milvus: /tmp/milvus/data/
rocksmq:
  path: {{ rocksmq_data_dir }}
rootCoord:
  ip: # if not specify address, will use the first unicastable address as local ip
  port: {{ root_coord_port(int): 1 }}
proxy:
  ip: # if not specify address, will use the first unicastable address as local ip
  port: {{ proxy_port(int): 1 }}
  internalPort: {{ proxy_internal_port(int): 19529 }}
  timeTickInterval: 200 # ms, the interval that proxy synchronize the time tick
queryCoord:
  ip: # if not specify address, will use the first unicastable address as local ip
  port: {{ query_coord_port(int): 1 }}
queryNode:
  ip: # if not specify address, will use the first unicastable address as local ip
  port: {{ query_node_port(int): 1 }}
indexCoord:
  address: localhost:{{ index_coord_port(int): 22930 }}
indexNode:
  ip: # if not specify address, will use the first unicastable address as local ip
  port: {{ index_node_port(int): 1 }}
dataCoord:
  ip: # if not specify address, will use the first unicastable address as local ip
  port: {{ data_coord_port(int): 1 }}
dataNode:
  ip: # if not specify address, will use the first unicastable address as local ip
  port: {{ data_node_port(int): 1 }}
log:
  level: info # Only supports debug, info, warn, error, panic, or fatal. Default 'info'.
  file:
    rootPath: {{ system_log_path }} # default "" means no log file will print.
tls:
  serverPemPath: {{ server_pem_path: server.pem }}
  serverKeyPath: {{ server_key_path: server.key }}
  caPemPath:  {{ ca_pem_path: ca.pem }}
common:
  security:
    authorizationEnabled: {{ authorization_enabled(bool): false }}
    tlsMode: {{ tls_mode(int): 0 }}
  session:
    ttl: 30 # ttl value when session granting a lease to register service
"""


def values() -> dict[str, str]:
    ports = {key: str(20000 + i) for i, key in enumerate((*COMPONENT_PORTS, "proxy_port", "etcd_port"))}
    return config_values(ports, "/data", etcd_log_path="/data/etcd.log")


def test_the_template_as_upstream_lays_it_out_renders_with_every_setting() -> None:
    config = yaml.safe_load(render_config(TEMPLATE, values()))
    for component in COMPONENTS:
        assert config[component]["ip"] == "127.0.0.1", component
    assert config["proxy"]["timeTickInterval"] == 20
    assert config["common"]["session"]["ttl"] == 10
    assert config["log"]["level"] == "warn"
    assert config["proxy"]["port"] == 20008  # filled placeholders keep their YAML types
    assert config["common"]["security"]["authorizationEnabled"] is False
    assert config["etcd"]["data"]["dir"] == "/data/etcd"
    assert config["log"]["file"]["rootPath"] is None  # as the template's own empty value
    assert set(OVERRIDES) <= {tuple(path) for path in _paths(config)}


def _paths(node: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if not isinstance(node, dict):
        return [prefix]
    return [path for key, child in node.items() for path in _paths(child, (*prefix, key))]


@pytest.mark.parametrize(
    ("removed", "path"),
    [
        ("  timeTickInterval: 200 # ms, the interval that proxy synchronize the time tick\n", "proxy.timeTickInterval"),
        ("  session:\n    ttl: 30 # ttl value when session granting a lease to register service\n", "common.session"),
        ("  level: info # Only supports debug, info, warn, error, panic, or fatal. Default 'info'.\n", "log.level"),
    ],
)
def test_a_template_without_an_expected_key_fails_loudly(removed: str, path: str) -> None:
    template = TEMPLATE
    assert removed in template
    with pytest.raises(
        MilvusConfigError, match=rf"milvus 9\.9\.9 config template has no key {path}\b.*milvus==2\.3\.5"
    ):
        render_config(template.replace(removed, ""), values(), version="9.9.9")


def test_a_moved_ip_key_fails_loudly() -> None:
    """The old regex set any indented `ip:`; a component whose `ip` moved must not pass unnoticed."""
    template = TEMPLATE.replace("dataNode:\n  ip: # if not", "dataNode:\n  net:\n    ip: # if not")
    with pytest.raises(MilvusConfigError, match=r"no key dataNode\.ip "):
        render_config(template, values())


def test_a_placeholder_the_harness_does_not_fill_fails_loudly() -> None:
    with pytest.raises(MilvusConfigError, match=r"asks for 'brand_new_port'.*milvus==2\.3\.5"):
        render_config(TEMPLATE + "extra:\n  port: {{ brand_new_port(int): 1 }}\n", values())


def test_template_defaults_are_the_container_ports() -> None:
    assert template_defaults(TEMPLATE)["etcd_port"] == "2379"
    assert template_defaults(TEMPLATE)["index_coord_port"] == "22930"


def test_a_wheel_of_another_version_is_refused_with_the_fix() -> None:
    from importlib.metadata import version

    found = version("pytest")
    with pytest.raises(BinaryNotFoundError) as info:
        require_version("pytest", "0.0.1", "its private functions")
    assert str(info.value).startswith(f"testservices needs pytest==0.0.1 (found {found}): pip install pytest==0.0.1")
    require_version("pytest", found, "unused")  # the pinned version passes
    with pytest.raises(BinaryNotFoundError, match=r"found none\): pip install no-such-wheel-here==1"):
        require_version("no-such-wheel-here", "1", "why")
    assert MILVUS_WHEEL_VERSION == "2.3.5"
