"""Monitoring models: check runs, monitoring plans and the alerts their breaches raise."""

from monitoring.models.plans import AlertSeverity, AlertState, MonitoringAlert, MonitoringPlan
from monitoring.models.runs import CheckKind, CheckRun, Outcome, RunStatus

__all__ = [
    "AlertSeverity",
    "AlertState",
    "CheckKind",
    "CheckRun",
    "MonitoringAlert",
    "MonitoringPlan",
    "Outcome",
    "RunStatus",
]
