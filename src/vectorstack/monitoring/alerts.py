"""Alert rules shipped as a Prometheus rules file, and a direct SMTP notifier for when no Alertmanager runs."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml

from vectorstack.errors import InvalidInputError, ServiceUnavailableError
from vectorstack.monitoring.metrics import NAMESPACE

RULES_FILE = Path(__file__).with_name("alert_rules.yml")


def alert_rules(
    *, latency_p95_seconds: float = 0.5, error_ratio: float = 0.05, ingest_lag_records: int = 10_000, for_: str = "2m"
) -> dict[str, Any]:
    """Thresholds on operation latency (p95), error rate and ingest lag, as a Prometheus rule group."""
    p95 = f"histogram_quantile(0.95, sum by (le, service, operation) (rate({NAMESPACE}_operation_seconds_bucket[1m])))"
    errors = (
        f'sum by (service) (rate({NAMESPACE}_operations_total{{outcome="error"}}[1m])) / '
        f"sum by (service) (rate({NAMESPACE}_operations_total[1m]))"
    )
    return {
        "groups": [
            {
                "name": "vectorstack",
                "rules": [
                    {
                        "alert": "VectorstackLatencyHigh",
                        "expr": f"{p95} > {latency_p95_seconds}",
                        "for": for_,
                        "labels": {"severity": "warning"},
                        "annotations": {
                            "summary": "p95 latency of {{ $labels.service }} {{ $labels.operation }} is {{ $value }}s"
                        },
                    },
                    {
                        "alert": "VectorstackErrorRateHigh",
                        "expr": f"{errors} > {error_ratio}",
                        "for": for_,
                        "labels": {"severity": "critical"},
                        "annotations": {
                            "summary": "{{ $labels.service }} fails {{ $value | humanizePercentage }} of calls"
                        },
                    },
                    {
                        "alert": "VectorstackIngestLagHigh",
                        "expr": f"{NAMESPACE}_ingest_lag_records > {ingest_lag_records}",
                        "for": for_,
                        "labels": {"severity": "warning"},
                        "annotations": {"summary": "pipeline {{ $labels.pipeline }} lags {{ $value }} records"},
                    },
                ],
            }
        ]
    }


def write_alert_rules(path: Path, **thresholds: Any) -> Path:
    path.write_text(yaml.safe_dump(alert_rules(**thresholds), sort_keys=False))
    return path


@dataclass
class SmtpAlertNotifier:
    host: str
    port: int
    sender: str
    recipients: Sequence[str]
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0

    def send(self, alert: str, summary: str, *, severity: str = "warning", details: str = "") -> None:
        if not self.recipients:
            raise InvalidInputError("an alert needs at least one recipient")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = f"[{severity.upper()}] {alert}: {summary}"
        message.set_content(f"{summary}\n\n{details}".strip() + "\n")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise ServiceUnavailableError(
                "smtp", f"{self.host}:{self.port}", self.timeout, exc, "Check SMTP_HOST/SMTP_PORT"
            ) from exc
