"""The risk officer's portfolio: counts over the models a user may see, in a fixed number of queries.

Every number starts from the same scoped queryset as the inventory list (``registry.selectors.model_list``
scopes with ``access.scope``; the findings and approvals here are scoped the same way), so a count on the
portfolio page and the inventory it links to always agree, and an outsider's counts never include another
team's models.

Models by status over time is rebuilt from the records, not from a separate table of snapshots: a model's
status at a past instant is its current status, unless it changed status afterwards, in which case it is the
``before`` of the first ``model.status_changed`` event after that instant (every status change is audited in
the transaction that made it). A model counts from its ``created_at``. The newest point is therefore always
the inventory's current counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import CharField, Count, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from accounts import access
from audit.models import AuditEvent
from audit.recorder import object_type
from registry.models import ModelStatus, RegisteredModel
from workflow.models import ApprovalRequest, FindingStatus
from workflow.selectors import approvals_overdue, finding_list

# How much one open finding weighs in a heatmap cell's colour: a critical finding outweighs many low ones.
SEVERITY_WEIGHTS = {"low": 1, "medium": 2, "high": 4, "critical": 8}
# Lower bounds of the heat bands 1..4 (band 0: no open finding). One critical finding alone is band 3.
HEAT_BANDS = (1, 4, 8, 16)
HISTORY_MONTHS = 12


@dataclass(frozen=True)
class Cell:
    tier: int
    status: str
    models: int
    findings: dict[str, int]  # open findings by severity

    @property
    def open_findings(self) -> int:
        return sum(self.findings.values())

    @property
    def weight(self) -> int:
        return sum(SEVERITY_WEIGHTS.get(severity, 0) * n for severity, n in self.findings.items())

    @property
    def heat(self) -> int:
        """0 (no open finding) to 4, from the severity-weighted count of open findings."""
        return sum(1 for bound in HEAT_BANDS if self.weight >= bound)


def visible_models(*, user) -> QuerySet[RegisteredModel]:
    """The models the user may see: the scope of the inventory list (``registry.selectors.model_list``),
    without its per-row extras (latest version, aliases), which counting does not need."""
    return access.scope(user, RegisteredModel.objects.all())


def heatmap(*, user) -> dict[tuple[int, str], Cell]:
    """``{(tier, status): Cell}`` for every tier and status with at least one visible model (two queries)."""
    models = visible_models(user=user)
    counts = models.order_by().values("risk_tier", "status").annotate(n=Count("pk"))
    findings = (
        finding_list(user=user)
        .filter(status=FindingStatus.OPEN, model__in=models.values("pk"))
        .order_by()
        .values("model__risk_tier", "model__status", "severity")
        .annotate(n=Count("pk"))
    )
    by_cell: dict[tuple[int, str], dict[str, int]] = defaultdict(dict)
    for row in findings:
        by_cell[(row["model__risk_tier"], row["model__status"])][row["severity"]] = row["n"]
    cells = {}
    for row in counts:
        key = (row["risk_tier"], row["status"])
        cells[key] = Cell(tier=key[0], status=key[1], models=row["n"], findings=by_cell.get(key, {}))
    return cells


def overdue_approvals(*, user, now: dt.datetime | None = None) -> QuerySet[ApprovalRequest]:
    """Pending approval requests the user may see whose open stage is past its due date (the policy's
    ``due_days`` per stage), most overdue first: the approvals list's "Overdue stages" tab."""
    return approvals_overdue(user=user, now=now)


def month_ends(
    *, months: int = HISTORY_MONTHS, now: dt.datetime | None = None
) -> list[tuple[str, dt.datetime]]:
    """``(label, instant)`` for the last ``months`` months, oldest first: the start of the next month (UTC)
    for past months, ``now`` for the current one."""
    now = now or timezone.now()
    year, month = now.year, now.month
    points = [(f"{year:04d}-{month:02d}", now)]
    for _ in range(months - 1):
        end = dt.datetime(year, month, 1, tzinfo=dt.UTC)
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        points.append((f"{year:04d}-{month:02d}", end))
    return list(reversed(points))


def status_history(
    *, user, months: int = HISTORY_MONTHS, now: dt.datetime | None = None
) -> tuple[list[str], dict[str, list[int]]]:
    """Month labels and ``{status: [count per month]}`` of the visible models at each month's end (two
    queries). The last column equals the current counts by status."""
    points = month_ends(months=months, now=now)
    models = list(visible_models(user=user).order_by().values_list("pk", "status", "created_at"))
    ids = visible_models(user=user).order_by().annotate(pk_text=Cast("pk", CharField())).values("pk_text")
    changes: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    events = (
        AuditEvent.objects.filter(
            action="model.status_changed",
            object_type=object_type(RegisteredModel),
            object_id__in=ids,
            occurred_at__gt=points[0][1],  # earlier changes precede every point
        )
        .order_by("seq")
        .values_list("object_id", "occurred_at", "before")
    )
    for object_id, occurred_at, before in events:
        status = (before or {}).get("status") if isinstance(before, dict) else None
        if status:
            changes[object_id].append((occurred_at, status))
    series = {status: [0] * len(points) for status in ModelStatus.values}
    for pk, current, created_at in models:
        history = changes.get(str(pk), [])
        for index, (_label, instant) in enumerate(points):
            if created_at > instant:
                continue
            status = next((before for occurred, before in history if occurred > instant), current)
            if status in series:
                series[status][index] += 1
    return [label for label, _ in points], series
