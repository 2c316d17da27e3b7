"""Typed views of the API's resources: the fields a script reads, plus the whole body in ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

TERMINAL_STATUSES = ("succeeded", "failed")


class Resource:
    raw: dict[str, Any]

    @classmethod
    def from_api(cls, body: dict[str, Any]):
        known = {f.name for f in fields(cls)} - {"raw"}  # type: ignore[arg-type]
        return cls(**{name: body.get(name) for name in known}, raw=body)


@dataclass
class Model(Resource):
    name: str
    title: str
    team: str
    status: str
    risk_tier: int | None
    latest_version: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Version(Resource):
    model: str
    version: int
    status: str
    artifact: dict[str, Any] | None
    created_at: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def reference(self) -> str:
        return f"{self.model}:{self.version}"

    @property
    def sha256(self) -> str:
        return (self.artifact or {}).get("sha256", "")


@dataclass
class DatasetVersion(Resource):
    dataset: str
    version: int
    role: str
    file: dict[str, Any] | None
    row_count: int | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def reference(self) -> str:
        return f"{self.dataset}:{self.version}"

    @property
    def sha256(self) -> str:
        return (self.file or {}).get("sha256", "")


@dataclass
class Job(Resource):
    """A queued piece of work the API answers 202 for: a check run, a report, an evidence bundle or an
    MLflow sync."""

    id: int
    status: str

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass
class CheckRun(Job):
    kind: str
    model: str
    version: int
    outcome: str | None
    outcome_reason: str | None
    error: dict[str, Any] | None
    progress: Any
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Report(Job):
    kind: str
    title: str | None
    sha256: str | None
    error: str | None
    progress: Any
    download_url: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Bundle(Job):
    """An evidence bundle (a BagIt zip of a version's or a period's records), built by a worker."""

    bag_name: str | None
    sha256: str | None
    size: int | None
    error: str | None
    progress: Any
    subject: dict[str, Any] | None
    download_url: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class MlflowSync(Job):
    """An import or sync of a connected MLflow registry (or of one of its models), run by a worker."""

    registry: str
    model: str
    trigger: str
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        return (self.result or {}).get("counts") or {}

    @property
    def problems(self) -> list[dict[str, str]]:
        return (self.result or {}).get("problems") or []


@dataclass
class MlflowRegistry(Resource):
    """An MLflow tracking server connected to a team; ``secret`` only in the answer that connected it."""

    name: str
    tracking_uri: str
    team: str
    run_as: str
    model_names: list[str]
    poll_minutes: int
    write_back: bool
    last_synced_at: str | None
    webhook_url: str
    secret: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Approval(Resource):
    id: int
    model: str
    version: int
    environment: str
    status: str
    current_stage: str | None
    outcome_reason: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class GateDecision(Resource):
    model: str
    version: int
    environment: str
    allowed: bool
    reasons: list[str]
    codes: list[str]
    warnings: list[str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Deployment(Resource):
    """A deployment the gate allowed when it was recorded, and the approval it rested on."""

    id: int
    model: str
    version: int
    environment: str
    strategy: str
    traffic_percent: int
    approval: int | None
    status: str
    note: str
    deployed_by: str
    deployed_at: str | None
    shipped_digest: str | None = None  # servers from before the digest was kept send none
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def reference(self) -> str:
        return f"{self.model}:{self.version}"
