"""One set of filter names on every list: `model` is a model's name and `version` its version number,
whichever path a list's rows take to reach them (docs/ARCHITECTURE.md, "List filters").

GIVEN two versions of one model and one version of another, each with a row of the listed kind
WHEN an administrator lists with `model=` (and `version=` where the list has it)
THEN only the rows of that model (and version) come back; the old names still filter, documented as
deprecated.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from tests.factories import records as rows

pytestmark = pytest.mark.django_db


def _tier_change(version):
    # one pending change per model at a time; a decided one is as listable
    return rows.TierChangeFactory(model=version.model, status="rejected")


def _plan(version):
    dataset = rows.DatasetFactory(team=version.model.team, owner=version.model.owner)
    return rows.MonitoringPlanFactory(model_version=version, dataset=dataset)


def _review(version):
    return rows.PeriodicReviewFactory(model=version.model)


# list → (seed one row for a version, filters it has besides `model`)
LISTS = {
    "api:finding-list": (lambda v: rows.FindingFactory(model=v.model, model_version=v), ["version"]),
    "api:approval-list": (lambda v: rows.ApprovalRequestFactory(model_version=v), ["version"]),
    "api:deployment-list": (lambda v: rows.DeploymentFactory(model_version=v), ["version"]),
    "api:evidence-list": (lambda v: rows.EvidenceDocumentFactory(model_version=v), ["version"]),
    "api:check-run-list": (lambda v: rows.CheckRunFactory(model_version=v), ["version"]),
    "api:report-list": (lambda v: rows.ReportFactory(model_version=v), ["version"]),
    "api:evidence-bundle-list": (lambda v: rows.EvidenceBundleFactory(model_version=v), ["version"]),
    "api:monitoring-plan-list": (_plan, ["version"]),
    "api:review-list": (_review, []),
    "api:tier-change-list": (_tier_change, []),
}
DEPRECATED = {
    "api:finding-list": {"model__name": "model"},
    "api:approval-list": {"model_version__model__name": "model"},
    "api:deployment-list": {"model_version__model__name": "model"},
    "api:evidence-list": {"model_version__model__name": "model", "model_version__version": "version"},
    "api:review-list": {"model__name": "model"},
    "api:tier-change-list": {"model__name": "model"},
}


@pytest.fixture
def versions(admin_user, credit_risk):
    first = rows.RegisteredModelFactory(name="first", team=credit_risk, owner=admin_user)
    other = rows.RegisteredModelFactory(name="other", team=credit_risk, owner=admin_user)
    return {
        ("first", 1): rows.ModelVersionFactory(model=first, version=1),
        ("first", 2): rows.ModelVersionFactory(model=first, version=2),
        ("other", 1): rows.ModelVersionFactory(model=other, version=1),
    }


def _seed(name, versions) -> dict:
    seed, _ = LISTS[name]
    return {key: seed(version).pk for key, version in versions.items()}


def _ids(api, name, query) -> set:
    response = api.get(reverse(name), query)
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


@pytest.mark.parametrize("name", sorted(LISTS))
def test_model_filters_every_list_by_the_model_name(name, api, admin_user, versions):
    ids = _seed(name, versions)
    api.as_user(admin_user)

    assert _ids(api, name, {"model": "first"}) == {ids["first", 1], ids["first", 2]}
    assert _ids(api, name, {"model": "other"}) == {ids["other", 1]}
    if "version" in LISTS[name][1]:
        assert _ids(api, name, {"model": "first", "version": 2}) == {ids["first", 2]}


@pytest.mark.parametrize("name", sorted(DEPRECATED))
def test_the_old_filter_names_still_filter(name, api, admin_user, versions):
    ids = _seed(name, versions)
    api.as_user(admin_user)

    for old, new in DEPRECATED[name].items():
        value = "first" if new == "model" else 2
        assert _ids(api, name, {old: value}) == _ids(api, name, {new: value})
    assert _ids(api, name, {"model": "first"}) != set(ids.values())


def test_the_schema_documents_the_old_names_as_deprecated():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for name, aliases in DEPRECATED.items():
        parameters = {p["name"]: p for p in paths[reverse(name)]["get"]["parameters"]}
        for old, new in aliases.items():
            assert parameters[old].get("deprecated") is True, (name, old)
            assert new in parameters
            assert not parameters[new].get("deprecated")


def test_no_list_names_a_model_filter_other_than_model_unless_deprecated():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path, operations in paths.items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query" and "__" in parameter["name"]:
                assert parameter.get("deprecated") is True, (path, parameter["name"])
