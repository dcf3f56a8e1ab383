"""Monitoring: operation metrics, exporter, Pushgateway, alert rules, SMTP alerts, Grafana dashboard."""

from vectorstack.monitoring.alerts import RULES_FILE, SmtpAlertNotifier, alert_rules, write_alert_rules
from vectorstack.monitoring.dashboard import grafana_dashboard
from vectorstack.monitoring.metrics import Metrics
from vectorstack.monitoring.pushgateway import Pushgateway

__all__ = [
    "RULES_FILE",
    "Metrics",
    "Pushgateway",
    "SmtpAlertNotifier",
    "alert_rules",
    "grafana_dashboard",
    "write_alert_rules",
]
