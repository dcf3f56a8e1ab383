"""Alerts end to end: a threshold crossed, Prometheus fires, Alertmanager mails, then it resolves."""

from __future__ import annotations

import json
import shutil
import smtplib
import subprocess
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from vectorstack.monitoring import RULES_FILE, Metrics, SmtpAlertNotifier, alert_rules, grafana_dashboard

from ..prometheus_api import TIMEOUT_S, http
from ..waiting import eventually
from .conftest import get_json, mails, promql, reload_prometheus

pytestmark = [pytest.mark.integration, pytest.mark.monitoring]


def test_an_alert_fires_as_email_then_resolves(
    stack: dict[str, str], unique_name: Callable[[str], str], cleanup: Callable[..., None]
) -> None:
    if "PROMETHEUS_RULES_DIR" not in stack:
        pytest.skip("rules can only be added to the harness's own (local) Prometheus")
    pipeline = unique_name("pipe")
    alert = f"IngestLag_{pipeline}"
    rules = alert_rules(ingest_lag_records=100, for_="0s")["groups"][0]
    rule = dict(next(r for r in rules["rules"] if r["alert"] == "VectorstackIngestLagHigh"))
    rule.update(alert=alert, expr=f'vectorstack_ingest_lag_records{{pipeline="{pipeline}"}} > 100')
    path = Path(stack["PROMETHEUS_RULES_DIR"]) / f"{pipeline}.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": pipeline, "rules": [rule]}]}))
    cleanup(reload_prometheus, stack["PROMETHEUS_URL"])
    cleanup(path.unlink)
    reload_prometheus(stack["PROMETHEUS_URL"])
    metrics = Metrics(system=False)
    cleanup(Metrics.delete_pushed, stack["PUSHGATEWAY_URL"], pipeline)

    def subjects() -> list[str]:
        return [m["subject"] for m in mails(stack["MAIL_API_URL"]) if alert in m["subject"]]

    metrics.ingest_lag.labels(pipeline).set(5000)
    metrics.push(stack["PUSHGATEWAY_URL"], pipeline)
    eventually(lambda: [s for s in subjects() if "FIRING" in s], "the FIRING alert by mail", timeout=60)
    message = next(m for m in mails(stack["MAIL_API_URL"]) if alert in m["subject"])
    assert [to["address"] for to in message["to"]] == [stack["ALERT_EMAIL_TO"]]
    metrics.ingest_lag.labels(pipeline).set(3)
    metrics.push(stack["PUSHGATEWAY_URL"], pipeline)
    eventually(lambda: [s for s in subjects() if "RESOLVED" in s], "the RESOLVED alert by mail", timeout=60)


def test_prometheus_loaded_the_project_rules(stack: dict[str, str]) -> None:
    groups = get_json(f"{stack['PROMETHEUS_URL']}/api/v1/rules")["data"]["groups"]
    names = {rule["name"] for group in groups for rule in group["rules"]}
    assert {"VectorstackLatencyHigh", "VectorstackErrorRateHigh", "VectorstackIngestLagHigh"} <= names


def test_the_shipped_rules_file_matches_the_code_and_passes_promtool(tmp_path: Path) -> None:
    assert yaml.safe_load(RULES_FILE.read_text()) == alert_rules(), "regenerate with write_alert_rules(RULES_FILE)"
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian prometheus package) is not installed")
    done = subprocess.run([promtool, "check", "rules", str(RULES_FILE)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 rules found" in done.stdout


def test_direct_smtp_notifier_and_plain_smtplib_reach_the_capture(
    stack: dict[str, str], unique_name: Callable[[str], str]
) -> None:
    marker = unique_name("mail")
    notifier = SmtpAlertNotifier(stack["SMTP_HOST"], int(stack["SMTP_PORT"]), "vectorstack@test", ["ops@test"])
    notifier.send(f"Direct_{marker}", "disk almost full", severity="critical", details="92% used")
    plain = EmailMessage()
    plain["From"], plain["To"], plain["Subject"] = "a@test", "b@test", f"Plain_{marker}"
    plain.set_content("hello")
    with smtplib.SMTP(stack["SMTP_HOST"], int(stack["SMTP_PORT"]), timeout=10) as smtp:
        smtp.send_message(plain)
    subjects = eventually(
        lambda: [m["subject"] for m in mails(stack["MAIL_API_URL"]) if marker in m["subject"]],
        "both mails in the capture",
        until=lambda found: len(found) == 2,
    )
    assert f"[CRITICAL] Direct_{marker}: disk almost full" in subjects
    assert f"Plain_{marker}" in subjects


def test_dashboard_is_valid_json_and_covers_every_metric() -> None:
    metrics = Metrics()
    metrics.counter("vectorstack_custom_total_things", "custom")
    dashboard = json.loads(json.dumps(grafana_dashboard(metrics)))
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert titles == set(metrics.families())
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    histogram = next(p for p in dashboard["panels"] if p["title"] == "vectorstack_operation_seconds")
    assert "histogram_quantile" in histogram["targets"][0]["expr"]


def test_alertmanager_routes_an_alert_to_the_mailbox(stack: dict[str, str], unique_name: Callable[[str], str]) -> None:
    name = unique_name("Routed")
    body = json.dumps([{"labels": {"alertname": name, "severity": "critical"}, "annotations": {"summary": "test"}}])
    answer = http.post(
        f"{stack['ALERTMANAGER_URL']}/api/v2/alerts",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT_S,
    )
    assert answer.status_code == 200, answer.text
    subject = eventually(
        lambda: next((m["subject"] for m in mails(stack["MAIL_API_URL"]) if name in m["subject"]), ""),
        f"a mail about {name}",
    )
    assert "FIRING" in subject


def test_every_shipped_rule_is_valid_promql_on_the_live_server(stack: dict[str, str]) -> None:
    rules = alert_rules()["groups"][0]["rules"]
    assert len(rules) == 3, "the three shipped rules (promtool counts them too)"
    for rule in rules:
        promql(stack["PROMETHEUS_URL"], rule["expr"])  # raises on a query the server cannot parse
