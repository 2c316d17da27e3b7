"""Grants on registered models and datasets: the service, the admin API and the admin console pages.

Personas (tests/conftest.py): maya (credit-risk ML engineer) owns the model, olga (fraud ML engineer) is
the grantee, ivan is an inactive credit-risk engineer, admin administers, aaron audits, rita is a risk
officer. Only administrators make or revoke grants; each step is one audit event in the same transaction.
"""

from __future__ import annotations

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm

from accounts import access
from accounts.models import Grant
from accounts.services import grants as grant_services
from audit.models import AuditEvent
from tests.registry.conftest import make_dataset, make_model

pytestmark = pytest.mark.django_db
GRANTS = reverse("api:grant-list")


def detail(grant: Grant) -> str:
    return reverse("api:grant-detail", args=[grant.pk])


@pytest.fixture
def model(maya, credit_risk):
    return make_model(maya, credit_risk)


@pytest.fixture
def dataset(maya, credit_risk):
    return make_dataset(maya, credit_risk)


def grant(admin, subject, obj, level="view", reason="Second opinion on the scorecard."):
    made, _ = grant_services.grant_create(actor=admin, subject=subject, obj=obj, level=level, reason=reason)
    return made


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def error(response) -> dict:
    return response.json()["error"]


# --- the service --------------------------------------------------------------------------------------


def test_it_records_who_granted_what_to_whom_and_why(admin_user, olga, model):
    made = grant(admin_user, olga, model, "change")

    assert (made.user, made.model, made.level, made.granted_by) == (olga, model, "change", admin_user)
    (event,) = events("permission.granted")
    assert (event.object_type, event.object_id, event.actor_username) == (
        "registry.registeredmodel",
        str(model.pk),
        "admin",
    )
    assert event.after == {
        "grant": made.pk,
        "user": "olga",
        "team": None,
        "model": "credit-scoring",
        "dataset": None,
        "level": "change",
        "reason": "Second opinion on the scorecard.",
    }
    assert event.reason == "Second opinion on the scorecard."


def test_it_revokes_with_a_reason_and_keeps_what_the_grant_was_in_the_audit_log(admin_user, fraud, dataset):
    made = grant(admin_user, fraud, dataset)
    grant_services.grant_revoke(actor=admin_user, grant=made, reason="Project finished.")

    assert not Grant.objects.exists()
    (event,) = events("permission.revoked")
    assert (event.object_type, event.reason) == ("registry.dataset", "Project finished.")
    assert event.before["team"] == "fraud"
    assert event.before["dataset"] == "german-credit"


@pytest.mark.parametrize("persona", ["maya", "victor", "rita", "aaron", "olga"])
def test_it_lets_only_administrators_grant_and_revoke(request, persona, admin_user, olga, model):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        grant(actor, olga, model)
    made = grant(admin_user, olga, model)
    with pytest.raises(PermissionDenied):
        grant_services.grant_revoke(actor=actor, grant=made, reason="No.")
    assert Grant.objects.count() == 1
    assert len(events("permission.granted")) == 1


def test_it_refuses_an_inactive_user_naming_the_field(admin_user, ivan, model):
    with pytest.raises(ValidationError) as refusal:
        grant(admin_user, ivan, model)
    assert "inactive" in refusal.value.message_dict["user"][0]


def test_it_refuses_objects_that_do_not_exist(admin_user, olga, model):
    from registry.models import Dataset

    with pytest.raises(ValidationError) as refusal:
        grant(admin_user, olga, Dataset(name="ghost"))
    assert list(refusal.value.message_dict) == ["dataset"]
    with pytest.raises(ValidationError) as refusal:
        grant(admin_user, olga, olga)
    assert "registered model or a dataset" in refusal.value.message_dict["model"][0]


def test_it_refuses_a_grant_to_the_team_that_owns_the_object(admin_user, credit_risk, model):
    with pytest.raises(ValidationError) as refusal:
        grant(admin_user, credit_risk, model)
    assert "owns credit-scoring" in refusal.value.message_dict["team"][0]


def test_it_refuses_an_unknown_level_and_a_missing_reason(admin_user, olga, model):
    with pytest.raises(ValidationError) as refusal:
        grant(admin_user, olga, model, level="admin", reason="  ")
    assert set(refusal.value.message_dict) == {"level", "reason"}
    made = grant(admin_user, olga, model)
    with pytest.raises(ValidationError) as refusal:
        grant_services.grant_revoke(actor=admin_user, grant=made, reason="")
    assert list(refusal.value.message_dict) == ["reason"]
    assert Grant.objects.filter(pk=made.pk).exists()


def test_it_returns_the_grant_already_held_and_audits_nothing_new(admin_user, olga, model):
    first = grant(admin_user, olga, model)
    again, created = grant_services.grant_create(
        actor=admin_user, subject=olga, obj=model, level="view", reason="Asked twice."
    )
    assert (again.pk, created, again.reason) == (first.pk, False, "Second opinion on the scorecard.")
    assert len(events("permission.granted")) == 1


def test_it_refuses_another_level_while_one_is_held(admin_user, olga, model):
    held = grant(admin_user, olga, model)
    with pytest.raises(grant_services.GrantExists) as refusal:
        grant(admin_user, olga, model, "change")
    assert refusal.value.status_code == 409
    assert refusal.value.details == {"grant": held.pk, "level": "view"}


def test_it_keeps_one_grant_per_subject_and_object_and_never_edits_one_in_the_database(
    admin_user, olga, model
):
    held = grant(admin_user, olga, model)
    with pytest.raises(IntegrityError), transaction.atomic():
        Grant.objects.create(user=olga, model=model, level="change", reason="Around the service.")
    with pytest.raises(Exception, match="Cannot update"), transaction.atomic():
        Grant.objects.filter(pk=held.pk).update(level="change")


def test_it_carries_guardian_grants_on_models_and_datasets_over_to_grants(
    admin_user, olga, fraud, model, dataset
):
    migration = __import__("importlib").import_module("accounts.migrations.0010_grants")
    assign_perm("registry.view_registeredmodel", olga, model)
    assign_perm("registry.change_registeredmodel", olga, model)
    assign_perm("registry.view_dataset", fraud.group, dataset)

    migration.carry_over_object_permissions(django_apps, None)

    carried = {(g.subject_label, g.object_label, g.level) for g in Grant.objects.all()}
    assert carried == {
        ("user olga", "model credit-scoring", "change"),
        ("team fraud", "dataset german-credit", "view"),
    }
    assert not UserObjectPermission.objects.exists()
    assert access.can(olga, "change", model)


# --- the API ------------------------------------------------------------------------------------------


def test_it_grants_through_the_api_and_lists_the_grant(api, admin_user, olga, model):
    client = api.as_user(admin_user)
    body = {"user": "olga", "model": "credit-scoring", "level": "view", "reason": "Peer review."}
    response = client.post(GRANTS, body, format="json")

    assert response.status_code == 201
    made = response.json()
    assert {key: made[key] for key in ("user", "team", "model", "dataset", "level", "granted_by")} == {
        "user": "olga",
        "team": None,
        "model": "credit-scoring",
        "dataset": None,
        "level": "view",
        "granted_by": "admin",
    }
    assert client.post(GRANTS, body, format="json").status_code == 200  # the same grant again
    listed = client.get(GRANTS).json()
    assert (listed["count"], listed["results"][0]["id"]) == (1, made["id"])
    assert client.get(reverse("api:grant-detail", args=[made["id"]])).json()["reason"] == "Peer review."


def test_it_filters_grants_by_user_team_model_dataset_and_level(api, admin_user, olga, fraud, model, dataset):
    grant(admin_user, olga, model, "change")
    grant(admin_user, fraud, dataset)
    grant(admin_user, olga, dataset)
    client = api.as_user(admin_user)

    def count(**query):
        return client.get(GRANTS, query).json()["count"]

    assert count() == 3
    assert (count(user="olga"), count(team="fraud"), count(model="credit-scoring")) == (2, 1, 1)
    assert (count(dataset="german-credit"), count(level="change"), count(user="maya")) == (2, 1, 0)
    assert len(client.get(GRANTS, {"page_size": 2}).json()["results"]) == 2


def test_it_revokes_through_the_api_with_a_reason(api, admin_user, olga, model):
    made = grant(admin_user, olga, model)
    client = api.as_user(admin_user)

    response = client.delete(detail(made), {}, format="json")
    assert (response.status_code, list(error(response)["fields"])) == (400, ["reason"])
    assert client.delete(detail(made), {"reason": "Done."}, format="json").status_code == 204
    assert client.delete(detail(made), {"reason": "Again."}, format="json").status_code == 404
    assert [event.reason for event in events("permission.revoked")] == ["Done."]


def test_it_takes_the_revocation_reason_from_the_query_string_too(api, admin_user, olga, model):
    made = grant(admin_user, olga, model)
    response = api.as_user(admin_user).delete(f"{detail(made)}?reason=Rotation")
    assert response.status_code == 204
    assert events("permission.revoked")[0].reason == "Rotation"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"model": "credit-scoring", "level": "view", "reason": "x"}, ["user", "team"]),
        (
            {"user": "olga", "team": "fraud", "model": "credit-scoring", "level": "view", "reason": "x"},
            ["user", "team"],
        ),
        ({"user": "olga", "level": "view", "reason": "x"}, ["model", "dataset"]),
        ({"user": "nobody", "model": "credit-scoring", "level": "view", "reason": "x"}, ["user"]),
        ({"team": "nowhere", "model": "credit-scoring", "level": "view", "reason": "x"}, ["team"]),
        ({"user": "olga", "model": "no-such-model", "level": "view", "reason": "x"}, ["model"]),
        ({"user": "olga", "dataset": "no-such-data", "level": "view", "reason": "x"}, ["dataset"]),
        ({"user": "ivan", "model": "credit-scoring", "level": "view", "reason": "x"}, ["user"]),
        ({"team": "credit-risk", "model": "credit-scoring", "level": "view", "reason": "x"}, ["team"]),
        ({"user": "olga", "model": "credit-scoring", "level": "own", "reason": "x"}, ["level"]),
        ({"user": "olga", "model": "credit-scoring", "level": "view"}, ["reason"]),
    ],
)
def test_it_answers_400_naming_the_field_at_fault(api, admin_user, olga, ivan, fraud, model, body, fields):
    response = api.as_user(admin_user).post(GRANTS, body, format="json")
    assert response.status_code == 400
    assert (error(response)["code"], sorted(error(response)["fields"])) == ("invalid", sorted(fields))
    assert not Grant.objects.exists()


def test_it_answers_409_naming_the_grant_held(api, admin_user, olga, model):
    held = grant(admin_user, olga, model)
    body = {"user": "olga", "model": "credit-scoring", "level": "change", "reason": "More."}
    response = api.as_user(admin_user).post(GRANTS, body, format="json")
    assert response.status_code == 409
    assert error(response)["code"] == "grant_exists"
    assert error(response)["details"] == {"grant": held.pk, "level": "view"}
    assert list(error(response)["fields"]) == ["level"]


def test_it_keeps_the_grants_api_for_administrators(api, admin_user, maya, victor, rita, aaron, olga, model):
    made = grant(admin_user, olga, model)
    body = {"user": "olga", "dataset": "german-credit", "level": "view", "reason": "x"}
    for persona in (maya, victor, rita, aaron, olga):
        client = api.as_user(persona)
        assert client.get(GRANTS).status_code == 403
        assert client.get(detail(made)).status_code == 403
        assert client.post(GRANTS, body, format="json").status_code == 403
        assert client.delete(detail(made), {"reason": "x"}, format="json").status_code == 403
    anonymous = api.as_user(None)
    assert [anonymous.get(GRANTS).status_code, anonymous.post(GRANTS, body).status_code] == [401, 401]
    assert Grant.objects.get() == made


def test_it_lists_grants_in_a_constant_number_of_queries(api, admin_user, olga, fraud, credit_risk, maya):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    grant(admin_user, olga, make_model(maya, credit_risk, name="model-0"))
    client = api.as_user(admin_user)
    with CaptureQueriesContext(connection) as one:
        assert client.get(GRANTS).json()["count"] == 1
    for index in range(1, 20):
        subject = olga if index % 2 else fraud
        grant(admin_user, subject, make_model(maya, credit_risk, name=f"model-{index}"))
    with CaptureQueriesContext(connection) as twenty:
        assert client.get(GRANTS).json()["count"] == 20
    assert len(twenty.captured_queries) == len(one.captured_queries)


# --- the admin console --------------------------------------------------------------------------------


def test_it_adds_a_grant_in_the_console_through_the_service(console, olga, model):
    add = reverse("admin:governance_grant_add")
    assert console.get(add, {"model": model.pk}).status_code == 200

    form = {"user": olga.pk, "model": model.pk, "level": "change", "reason": "Pairing on v2."}
    response = console.post(add, form)

    assert response.status_code == 302
    made = Grant.objects.get()
    assert (made.user, made.model, made.level, made.granted_by.username) == (olga, model, "change", "admin")
    assert events("permission.granted")[0].reason == "Pairing on v2."
    listing = console.get(response["Location"])
    assert b"user olga" in listing.content
    assert b"Revoke" in listing.content


def test_it_shows_the_service_s_refusals_on_the_console_form(
    console, admin_user, olga, ivan, credit_risk, model
):
    add = reverse("admin:governance_grant_add")
    cases = [
        ({"model": model.pk, "level": "view", "reason": "x"}, b"Choose exactly one of user or team"),
        ({"user": ivan.pk, "model": model.pk, "level": "view", "reason": "x"}, b"is inactive"),
        (
            {"team": credit_risk.pk, "model": model.pk, "level": "view", "reason": "x"},
            b"its members need no grant",
        ),
    ]
    for form, message in cases:
        response = console.post(add, form)
        assert response.status_code == 200
        assert message in response.content
    grant(admin_user, olga, model)
    response = console.post(add, {"user": olga.pk, "model": model.pk, "level": "change", "reason": "x"})
    assert b"revoke it before granting change" in response.content
    assert Grant.objects.count() == 1


def test_it_revokes_in_the_console_after_confirmation_with_a_reason(console, admin_user, olga, dataset):
    made = grant(admin_user, olga, dataset)
    revoke = reverse("admin:governance_grant_revoke", args=[made.pk])

    page = console.get(revoke)
    assert page.status_code == 200
    assert b"Yes, revoke" in page.content
    assert b"dataset german-credit" in page.content
    assert console.post(revoke, {"reason": ""}).status_code == 200  # a reason is required
    assert Grant.objects.exists()

    response = console.post(revoke, {"reason": "Left the project."})
    assert response.status_code == 302
    assert not Grant.objects.exists()
    assert events("permission.revoked")[0].reason == "Left the project."


def test_it_offers_no_edit_and_no_plain_delete_in_the_console(console, admin_user, olga, model):
    made = grant(admin_user, olga, model)
    listing = console.get(reverse("admin:governance_grant_changelist"))
    assert listing.status_code == 200
    assert b"delete_selected" not in listing.content
    assert console.get(reverse("admin:governance_grant_delete", args=[made.pk])).status_code == 403
    page = console.get(reverse("admin:governance_grant_change", args=[made.pk]))
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_it_keeps_the_console_s_grant_pages_from_non_administrators(client, admin_user, maya, olga, model):
    made = grant(admin_user, olga, model)
    maya.is_staff = True
    maya.save(update_fields=["is_staff"])
    client.force_login(maya)
    assert client.get(reverse("admin:governance_grant_changelist")).status_code == 403
    assert client.get(reverse("admin:governance_grant_add")).status_code == 403
    assert (
        client.post(reverse("admin:governance_grant_revoke", args=[made.pk]), {"reason": "x"}).status_code
        == 403
    )
    assert Grant.objects.exists()
