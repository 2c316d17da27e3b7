"""Monitoring models: check runs, monitoring plans, the alerts their breaches raise, red-team runs, judged evaluations."""

from monitoring.models.judged import JudgedEvaluation, JudgedFormat
from monitoring.models.plans import AlertSeverity, AlertState, MonitoringAlert, MonitoringPlan
from monitoring.models.redteam import RedTeamFormat, RedTeamRun
from monitoring.models.runs import CheckKind, CheckRun, Outcome, RunStatus
from monitoring.models.telemetry import TelemetryBucket, TelemetryContent, TelemetryMonitor

__all__ = [
    "AlertSeverity",
    "AlertState",
    "CheckKind",
    "CheckRun",
    "JudgedEvaluation",
    "JudgedFormat",
    "MonitoringAlert",
    "MonitoringPlan",
    "Outcome",
    "RedTeamFormat",
    "RedTeamRun",
    "RunStatus",
    "TelemetryBucket",
    "TelemetryContent",
    "TelemetryMonitor",
]
