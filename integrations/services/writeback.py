"""Attest's verdict written back where MLflow users look: tags on each linked MLflow model version.

``attest.approval`` is the newest approval request of the version (``approved:production``,
``pending:staging``, … or ``none``), ``attest.gate.production`` whether the deployment gate lets it into
production (``open`` or ``closed``), and ``attest.version`` the Attest version it is (``pd-retail:3``).
A tag is written only when MLflow's value differs from the one Attest would write; Attest never reads
its own ``attest.*`` tags back as MLflow changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from integrations.mlflow_rest import Mlflow, MlflowError
from integrations.models import MlflowRegistry, MlflowVersionLink
from registry.models import ModelVersion
from workflow.models import ApprovalRequest
from workflow.services import gate

PRODUCTION = "production"
PARALLEL_WRITES = 4  # MLflow's own client gets about 4x the throughput with 4 threads (benchmarks/README.md)


def desired_tags(version: ModelVersion) -> dict[str, str]:
    newest = ApprovalRequest.objects.filter(model_version=version).order_by("-requested_at", "-pk").first()
    decision = gate.gate_evaluate(version=version, environment=PRODUCTION)
    return {
        "attest.approval": f"{newest.status}:{newest.environment}" if newest else "none",
        f"attest.gate.{PRODUCTION}": "open" if decision.allowed else "closed",
        "attest.version": f"{version.model.name}:{version.version}",
    }


def write_back(
    registry: MlflowRegistry,
    mlflow: Mlflow,
    *,
    links: Iterable[MlflowVersionLink],
    in_mlflow: dict[tuple[str, int], dict[str, str]] | None = None,
    tally=None,
) -> int:
    """Write the tags that differ; returns how many were written. ``in_mlflow`` is what MLflow has now
    (from a listing), else what Attest last wrote is trusted.

    MLflow has no batch call for model-version tags and answers each in tens of milliseconds (its own
    client too), so the versions' writes go out on a few connections at once; the rows are updated here."""
    verdicts: dict[int, dict[str, str]] = {}
    owed = []
    for link in links:
        if link.version_id not in verdicts:
            verdicts[link.version_id] = desired_tags(link.version)
        wanted = verdicts[link.version_id]
        current = (in_mlflow or {}).get((link.mlflow_name, link.mlflow_version), link.written_back)
        changed = {key: value for key, value in wanted.items() if current.get(key) != value}
        if changed:
            owed.append((link, wanted, changed))
        elif link.written_back != wanted:  # MLflow shows it already (written before, by another link)
            MlflowVersionLink.objects.filter(pk=link.pk).update(written_back=wanted)
    written = 0
    with ThreadPoolExecutor(max_workers=PARALLEL_WRITES) as pool:
        outcomes = pool.map(lambda item: _write(mlflow, item[0], item[2]), owed)
        for (link, wanted, changed), error in zip(owed, outcomes, strict=True):
            if error is not None:
                if tally is not None:
                    tally.problem(f"{link.mlflow_name} version {link.mlflow_version}", f"write-back: {error}")
                continue
            written += len(changed)
            MlflowVersionLink.objects.filter(pk=link.pk).update(written_back=wanted)
    return written


def _write(mlflow: Mlflow, link: MlflowVersionLink, changed: dict[str, str]) -> MlflowError | None:
    """One version's changed tags (no database access: this runs on the pool's threads)."""
    try:
        for key, value in changed.items():
            mlflow.set_version_tag(link.mlflow_name, link.mlflow_version, key, value)
    except MlflowError as exc:
        return exc
    return None


def write_back_version(version_id: int) -> int:
    """After an approval or gate event: write the version's tags to every registry it came from."""
    links = list(
        MlflowVersionLink.objects.filter(version_id=version_id, registry__write_back=True).select_related(
            "registry", "version__model"
        )
    )
    written = 0
    for registry_id in {link.registry_id for link in links}:
        mine = [link for link in links if link.registry_id == registry_id]
        registry = mine[0].registry
        written += write_back(registry, Mlflow(registry.tracking_uri), links=mine)
    return written


def versions_announced(event_type: str, payload: dict) -> list[int]:
    """The linked Attest versions an announced event concerns (approvals, gate, deployments)."""
    model, number = payload.get("model"), payload.get("version")
    if not isinstance(model, str) or not isinstance(number, int):
        return []
    return list(
        MlflowVersionLink.objects.filter(version__model__name=model, version__version=number)
        .values_list("version_id", flat=True)
        .distinct()
    )
