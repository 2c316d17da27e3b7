"""Registering and editing a model in the browser: who may, what the forms offer, what the services say.

Personas (tests/conftest.py): maya (ml-engineer) and victor (validator) in credit-risk, aaron (auditor),
rita (risk officer), admin; olga (ml-engineer, fraud) is the outsider who must see nothing of credit-risk.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import RegisteredModel
from registry.services import inventory
from tests.factories import UserFactory
from tests.monitoring import factories

pytestmark = pytest.mark.django_db
NEW = reverse("model-new")
HIGH = {"materiality": "high", "complexity": "high", "reliance": "high", "regulatory_exposure": "high"}


def edit_url(name: str = "credit-scoring") -> str:
    return reverse("model-edit", args=[name])


@pytest.fixture
def model(maya, credit_risk):
    return inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="credit-scoring",
        title="Credit scoring",
        tier_answers=factories.LOW_RISK,
        purpose="Score retail credit applications.",
        limitations="Not validated for small-business lending.",
        tags={"domain": "retail"},
        prohibited_features=["sex"],
    )


@pytest.fixture
def fraud_model(olga, fraud):
    return inventory.model_create(
        actor=olga, team=fraud, name="card-fraud", title="Card fraud", tier_answers=factories.LOW_RISK
    )


def signed_in(client, user):
    client.force_login(user)
    return client


def answers(values: dict[str, str]) -> dict[str, str]:
    return {f"tier_{factor}": answer for factor, answer in values.items()}


def registration(**overrides) -> dict:
    data = {
        "name": "churn",
        "team": "credit-risk",
        "title": "Churn",
        "purpose": "Predict churn.",
        "eu_ai_act_category": "minimal_risk",
        "tags": "domain=retail\r\nowner=crm",
        "prohibited_features": "sex, age",
        "favourable_label": "good",
        **answers(factories.LOW_RISK),
    }
    return {**data, **overrides}


def edit_data(model, **overrides) -> dict:
    """What the edit form posts when nothing is touched (as a browser sends it)."""
    data = {
        name: getattr(model, name)
        for name in ("title", "description", "purpose", "intended_use", "out_of_scope_use", "limitations")
    }
    data.update(
        business_line=model.business_line,
        deployment_context=model.deployment_context,
        affected_persons=model.affected_persons,
        eu_ai_act_category=model.eu_ai_act_category,
        vendor=model.vendor,
        favourable_label="" if model.favourable_label is None else str(model.favourable_label),
        prohibited_features=", ".join(model.prohibited_features),
        tags="\r\n".join(f"{key}={value}" for key, value in model.tags.items()),
        upstream_models="",
        owner=model.owner.username,
        **answers(model.tier_answers),
    )
    if model.is_third_party:
        data["is_third_party"] = "on"
    return {**data, **overrides}


def events(action: str):
    return AuditEvent.objects.filter(action=action)


# --- who may open the forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["maya", "admin_user", "olga"])
def test_it_shows_the_registration_form_to_engineers_and_admins(client, request, persona):
    response = signed_in(client, request.getfixturevalue(persona)).get(NEW)

    assert response.status_code == 200
    assert 'name="tier_materiality"' in response.content.decode()


@pytest.mark.parametrize("persona", ["victor", "aaron", "rita"])
def test_it_refuses_the_registration_form_to_validators_and_readers(client, request, persona):
    signed_in(client, request.getfixturevalue(persona))

    assert client.get(NEW).status_code == 403
    assert client.post(NEW, registration()).status_code == 403
    assert not RegisteredModel.objects.filter(name="churn").exists()


def test_it_refuses_the_registration_form_to_an_engineer_in_no_team(client):
    loner = UserFactory(username="lone", role="ml-engineer")

    assert signed_in(client, loner).get(NEW).status_code == 403


@pytest.mark.parametrize(("persona", "status"), [("maya", 200), ("admin_user", 200)])
def test_it_shows_the_edit_form_to_the_teams_engineers_and_admins(client, request, model, persona, status):
    assert signed_in(client, request.getfixturevalue(persona)).get(edit_url()).status_code == status


@pytest.mark.parametrize("persona", ["victor", "aaron", "rita"])
def test_it_refuses_the_edit_form_to_validators_and_readers(client, request, model, persona):
    signed_in(client, request.getfixturevalue(persona))

    assert client.get(edit_url()).status_code == 403
    assert client.post(edit_url(), edit_data(model, title="Changed")).status_code == 403
    model.refresh_from_db()
    assert model.title == "Credit scoring"


def test_it_answers_404_to_the_outsider_for_a_credit_risk_models_edit_form(client, olga, model):
    signed_in(client, olga)

    assert client.get(edit_url()).status_code == 404
    assert client.post(edit_url(), edit_data(model, title="Mine now")).status_code == 404


def test_it_sends_anonymous_visitors_to_sign_in(client, model):
    for url in (NEW, edit_url(), reverse("model-tier-preview")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    ("persona", "offered"), [("maya", True), ("olga", True), ("victor", False), ("aaron", False)]
)
def test_it_links_to_registration_from_the_inventory_for_those_who_may(client, request, persona, offered):
    body = signed_in(client, request.getfixturevalue(persona)).get(reverse("model-list")).content.decode()

    assert ('id="register-model"' in body) is offered


@pytest.mark.parametrize(("persona", "offered"), [("maya", True), ("victor", False), ("rita", False)])
def test_it_offers_editing_and_uploading_on_the_model_page_to_those_who_may(
    client, request, model, persona, offered
):
    body = signed_in(client, request.getfixturevalue(persona)).get(reverse("model-detail", args=[model.name]))
    html = body.content.decode()

    assert ('id="edit-model"' in html) is offered
    assert ('id="upload-version"' in html) is offered


# --- registering ----------------------------------------------------------------------------------------


def test_it_asks_the_questionnaire_from_the_tiering_rule(client, maya):
    body = signed_in(client, maya).get(NEW).content.decode()

    for factor in ("materiality", "complexity", "reliance", "regulatory_exposure"):
        for level in ("low", "medium", "high"):
            assert f'name="tier_{factor}" value="{level}"' in body
    assert "Regulatory exposure" in body
    assert "Answer all 4 questions to see the tier" in body


def test_it_registers_a_model_and_shows_the_tier_its_answers_give(client, maya):
    response = signed_in(client, maya).post(NEW, registration(**answers(HIGH)), follow=True)

    model = RegisteredModel.objects.get(name="churn")
    assert response.redirect_chain == [(reverse("model-detail", args=["churn"]), 302)]
    assert model.team.name == "credit-risk"
    assert model.owner == maya
    assert model.risk_tier == 1
    assert model.tags == {"domain": "retail", "owner": "crm"}  # CRLF rows from the browser
    assert model.prohibited_features == ["sex", "age"]
    assert model.favourable_label == "good"
    assert "Registered churn: Tier 1 (high) from the questionnaire." in response.content.decode()
    (event,) = events("model.created").filter(object_repr="churn")
    assert event.actor_username == "maya"
    assert event.after["tier_answers"] == HIGH


def test_it_registers_upstream_dependencies_by_name(client, maya, model):
    signed_in(client, maya).post(NEW, registration(upstream_models="credit-scoring"))

    churn = RegisteredModel.objects.get(name="churn")
    assert [edge.src_model.name for edge in churn.edges_in.filter(kind="upstream_model")] == [
        "credit-scoring"
    ]


def test_it_names_the_unanswered_question_and_registers_nothing(client, maya):
    data = registration()
    del data["tier_reliance"]

    response = signed_in(client, maya).post(NEW, data)

    assert response.status_code == 400
    assert response.context["form"].errors["tier_reliance"] == ["Answer low, medium or high."]
    assert not RegisteredModel.objects.filter(name="churn").exists()
    assert not events("model.created").exists()


def test_it_offers_only_the_teams_the_user_may_register_for(client, maya, fraud):
    response = signed_in(client, maya).post(NEW, registration(team="fraud"))

    assert response.status_code == 400
    assert "team" in response.context["form"].errors
    assert 'value="fraud"' not in response.content.decode()
    assert not RegisteredModel.objects.filter(name="churn").exists()


def test_it_treats_another_teams_model_as_unknown_upstream(client, maya, fraud_model):
    response = signed_in(client, maya).post(NEW, registration(upstream_models="card-fraud"))

    assert response.status_code == 400
    assert response.context["form"].errors["upstream_models"] == ["Unknown model 'card-fraud'."]


@pytest.mark.parametrize(
    ("field", "typed", "sent"),
    [
        ("favourable_label", "true", True),
        ("upstream_models", "no-such-model", ["no-such-model"]),
        ("name", "credit-scoring", "credit-scoring"),
    ],
)
def test_it_shows_the_apis_validation_message(client, api, maya, model, field, typed, sent):
    """GIVEN a value the services refuse WHEN it is typed in the form and sent to the API THEN both say the same."""
    page = signed_in(client, maya).post(NEW, registration(**{field: typed}))
    body = {
        "name": "churn",
        "team": "credit-risk",
        "title": "Churn",
        "tier_answers": factories.LOW_RISK,
        field: sent,
    }
    answer = api.as_user(maya).post("/api/v1/models/", body, format="json")

    assert page.status_code == 400
    assert answer.status_code == 400
    assert page.context["form"].errors[field] == answer.json()["error"]["fields"][field]


def test_it_previews_the_tier_under_the_rule_in_force(client, maya):
    signed_in(client, maya)
    preview = reverse("model-tier-preview")

    high = client.get(preview, answers(HIGH)).content.decode()
    low = client.get(preview, answers(factories.LOW_RISK)).content.decode()
    floored = client.get(preview, answers({**factories.LOW_RISK, "materiality": "high"})).content.decode()
    partial = client.get(preview, {"tier_materiality": "high"}).content.decode()

    assert "Tier 1 (high)" in high
    assert "score 12" in high
    assert "Tier 3 (low)" in low
    assert "Tier 2 (medium)" in floored
    assert "high materiality: at least tier 2" in floored
    assert "1 of 4 answered" in partial


# --- editing --------------------------------------------------------------------------------------------


def test_it_offers_no_second_line_field(client, maya, model):
    form = signed_in(client, maya).get(edit_url()).context["form"]

    for name in (
        "last_reviewed_on",
        "valid_until",
        "risk_tier",
        "tier_override",
        "status",
        "review_frequency_months",
    ):
        assert name not in form.fields, name


def test_it_saves_a_changed_field_with_its_audit_event(client, maya, model):
    response = signed_in(client, maya).post(
        edit_url(), edit_data(model, title="Retail credit scoring"), follow=True
    )

    model.refresh_from_db()
    assert model.title == "Retail credit scoring"
    assert "Saved credit-scoring: title." in response.content.decode()
    (event,) = events("model.changed")
    assert event.actor_username == "maya"
    assert event.before == {"title": "Credit scoring"}
    assert event.after == {"title": "Retail credit scoring"}


def test_it_saves_nothing_when_nothing_changed(client, maya, model):
    model.description = "Line one.\nLine two."
    model.save()

    response = signed_in(client, maya).post(
        edit_url(), edit_data(model, description="Line one.\r\nLine two.\r\n"), follow=True
    )

    assert "Nothing changed." in response.content.decode()
    assert not events("model.changed").exists()


def test_it_offers_only_members_of_the_owning_team_as_owner(client, maya, victor, olga, model):
    signed_in(client, maya)
    choices = [value for value, _label in client.get(edit_url()).context["form"].fields["owner"].choices]

    assert "victor" in [str(value) for value in choices]
    assert "olga" not in [str(value) for value in choices]
    response = client.post(edit_url(), edit_data(model, owner="olga"))
    assert response.status_code == 400
    assert "owner" in response.context["form"].errors
    model.refresh_from_db()
    assert model.owner == maya


def test_it_asks_before_removing_and_saves_once_confirmed(client, maya, victor, model):
    data = edit_data(model, owner="victor", tags="", prohibited_features="")
    signed_in(client, maya)

    asked = client.post(edit_url(), data)

    assert asked.status_code == 200
    body = asked.content.decode()
    for text in (
        "Hand ownership from maya to victor.",
        "Remove the tag &#x27;domain&#x27;.",
        "Stop prohibiting the feature &#x27;sex&#x27;.",
        "Save and remove",
    ):
        assert text in body, text
    model.refresh_from_db()
    assert (model.owner, model.tags) == (maya, {"domain": "retail"})

    saved = client.post(edit_url(), {**data, "confirmed": asked.context["confirmation"]})

    assert saved.status_code == 302
    model.refresh_from_db()
    assert (model.owner, model.tags, model.prohibited_features) == (victor, {}, [])


def test_it_asks_again_when_the_confirmed_edit_changed(client, maya, model):
    signed_in(client, maya)
    first = client.post(edit_url(), edit_data(model, tags=""))

    response = client.post(
        edit_url(), edit_data(model, tags="", prohibited_features="", confirmed=first.context["confirmation"])
    )

    assert response.status_code == 200
    assert response.context["removals"]
    model.refresh_from_db()
    assert model.tags == {"domain": "retail"}


def test_it_raises_the_tier_at_once_when_the_answers_raise_it(client, maya, model):
    response = signed_in(client, maya).post(edit_url(), edit_data(model, **answers(HIGH)), follow=True)

    model.refresh_from_db()
    assert model.risk_tier == 1
    assert "The questionnaire now gives Tier 1 (high)." in response.content.decode()


def test_it_says_a_lower_tier_waits_for_a_risk_officer(client, maya, credit_risk):
    model = inventory.model_create(
        actor=maya, team=credit_risk, name="pricing", title="Pricing", tier_answers=HIGH
    )

    response = signed_in(client, maya).post(
        edit_url("pricing"), edit_data(model, **answers(factories.LOW_RISK)), follow=True
    )

    model.refresh_from_db()
    assert model.risk_tier == 1
    body = response.content.decode()
    assert "would lower the tier to Tier 3 (low)" in body
    assert "pricing stays Tier 1 (high)" in body
    again = client.get(edit_url("pricing")).content.decode()
    assert 'id="pending-tier-change"' in again
    refused = client.post(
        edit_url("pricing"), edit_data(model, **answers({**factories.LOW_RISK, "materiality": "medium"}))
    )
    assert refused.status_code == 409
    assert "already pending a risk officer" in refused.content.decode()


def test_it_shows_the_services_refusal_and_writes_nothing(client, maya, credit_risk, model):
    """GIVEN credit-scoring upstream of churn WHEN churn is made upstream of credit-scoring with a new title
    THEN the cycle is refused on the field and the title is not saved either (one transaction)."""
    inventory.model_create(
        actor=maya,
        team=credit_risk,
        name="churn",
        title="Churn",
        tier_answers=factories.LOW_RISK,
        upstream=[model],
    )

    response = signed_in(client, maya).post(
        edit_url(), edit_data(model, title="New title", upstream_models="churn")
    )

    assert response.status_code == 400
    assert response.context["form"].errors["upstream_models"] == ["'churn' would make a dependency cycle."]
    model.refresh_from_db()
    assert model.title == "Credit scoring"


def test_it_shows_a_permission_refusal_from_the_service(client, maya, model, monkeypatch):
    def refuse(**kwargs):
        raise PermissionDenied("Only the second line may do that.")

    monkeypatch.setattr(inventory, "model_update", refuse)

    response = signed_in(client, maya).post(edit_url(), edit_data(model, title="New"))

    assert response.status_code == 403
    assert "Only the second line may do that." in response.content.decode()


def test_it_escapes_what_users_typed_in_the_form(client, maya, model):
    model.title = "<script>alert(1)</script>"
    model.save()

    body = signed_in(client, maya).get(edit_url()).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
