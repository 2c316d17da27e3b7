"""Reports reads that a user sees: each takes the user and returns a permission-scoped queryset.

Reports about a model belong to the model's team (``access.scope``). Audit evidence reports and every
evidence bundle reproduce the audit log, so only the roles allowed to audit (auditors, risk officers,
administrators) see them; those roles read everything, including time-range records. Connectors and
their delivery log are for administrators.
"""

from __future__ import annotations

from django.db.models import QuerySet

from accounts import access
from monitoring.models import CheckRun
from reports import kinds
from reports.models import EvidenceBundle, GrcConnector, GrcDelivery, Report


def report_list(*, user) -> QuerySet[Report]:
    """Reports the user may see, with their subject (one query per page)."""
    reports = access.scope(
        user, Report.objects.select_related("model", "model_version__model", "requested_by")
    )
    # a kind that needs an action to request (the audit excerpt: ``audit``) is hidden from the others too
    hidden = [
        spec.name for spec in kinds.declared() if spec.action != "view" and not access.may(user, spec.action)
    ]
    if hidden:
        reports = reports.exclude(kind__in=hidden)
    return reports.order_by("-created_at", "-id")


def bundle_list(*, user) -> QuerySet[EvidenceBundle]:
    """Every bundle for the roles that audit; nothing for anyone else."""
    if not access.may(user, "audit"):
        return EvidenceBundle.objects.none()
    bundles = EvidenceBundle.objects.select_related("model", "model_version__model", "requested_by")
    return bundles.order_by("-created_at", "-id")


def check_run_list(*, user) -> QuerySet[CheckRun]:
    """Check runs the user may see (the CSV feed's rows come from these)."""
    return access.scope(user, CheckRun.objects.select_related("model_version__model"))


def connector_list(*, user) -> QuerySet[GrcConnector]:
    if not access.may(user, "administer"):
        return GrcConnector.objects.none()
    return GrcConnector.objects.select_related("created_by").order_by("name")


def delivery_list(*, user, connector: GrcConnector | None = None) -> QuerySet[GrcDelivery]:
    if not access.may(user, "administer"):
        return GrcDelivery.objects.none()
    deliveries = GrcDelivery.objects.select_related("connector", "approval", "report", "bundle")
    if connector is not None:
        deliveries = deliveries.filter(connector=connector)
    return deliveries.order_by("-created_at", "-id")
