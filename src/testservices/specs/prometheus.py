"""The Prometheus stack: Pushgateway, Alertmanager (mailing the SMTP capture) and Prometheus scraping both.

Local programs come from Debian (`apt-get install prometheus prometheus-pushgateway prometheus-alertmanager`,
what .ci/run does as root). Prometheus evaluates rules every second and loads every `*.yml` in its rules
dir: the project's alert rules are copied there at start, and tests may add their own and reload
(`POST /-/reload`). Exporters a test runs are scraped when it writes a file_sd target file into
PROMETHEUS_TARGETS_DIR.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

from testservices.errors import BinaryNotFoundError
from testservices.settings import find_project_root
from testservices.specs.base import LaunchContext, LaunchPlan, ServiceSpec, http_ready, split_address

PROJECT_RULES = Path("src/vectorstack/monitoring/alert_rules.yml")


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
        self, host: str, ports: Mapping[str, int], creds: Mapping[str, str], backend: str = "local"
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

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        smtp = f"{ctx.dependencies['SMTP_HOST']}:{ctx.dependencies['SMTP_PORT']}"
        config = ctx.data_dir / "alertmanager.yml"
        config.write_text(
            "\n".join(
                [
                    "global:",
                    f"  smtp_smarthost: '{smtp}'",
                    "  smtp_from: 'alerts@vectorstack.test'",
                    "  smtp_require_tls: false",
                    "route:",
                    "  receiver: mail",
                    "  group_by: ['alertname', 'instance_id']",
                    "  group_wait: 1s",
                    "  group_interval: 1s",
                    "  repeat_interval: 1h",
                    "receivers:",
                    "  - name: mail",
                    "    email_configs:",
                    "      - to: 'oncall@vectorstack.test'",
                    "        send_resolved: true",
                    "",
                ]
            )
        )
        return LaunchPlan(
            [
                program("prometheus-alertmanager"),
                f"--config.file={config}",
                f"--storage.path={ctx.data_dir / 'data'}",
                f"--web.listen-address={ctx.host}:{ctx.ports['main']}",
                "--cluster.listen-address=",  # no HA gossip: it would listen on 0.0.0.0:9094
            ]
        )

    def exports(
        self, host: str, ports: Mapping[str, int], creds: Mapping[str, str], backend: str = "local"
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

    def local_plan(self, ctx: LaunchContext) -> LaunchPlan:
        rules, targets = ctx.data_dir / "rules", ctx.data_dir / "targets"
        rules.mkdir()
        targets.mkdir()
        project_rules = find_project_root() / PROJECT_RULES
        if project_rules.is_file():
            shutil.copy(project_rules, rules / "vectorstack.yml")
        pushgateway = "{}:{}".format(*split_address(ctx.dependencies["PUSHGATEWAY_URL"], 9091))
        alertmanager = "{}:{}".format(*split_address(ctx.dependencies["ALERTMANAGER_URL"], 9093))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules / "*.yml")],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
            "scrape_configs": [
                {"job_name": "pushgateway", "honor_labels": True, "static_configs": [{"targets": [pushgateway]}]},
                {
                    "job_name": "exporters",
                    "file_sd_configs": [{"files": [str(targets / "*.json")], "refresh_interval": "1s"}],
                },
            ],
        }
        path = ctx.data_dir / "prometheus.yml"
        path.write_text(json.dumps(config, indent=2))  # JSON is YAML
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

    def exports(
        self, host: str, ports: Mapping[str, int], creds: Mapping[str, str], backend: str = "local"
    ) -> dict[str, str]:
        return {"PROMETHEUS_URL": f"http://{host}:{ports['main']}"}

    def local_exports(self, ctx: LaunchContext) -> dict[str, str]:
        return {
            "PROMETHEUS_TARGETS_DIR": str(ctx.data_dir / "targets"),
            "PROMETHEUS_RULES_DIR": str(ctx.data_dir / "rules"),
        }

    def main_port(self, env: Mapping[str, str]) -> tuple[str, int]:
        return split_address(env["PROMETHEUS_URL"], 9090)

    def check_ready(self, env: Mapping[str, str]) -> None:
        http_ready(env["PROMETHEUS_URL"] + "/-/ready")
