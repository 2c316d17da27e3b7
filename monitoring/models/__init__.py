"""Monitoring models: check runs, monitoring plans and the alerts their breaches raise."""

from monitoring.models.plans import AlertSeverity, MonitoringAlert, MonitoringPlan
from monitoring.models.runs import CheckKind, CheckRun, Outcome, RunStatus

__all__ = [
    "AlertSeverity",
    "CheckKind",
    "CheckRun",
    "MonitoringAlert",
    "MonitoringPlan",
    "Outcome",
    "RunStatus",
]
