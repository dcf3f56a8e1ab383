"""The Prometheus stack: Pushgateway, Alertmanager (mailing the SMTP capture) and Prometheus scraping both.

Local programs come from Debian (`apt-get install prometheus prometheus-pushgateway prometheus-alertmanager`,
what .ci/run does as root); under Docker the same configs are mounted into containers on the host's
network. Prometheus evaluates rules every second and loads every `*.yml` in its rules dir: the project's
alert rules are copied there at start, and tests may add their own and reload (`POST /-/reload`).
Exporters a test runs are scraped when it writes a file_sd target file into PROMETHEUS_TARGETS_DIR.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import yaml

from testservices.errors import BinaryNotFoundError
from testservices.specs.base import LaunchContext, LaunchPlan, ServiceSpec, http_ready, split_address

# Where monitoring.yml mounts the folder the harness writes Prometheus' config, rules and targets into.
CONTAINER_ROOT = "/etc/testservices/prometheus"


def alert_rules() -> Path | None:
    """The project's alert rules, from the installed vectorstack package (not imported: no client needed)."""
    found = importlib.util.find_spec("vectorstack")
    if found is None or found.origin is None:
        return None
    path = Path(found.origin).parent / "monitoring" / "alert_rules.yml"
    return path if path.is_file() else None


def program(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BinaryNotFoundError(
            f"{name} is not installed: `apt-get install {name}` (Debian; as root), or use TESTSERVICES_BACKEND=docker"
        )
    return found


class PushgatewaySpec(ServiceSpec):
    name = "pushgateway"
    description = "Prometheus Pushgateway (metrics pushed by batch jobs)"
    compose_file = "monitoring.yml"
    compose_service = "pushgateway"
    container_ports = {"main": 9091}  # noqa: RUF012
    exported = ("PUSHGATEWAY_URL",)
    required_external = (("PUSHGATEWAY_URL",),)

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        return LaunchPlan([program("prometheus-pushgateway"), f"--web.listen-address={ctx.host}:{ctx.ports['main']}"])

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        return {"PUSHGATEWAY_URL": f"http://{host}:{ports['main']}"}

    def main_port(self, env: Mapping[str, str]) -> tuple[str, int]:
        return split_address(env["PUSHGATEWAY_URL"], 9091)

    def check_ready(self, env: Mapping[str, str]) -> None:
        http_ready(env["PUSHGATEWAY_URL"] + "/-/ready")


class AlertmanagerSpec(ServiceSpec):
    name = "alertmanager"
    description = "Prometheus Alertmanager, mailing alerts to the SMTP capture server"
    depends_on = ("smtp",)
    compose_file = "monitoring.yml"
    compose_service = "alertmanager"
    container_ports = {"main": 9093}  # noqa: RUF012
    exported = ("ALERTMANAGER_URL", "ALERT_EMAIL_TO")
    required_external = (("ALERTMANAGER_URL",),)

    def write_config(self, ctx: LaunchContext) -> Path:
        """The shipped config (compose/monitoring/alertmanager) pointed at this run's SMTP capture."""
        smtp = f"{ctx.dependencies['SMTP_HOST']}:{ctx.dependencies['SMTP_PORT']}"
        template = ctx.settings.compose_dir / "monitoring" / "alertmanager" / "alertmanager.yml"
        folder = ctx.data_dir / "alertmanager"
        folder.mkdir(exist_ok=True)
        config = yaml.safe_load(template.read_text())
        config["global"]["smtp_smarthost"] = smtp
        path = folder / "alertmanager.yml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return path

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        return LaunchPlan(
            [
                program("prometheus-alertmanager"),
                f"--config.file={self.write_config(ctx)}",
                f"--storage.path={ctx.data_dir / 'data'}",
                f"--web.listen-address={ctx.host}:{ctx.ports['main']}",
                "--cluster.listen-address=",  # no HA gossip: it would listen on 0.0.0.0:9094
            ]
        )

    def compose_env(self, ctx: LaunchContext) -> dict[str, str]:
        return {"ALERTMANAGER_CONFIG_DIR": str(self.write_config(ctx).parent)}

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        return {"ALERTMANAGER_URL": f"http://{host}:{ports['main']}", "ALERT_EMAIL_TO": "oncall@vectorstack.test"}

    def main_port(self, env: Mapping[str, str]) -> tuple[str, int]:
        return split_address(env["ALERTMANAGER_URL"], 9093)

    def check_ready(self, env: Mapping[str, str]) -> None:
        http_ready(env["ALERTMANAGER_URL"] + "/-/ready")


class PrometheusSpec(ServiceSpec):
    name = "prometheus"
    description = "Prometheus, scraping the Pushgateway and test exporters every second, alerting to Alertmanager"
    depends_on = ("pushgateway", "alertmanager")
    compose_file = "monitoring.yml"
    compose_service = "prometheus"
    container_ports = {"main": 9090}  # noqa: RUF012
    exported = ("PROMETHEUS_URL", "PROMETHEUS_TARGETS_DIR", "PROMETHEUS_RULES_DIR")
    required_external = (("PROMETHEUS_URL",),)

    def write_config(self, ctx: LaunchContext, root: str) -> Path:
        """prometheus.yml plus rules/ and targets/ in `ctx.data_dir`, which the server sees as `root`
        (itself locally; a mount point in the container). Scrape and alert addresses are loopback ports:
        the container shares the host's network."""
        rules, targets = ctx.data_dir / "rules", ctx.data_dir / "targets"
        rules.mkdir(exist_ok=True)
        targets.mkdir(exist_ok=True)
        project_rules = alert_rules()
        if project_rules is not None:
            shutil.copy(project_rules, rules / "vectorstack.yml")
        pushgateway = "{}:{}".format(*split_address(ctx.dependencies["PUSHGATEWAY_URL"], 9091))
        alertmanager = "{}:{}".format(*split_address(ctx.dependencies["ALERTMANAGER_URL"], 9093))
        template = ctx.settings.compose_dir / "monitoring" / "prometheus" / "prometheus.yml"
        config = yaml.safe_load(template.read_text())
        config["rule_files"] = [f"{root}/rules/*.yml"]
        config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
        for job in config["scrape_configs"]:
            if job["job_name"] == "pushgateway":
                job["static_configs"] = [{"targets": [pushgateway]}]
            for discovery in job.get("file_sd_configs", []):
                discovery["files"] = [f"{root}/targets/*.json"]
        path = ctx.data_dir / "prometheus.yml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
        return path

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        path = self.write_config(ctx, str(ctx.data_dir))
        return LaunchPlan(
            [
                program("prometheus"),
                f"--config.file={path}",
                f"--storage.tsdb.path={ctx.data_dir / 'tsdb'}",
                f"--web.listen-address={ctx.host}:{ctx.ports['main']}",
                "--web.enable-lifecycle",
                "--rules.alert.resend-delay=1s",
                "--rules.alert.for-grace-period=1s",
            ]
        )

    def compose_env(self, ctx: LaunchContext) -> dict[str, str]:
        self.write_config(ctx, CONTAINER_ROOT)
        return {"PROMETHEUS_CONFIG_DIR": str(ctx.data_dir)}

    def exports(
        self, host: str, ports: Mapping[str, int], run_values: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        return {"PROMETHEUS_URL": f"http://{host}:{ports['main']}"}

    def extra_exports(self, ctx: LaunchContext) -> dict[str, str]:
        return {
            "PROMETHEUS_TARGETS_DIR": str(ctx.data_dir / "targets"),
            "PROMETHEUS_RULES_DIR": str(ctx.data_dir / "rules"),
        }

    def main_port(self, env: Mapping[str, str]) -> tuple[str, int]:
        return split_address(env["PROMETHEUS_URL"], 9090)

    def check_ready(self, env: Mapping[str, str]) -> None:
        http_ready(env["PROMETHEUS_URL"] + "/-/ready")
