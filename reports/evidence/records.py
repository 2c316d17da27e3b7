"""Plain records of check runs and controls, shared by the CSV feed, OSCAL and the evidence bundle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One metric of a check run against its threshold; ``subject`` is the feature or group it is about."""

    metric: str
    value: float | None
    threshold: float | None = None
    result: str = "info"  # pass, warn, fail, info
    subject: str = ""


@dataclass(frozen=True, kw_only=True)
class CheckRun:
    """A finished check run of a model version, the controls it provides evidence for, and its results.

    ``evidence_uri`` and ``evidence_sha256`` address the stored results document of the run.
    """

    run_id: str
    model: str
    version: int
    check: str  # drift, fairness, explainability, performance, data_quality
    outcome: str  # pass, warn, fail
    evaluated_at: datetime
    title: str = ""
    controls: Sequence[str] = ()
    evidence_uri: str = ""
    evidence_sha256: str = ""
    results: Sequence[CheckResult] = ()


@dataclass(frozen=True, kw_only=True)
class ControlRef:
    """A control from the catalogue: its id, title and framework."""

    control_id: str
    title: str
    framework: str = ""
