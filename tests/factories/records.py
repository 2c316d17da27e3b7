"""Rows of every listed kind, written straight to the database (no service, no blob, no audit event).

For tests that need many rows cheaply and care about who may see them, not how they were made: the
endpoint matrix (tests/test_endpoint_matrix.py) seeds one and then five of each kind with these. Tests of
behaviour make their objects through the services (tests/registry/conftest.py, tests/monitoring/factories.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import factory
from django.utils import timezone

from accounts.models import ApiToken, Grant
from monitoring.models import CheckRun, JudgedEvaluation, MonitoringAlert, MonitoringPlan, RedTeamRun
from registry.models import Dataset, DatasetVersion, ModelAlias, ModelVersion, RegisteredModel, TierChange
from registry.models.inventory import TieringRule
from reports.models import EvidenceBundle, GrcConnector, Report
from workflow.models import (
    ActionPlan,
    ApprovalRequest,
    Control,
    Deployment,
    EvidenceDocument,
    EvidenceType,
    ExtensionRequest,
    Finding,
    FindingAttachment,
    FindingComment,
    Framework,
    Milestone,
    Notification,
    PeriodicReview,
    Policy,
    Signature,
    WebhookEndpoint,
)


def digest(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


class RegisteredModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegisteredModel

    name = factory.Sequence(lambda n: f"model-{n}")
    title = factory.LazyAttribute(lambda model: model.name.replace("-", " ").title())
    computed_tier = 3
    risk_tier = 3
    lineage_job = factory.LazyAttribute(lambda model: model.name)
    created_by = factory.SelfAttribute("owner")


class ModelVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelVersion

    version = factory.Sequence(lambda n: n + 1)
    artifact_sha256 = factory.Sequence(digest)
    artifact_size = 14
    artifact_key = factory.LazyAttribute(lambda version: f"artifacts/sha256/{version.artifact_sha256}")
    artifact_filename = "model.skops"
    artifact_format = "skops"
    artifact_executable = False
    created_by = factory.SelfAttribute("model.owner")


class ModelAliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelAlias

    name = factory.Sequence(lambda n: f"alias-{n}")
    model = factory.SelfAttribute("version.model")
    updated_by = factory.SelfAttribute("version.created_by")


class DatasetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dataset

    name = factory.Sequence(lambda n: f"dataset-{n}")
    lineage_name = factory.LazyAttribute(lambda dataset: dataset.name)


class DatasetVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DatasetVersion

    version = factory.Sequence(lambda n: n + 1)
    file_sha256 = factory.Sequence(digest)
    file_size = 64
    file_key = factory.LazyAttribute(lambda version: f"datasets/sha256/{version.file_sha256}")
    file_name = "data.csv"
    file_format = "csv"
    created_by = factory.SelfAttribute("dataset.owner")


class TieringRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TieringRule

    version = factory.Sequence(lambda n: 1000 + n)
    weights = factory.LazyFunction(dict)
    thresholds = factory.LazyFunction(dict)


class TierChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TierChange

    answers = factory.LazyFunction(dict)
    rule = factory.SubFactory(TieringRuleFactory)
    current_tier = 3
    proposed_tier = 2
    requested_by = factory.SelfAttribute("model.owner")


class RedTeamRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RedTeamRun

    format = "garak"
    file_name = "garak.report.jsonl"
    report_sha256 = factory.Sequence(digest)
    report_key = factory.LazyAttribute(lambda run: f"red-team-reports/sha256/{run.report_sha256}")
    report_size = 100
    attempts = 10
    failures = 2
    attack_success_rate = 0.2
    results = factory.LazyFunction(lambda: {"categories": [], "sources": []})
    result_sha256 = factory.Sequence(digest)


class JudgedEvaluationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JudgedEvaluation

    format = "deepeval"
    file_name = "results.json"
    file_sha256 = factory.Sequence(digest)
    file_key = factory.LazyAttribute(lambda row: f"judged-evaluations/sha256/{row.file_sha256}")
    file_size = 100
    pass_threshold = 0.5
    results = factory.LazyFunction(lambda: {"metrics": []})
    result_sha256 = factory.Sequence(digest)


class CheckRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckRun

    kind = "data_quality"
    artifact_sha256 = factory.SelfAttribute("model_version.artifact_sha256")
    requested_by = factory.SelfAttribute("model_version.created_by")


class MonitoringPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonitoringPlan

    interval_seconds = 86400
    created_by = factory.SelfAttribute("model_version.created_by")


class MonitoringAlertFactory(factory.django.DjangoModelFactory):
    """An open alert on a run of its plan."""

    class Meta:
        model = MonitoringAlert

    check_run = factory.LazyAttribute(
        lambda alert: CheckRunFactory(model_version=alert.plan.model_version, plan=alert.plan)
    )
    title = "Drift on column 'age': PSI 0.31"
    metric = "psi (column 'age')"
    value = 0.31
    threshold = 0.25
    severity = "critical"
    message = "1 breaching metric(s), worst first:"
    state = "open"


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    tier = 3
    version = factory.Sequence(lambda n: 1000 + n)
    name = factory.Sequence(lambda n: f"Policy {n}")


class ControlFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Control

    framework = factory.LazyFunction(lambda: Framework.objects.get_or_create(key="aa-test", title="Test")[0])
    key = factory.Sequence(lambda n: f"control-{n}")
    title = factory.Sequence(lambda n: f"Control {n}")


class EvidenceDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvidenceDocument

    evidence_type = factory.LazyFunction(lambda: EvidenceType.objects.order_by("pk").first())
    title = factory.Sequence(lambda n: f"Evidence {n}")
    file_name = "memo.md"
    sha256 = factory.Sequence(digest)
    file_key = factory.LazyAttribute(lambda document: f"evidence/sha256/{document.sha256}")
    size = 10
    uploaded_by = factory.SelfAttribute("model_version.created_by")


class ApprovalRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalRequest

    environment = "staging"
    policy = factory.LazyFunction(lambda: Policy.objects.order_by("pk").first())
    stage_keys = factory.LazyFunction(list)
    evidence_manifest = factory.LazyFunction(dict)
    evidence_digest = factory.Sequence(digest)
    requested_by = factory.SelfAttribute("model_version.created_by")


class SignatureFactory(factory.django.DjangoModelFactory):
    """A row as the signing service leaves it, minus a real server signature (never verified here)."""

    class Meta:
        model = Signature

    stage_key = "validation"
    printed_name = factory.LazyAttribute(lambda signature: signature.signer.get_full_name())
    roles = factory.LazyFunction(lambda: ["validator"])
    decision = "approve"
    meaning = "review"
    signed_at = factory.LazyFunction(timezone.now)
    auth_method = "password"
    evidence_digest = factory.SelfAttribute("request.evidence_digest")
    policy_version = 1
    policy_tier = 3
    requester_id_at_signing = factory.SelfAttribute("request.requested_by_id")
    submitter_id_at_signing = factory.SelfAttribute("request.requested_by_id")
    owner_id_at_signing = factory.SelfAttribute("request.requested_by_id")
    payload = b"{}"
    server_signature = "00"
    key_id = "00"


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Finding

    severity = "low"
    title = factory.Sequence(lambda n: f"Finding {n}")
    owner = factory.SelfAttribute("model.owner")
    raised_by = factory.SelfAttribute("model.owner")


class FindingCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FindingComment

    body = factory.Sequence(lambda n: f"Comment {n}")
    author = factory.SelfAttribute("finding.owner")


class ActionPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionPlan

    description = factory.Sequence(lambda n: f"Plan {n}")
    due_date = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=30))
    owner = factory.SelfAttribute("finding.owner")
    created_by = factory.SelfAttribute("finding.owner")


class MilestoneFactory(factory.django.DjangoModelFactory):
    """A milestone ticked done (``done_by`` given), so lists read its optional relation."""

    class Meta:
        model = Milestone

    title = factory.Sequence(lambda n: f"Milestone {n}")
    due_date = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=10))
    done_at = factory.LazyFunction(timezone.now)


class ExtensionRequestFactory(factory.django.DjangoModelFactory):
    """A decided (rejected) request: any number may exist for one finding."""

    class Meta:
        model = ExtensionRequest

    proposed_due_date = factory.LazyFunction(lambda: timezone.now().date() + dt.timedelta(days=90))
    reason = "More time."
    status = "rejected"
    decided_at = factory.LazyFunction(timezone.now)
    decision_comment = "No."


class FindingAttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FindingAttachment

    file_name = "notes.txt"
    sha256 = factory.Sequence(digest)
    file_key = factory.LazyAttribute(lambda attachment: f"finding-attachments/sha256/{attachment.sha256}")
    size = 10


class DeploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deployment

    environment = "staging"
    deployed_by = factory.SelfAttribute("model_version.created_by")


class PeriodicReviewFactory(factory.django.DjangoModelFactory):
    """A cancelled review, so that any number of them may exist for one model (one open at a time)."""

    class Meta:
        model = PeriodicReview

    status = "cancelled"
    opened_by = factory.SelfAttribute("model.owner")


class GrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grant

    level = "view"
    reason = "Second opinion."


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    url = factory.Sequence(lambda n: f"https://hooks.example.com/{n}")
    secret = "whsec_dGVzdA=="


class GrcConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GrcConnector

    name = factory.Sequence(lambda n: f"grc-{n}")
    kind = "webhook"
    url = factory.Sequence(lambda n: f"https://grc.example.com/{n}")
    secret = "whsec_dGVzdA=="


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    kind = "documentation"
    model = factory.SelfAttribute("model_version.model")
    requested_by = factory.SelfAttribute("model_version.created_by")


class EvidenceBundleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvidenceBundle

    model = factory.SelfAttribute("model_version.model")
    requested_by = factory.SelfAttribute("model_version.created_by")


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """A live token; knox's manager makes the key and digest (and returns the secret, dropped here)."""

    class Meta:
        model = ApiToken

    expiry = dt.timedelta(days=30)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        instance, _secret = model_class.objects.create(*args, **kwargs)
        return instance


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    kind = "review_due"
    title = factory.Sequence(lambda n: f"Notification {n}")
    link = "/approvals/"
