"""A grant on a registered model covers everything that belongs to it; a grant on a dataset, its versions.

olga (ML engineer, team fraud) is the grantee; credit-scoring (team credit-risk) is granted to her, and
pd-retail, the team's other model, never is. GIVEN one of every record on both models, WHEN olga holds a
view grant THEN she sees exactly credit-scoring's records, and with a change grant she also works on it
as the team would, but signs nothing.
"""

from __future__ import annotations

import io

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import access
from accounts.models import Grant, Team
from accounts.services import grants as grant_services
from registry.models import DatasetVersion, LineageRun, RegisteredModel
from registry.services import versions as version_services
from tests.factories import UserFactory
from tests.monitoring import factories
from tests.reports.records_support import finished_bundle, finished_report
from tests.workflow.conftest import record_run
from tests.workflow.helpers import make_alert, move_model, request_approval, sign
from workflow.services import findings as finding_services
from workflow.services import gate as gate_services

pytestmark = pytest.mark.django_db

# What the issue names as belonging to a model; each must be non-empty in the world below.
BELONGINGS = (
    "registry.ModelVersion",
    "registry.ModelAlias",
    "registry.LineageRun",
    "monitoring.CheckRun",
    "monitoring.MonitoringPlan",
    "monitoring.MonitoringAlert",
    "workflow.ApprovalRequest",
    "workflow.Signature",
    "workflow.Finding",
    "workflow.EvidenceDocument",
    "workflow.Deployment",
    "reports.Report",
    "reports.EvidenceBundle",
)


def grant(admin, subject, obj, level="view"):
    made, _ = grant_services.grant_create(
        actor=admin, subject=subject, obj=obj, level=level, reason="Cross-team review."
    )
    return made


def scoped_types():
    """Every type scoped by team that a grant on a model or dataset reaches."""
    return [model for model in django_apps.get_models() if access.grant_path(model) is not None]


def owned_by(model_class, obj):
    path, _field = access.grant_path(model_class)
    return model_class._default_manager.filter(**{path: obj.pk})


@pytest.fixture
def world(api, maya, victor, aaron, admin_user, credit_risk, quick_ready_version):
    """One of everything on credit-scoring, and a version, a run, a finding and a report on pd-retail."""
    version = quick_ready_version
    model = move_model(admin_user, version.model, "in_development", "in_validation")
    approval = request_approval(api, maya, version).json()
    assert sign(api, victor, approval["id"], "review").status_code == 201
    finding_services.finding_raise(actor=victor, model=model, severity="low", title="Naming")
    gate_services.deployment_record(actor=maya, version=version, environment="dev")
    make_alert(maya, version, credit_risk)
    version_services.model_alias_set(actor=maya, model=model, alias="champion", version=version)
    LineageRun.objects.create(
        run_id="run-1", job_namespace="ci", job_name="train", model=model, state="COMPLETE"
    )
    finished_report(version, user=maya)
    finished_bundle(version, user=aaron)

    other = factories.make_model(maya, credit_risk, name="pd-retail")
    other_version = factories.skops_version(maya, other)
    record_run(maya, other_version, "performance")
    finding_services.finding_raise(actor=victor, model=other, severity="low", title="Other")
    finished_report(other_version, user=maya)
    return {"model": model, "version": version, "approval": approval["id"], "other": other}


def test_it_derives_the_path_to_the_granted_object_for_every_scoped_type():
    paths = {model._meta.label: access.grant_path(model) for model in scoped_types()}
    assert paths["registry.RegisteredModel"] == ("pk", "model")
    assert paths["registry.ModelVersion"] == ("model", "model")
    assert paths["monitoring.MonitoringAlert"] == ("check_run__model_version__model", "model")
    assert paths["workflow.Signature"] == ("request__model_version__model", "model")
    assert paths["registry.Dataset"] == ("pk", "dataset")
    assert paths["registry.DatasetVersion"] == ("dataset", "dataset")
    assert set(BELONGINGS) <= set(paths)
    assert access.grant_path(Team) is None  # a grant on a model never reaches its team


def test_a_view_grant_shows_everything_of_the_model_and_nothing_of_the_team_s_other_models(
    world, admin_user, olga
):
    model = world["model"]
    for model_class in scoped_types():
        assert not access.scope(olga, model_class.objects.all()).exists(), model_class
    grant(admin_user, olga, model)

    for model_class in scoped_types():
        label = model_class._meta.label
        granted_field = access.grant_path(model_class)[1]
        expected = set(owned_by(model_class, model)) if granted_field == "model" else set()
        assert set(access.scope(olga, model_class.objects.all())) == expected, label
        if label in BELONGINGS:
            assert expected, f"the world has no {label}"
    assert not access.can(olga, "view", world["other"])
    assert not access.scope(olga, Team.objects.filter(name="credit-risk")).exists()


def test_a_team_grant_reaches_every_member_of_the_team(world, admin_user, olga, fraud):
    colleague = UserFactory(username="fred", role="validator", teams=[fraud])
    grant(admin_user, fraud, world["model"])
    for member in (olga, colleague):
        assert access.can(member, "view", world["version"])
        assert not access.can(member, "view", world["other"])


def test_a_view_grant_reads_and_a_change_grant_acts_as_the_team_would(world, api, admin_user, olga):
    model, version = world["model"], world["version"]
    made = grant(admin_user, olga, model)
    client = api.as_user(olga)
    upload_url = reverse("api:model-version-list", args=[model.name])

    def upload():
        artifact = SimpleUploadedFile("model.bin", io.BytesIO(b"olga's candidate").read())
        return client.post(upload_url, {"artifact": artifact}, format="multipart")

    assert client.get(reverse("api:model-version-list", args=[model.name])).json()["count"] == 1
    assert upload().status_code == 403
    assert [access.can(olga, action, model) for action in ("change", "run_checks", "deploy")] == [False] * 3

    grant_services.grant_revoke(actor=admin_user, grant=made, reason="Upgrade to change.")
    grant(admin_user, olga, model, "change")
    assert upload().status_code == 201
    for action in ("change", "run_checks", "request_approval", "deploy"):
        assert access.can(olga, action, version), action
    for action in ("sign", "audit", "administer", "validate"):
        assert not access.can(olga, action, version), action  # signing never; the rest not her role's


def test_a_change_grant_lets_the_grantee_run_checks_with_data_she_may_see(world, api, admin_user, olga, maya):
    model, version = world["model"], world["version"]
    dataset = factories.make_dataset(maya, model.team, name="bureau-batches")
    reference = factories.make_dataset_version(maya, dataset, factories.credit_frame(seed=5))
    batch = factories.make_dataset_version(maya, dataset, factories.credit_frame(seed=6))
    body = {
        "kind": "data_quality",
        "model": model.name,
        "version": version.version,
        "reference_dataset": f"{dataset.name}:{reference.version}",
        "current_dataset": f"{dataset.name}:{batch.version}",
    }
    client = api.as_user(olga)
    grant(admin_user, olga, model, "change")
    response = client.post(reverse("api:check-run-list"), body, format="json")
    assert (response.status_code, list(response.json()["error"]["fields"])) == (400, ["reference_dataset"])

    grant(admin_user, olga, dataset)  # the data is granted apart from the model
    response = client.post(reverse("api:check-run-list"), body, format="json")
    assert response.status_code == 202, response.json()


def test_signing_never_comes_from_a_grant(world, admin_user, victor, fraud):
    outsider_validator = UserFactory(username="vera", role="validator", teams=[fraud])
    grant(admin_user, outsider_validator, world["model"], "change")
    assert access.can(outsider_validator, "view", world["version"])
    assert access.can(outsider_validator, "validate", world["version"])
    assert not access.can(outsider_validator, "sign", world["version"])
    assert access.can(victor, "sign", world["version"])  # the owning team's validator signs


def test_a_dataset_grant_covers_its_versions_and_a_change_grant_uploads_them(
    api, admin_user, olga, maya, credit_risk
):
    dataset = factories.make_dataset(maya, credit_risk, name="applications")
    factories.make_dataset_version(maya, dataset, factories.credit_frame(seed=1))
    client = api.as_user(olga)
    versions_url = reverse("api:dataset-version-list", args=[dataset.name])
    assert client.get(versions_url).status_code == 404

    grant(admin_user, olga, dataset)
    assert client.get(versions_url).json()["count"] == 1
    assert set(access.scope(olga, DatasetVersion.objects.all())) == set(dataset.versions.all())
    assert not access.can(olga, "change", dataset)

    Grant.objects.filter(user=olga).delete()
    grant(admin_user, olga, dataset, "change")
    csv = SimpleUploadedFile("batch.csv", b"age,income,label\n30,1000,1\n41,2000,0\n")
    assert client.post(versions_url, {"file": csv}, format="multipart").status_code == 201


def test_revoking_a_grant_removes_access_at_once(world, api, admin_user, olga):
    made = grant(admin_user, olga, world["model"])
    client = api.as_user(olga)
    approval = reverse("api:approval-detail", args=[world["approval"]])
    assert client.get(approval).status_code == 200

    grant_services.grant_revoke(actor=admin_user, grant=made, reason="Review done.")

    assert client.get(approval).status_code == 404
    assert client.get(reverse("api:finding-list")).json()["count"] == 0


def test_an_inactive_grantee_sees_nothing(world, admin_user, olga):
    grant(admin_user, olga, world["model"])
    olga.is_active = False
    olga.save(update_fields=["is_active"])
    assert not access.scope(olga, RegisteredModel.objects.all()).exists()


def test_a_grantee_s_lists_run_a_constant_number_of_queries(world, api, admin_user, olga, maya, victor):
    model = world["model"]
    grant(admin_user, olga, model)
    client = api.as_user(olga)
    urls = [
        reverse("api:check-run-list"),
        reverse("api:model-version-list", args=[model.name]),
        reverse("api:finding-list"),
        reverse("api:model-list"),
    ]

    def counts():
        with CaptureQueriesContext(connection) as context:
            for url in urls:
                assert client.get(url, {"page_size": 50}).status_code == 200
        return len(context.captured_queries)

    few = counts()
    for index in range(8):
        extra = factories.make_version(maya, model, f"artifact {index}".encode(), filename="model.bin")
        record_run(maya, extra, "performance")
        finding_services.finding_raise(actor=victor, model=model, severity="low", title=f"F{index}")
    assert counts() == few
