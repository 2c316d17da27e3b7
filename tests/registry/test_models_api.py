"""/api/v1/models/: the inventory, its permission matrix, filters, tiering and lifecycle."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tests.registry.conftest import HIGH_RISK, LOW_RISK, make_model
from tests.workflow.conftest import reviewed

pytestmark = pytest.mark.django_db

LIST = reverse("api:model-list")


def detail(name="credit-scoring"):
    return reverse("api:model-detail", args=[name])


def names(response) -> list[str]:
    return [item["name"] for item in response.json()["results"]]


def new_model(**overrides):
    body = {"name": "pd-retail", "title": "PD retail", "team": "credit-risk", "tier_answers": LOW_RISK}
    return body | overrides


def test_it_lets_an_ml_engineer_register_a_model_for_her_team(api, maya):
    response = api.as_user(maya).post(LIST, new_model(tags={"domain": "retail"}), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["team"] == "credit-risk"
    assert body["owner"] == "maya"
    assert body["status"] == "draft"
    assert body["risk_tier"] == 3
    assert body["tags"] == {"domain": "retail"}
    event = AuditEvent.objects.get(action="model.created")
    assert event.after["name"] == "pd-retail"
    assert event.actor_username == "maya"


@pytest.mark.parametrize("persona", ["victor", "rita", "aaron"])
def test_it_refuses_registration_by_roles_that_cannot_change(api, persona, request):
    user = request.getfixturevalue(persona)
    response = api.as_user(user).post(LIST, new_model(), format="json")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="model.created").exists()


def test_it_refuses_registration_for_a_team_the_user_cannot_see(api, olga, credit_risk):
    response = api.as_user(olga).post(LIST, new_model(), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"team": ["Unknown team."]}


def test_it_refuses_anonymous_everywhere_with_401(api, model):
    for method, url in (("get", LIST), ("post", LIST), ("get", detail()), ("patch", detail())):
        assert getattr(api.as_user(None), method)(url, {}, format="json").status_code == 401


def test_it_scopes_the_list_and_detail_per_persona(api, model, fraud_model, maya, olga, aaron, rita, victor):
    assert names(api.as_user(maya).get(LIST)) == ["credit-scoring"]
    assert names(api.as_user(victor).get(LIST)) == ["credit-scoring"]
    assert names(api.as_user(olga).get(LIST)) == ["card-fraud"]
    assert names(api.as_user(aaron).get(LIST)) == ["card-fraud", "credit-scoring"]
    assert names(api.as_user(rita).get(LIST)) == ["card-fraud", "credit-scoring"]
    assert api.as_user(olga).get(detail()).status_code == 404
    assert api.as_user(aaron).get(detail()).status_code == 200


def test_it_lets_the_team_edit_and_refuses_everyone_else(api, model, maya, olga, aaron, rita, victor):
    patch = {"limitations": "Not for SME lending."}
    assert api.as_user(olga).patch(detail(), patch, format="json").status_code == 404
    for reader in (aaron, rita, victor):
        assert api.as_user(reader).patch(detail(), patch, format="json").status_code == 403
    response = api.as_user(maya).patch(detail(), patch, format="json")
    assert response.status_code == 200
    assert response.json()["limitations"] == "Not for SME lending."
    event = AuditEvent.objects.get(action="model.changed")
    assert event.before == {"limitations": ""}
    assert event.after == {"limitations": "Not for SME lending."}


def test_it_computes_the_tier_from_the_questionnaire(api, maya):
    response = api.as_user(maya).post(LIST, new_model(tier_answers=HIGH_RISK), format="json")
    assert response.json()["risk_tier"] == 1
    assert response.json()["tier_rule_version"] == 1


def test_it_refuses_an_incomplete_questionnaire(api, maya):
    response = api.as_user(maya).post(LIST, new_model(tier_answers={"materiality": "low"}), format="json")
    assert response.status_code == 400
    assert "tier_answers.complexity" in response.json()["error"]["fields"]


def test_it_applies_a_new_tiering_rule_written_by_an_admin(api, admin_user, maya, model):
    rule = {
        "weights": {"materiality": 3, "complexity": 1, "reliance": 1, "regulatory_exposure": 1},
        "thresholds": {"tier1": 8, "tier2": 6},
        "floors": {},
    }
    assert api.as_user(maya).post(reverse("api:tiering-rule-list"), rule, format="json").status_code == 403
    response = api.as_user(admin_user).post(reverse("api:tiering-rule-list"), rule, format="json")
    assert response.status_code == 201
    assert response.json()["version"] == 2
    answers = LOW_RISK | {"materiality": "high"}  # 3*3 + 1 + 1 + 1 = 12
    response = api.as_user(maya).patch(detail(), {"tier_answers": answers}, format="json")
    assert response.json()["risk_tier"] == 1
    assert response.json()["tier_rule_version"] == 2
    assert AuditEvent.objects.filter(action="tiering.rule_changed").count() == 2


def test_it_lets_a_risk_officer_override_the_tier_with_a_reason(api, model, rita, maya):
    url = reverse("api:model-tier-override", args=["credit-scoring"])
    assert api.as_user(maya).post(url, {"tier": 1, "reason": "x"}, format="json").status_code == 403
    assert api.as_user(rita).post(url, {"tier": 1}, format="json").status_code == 400
    response = api.as_user(rita).post(url, {"tier": 1, "reason": "Feeds capital models."}, format="json")
    assert response.status_code == 200
    assert response.json()["risk_tier"] == 1
    assert response.json()["computed_tier"] == 3
    event = AuditEvent.objects.get(action="model.tier_overridden")
    assert event.reason == "Feeds capital models."
    assert event.before["risk_tier"] == 3
    assert event.after["risk_tier"] == 1


def test_it_moves_status_only_along_allowed_transitions(api, model, maya, victor):
    url = reverse("api:model-change-status", args=["credit-scoring"])
    response = api.as_user(maya).post(url, {"status": "in_production"}, format="json")
    assert response.status_code == 403
    response = api.as_user(maya).post(url, {"status": "in_validation"}, format="json")
    assert response.status_code == 409  # an illegal transition names the current state
    assert response.json()["error"]["code"] == "invalid_transition"
    assert "credit-scoring is draft" in response.json()["error"]["message"]
    assert "may move to in_development, retired" in response.json()["error"]["message"]
    assert api.as_user(victor).post(url, {"status": "in_development"}, format="json").status_code == 403
    response = api.as_user(maya).post(
        url, {"status": "in_development", "reason": "work starts"}, format="json"
    )
    assert response.json()["status"] == "in_development"
    event = AuditEvent.objects.get(action="model.status_changed")
    assert (event.before, event.after, event.reason) == (
        {"status": "draft"},
        {"status": "in_development"},
        "work starts",
    )


def test_it_filters_by_team_tier_status_tag_owner_and_overdue_review(
    api, maya, aaron, credit_risk, olga, fraud
):
    import datetime as dt

    make_model(maya, credit_risk, name="a-model", tags={"domain": "retail"}, tier_answers=HIGH_RISK)
    reviewed(make_model(maya, credit_risk, name="b-model", tags={"domain": "sme"}), on=dt.date(2000, 1, 1))
    make_model(olga, fraud, name="c-model", tags={"pilot": ""})
    client = api.as_user(aaron)
    assert names(client.get(LIST, {"team": "fraud"})) == ["c-model"]
    assert names(client.get(LIST, {"tier": 1})) == ["a-model"]
    assert names(client.get(LIST, {"tag": "domain"})) == ["a-model", "b-model"]
    assert names(client.get(LIST, {"tag": "domain=sme"})) == ["b-model"]
    assert names(client.get(LIST, {"owner": "olga"})) == ["c-model"]
    assert names(client.get(LIST, {"review_overdue": "true"})) == ["b-model"]
    assert names(client.get(LIST, {"status": "draft", "search": "c-mod"})) == ["c-model"]
    assert names(client.get(LIST, {"ordering": "-name"})) == ["c-model", "b-model", "a-model"]


def test_it_records_upstream_models_and_refuses_cycles(api, maya, credit_risk):
    make_model(maya, credit_risk, name="bureau-score")
    client = api.as_user(maya)
    response = client.post(LIST, new_model(upstream_models=["bureau-score"]), format="json")
    assert response.json()["upstream_models"] == ["bureau-score"]
    response = client.patch(detail("bureau-score"), {"upstream_models": ["pd-retail"]}, format="json")
    assert response.status_code == 400
    assert "cycle" in response.json()["error"]["message"]
    response = client.patch(detail("pd-retail"), {"upstream_models": []}, format="json")
    assert response.json()["upstream_models"] == []


def test_it_runs_a_constant_number_of_queries_whatever_the_page_size(
    api, maya, aaron, credit_risk, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.registry.conftest import make_version

    client = api.as_user(aaron)

    def count_queries():
        with CaptureQueriesContext(connection) as context:
            response = client.get(LIST, {"page_size": 50})
        assert response.status_code == 200
        return context, response.json()["count"]

    first = make_model(maya, credit_risk, name="model-0")
    make_version(maya, first)
    one, count = count_queries()
    assert count == 1
    for index in range(1, 50):
        created = make_model(maya, credit_risk, name=f"model-{index}", upstream=[first])
        make_version(maya, created, content=f"artifact {index}".encode())
    fifty, count = count_queries()
    assert count == 50
    assert len(fifty.captured_queries) == len(one.captured_queries), [
        q["sql"][:150] for q in fifty.captured_queries
    ]


def test_it_stops_counting_a_large_inventory_at_the_cap(api, maya, aaron, credit_risk, monkeypatch):
    from registry.api.common import InventoryPagination

    monkeypatch.setattr(InventoryPagination, "count_cap", 3)
    for index in range(5):
        make_model(maya, credit_risk, name=f"model-{index}")
    client = api.as_user(aaron)
    first = client.get(LIST, {"page_size": 2}).json()
    assert (first["count"], first["count_exact"]) == (4, False)
    assert first["next"] is not None
    deep = client.get(LIST, {"page_size": 2, "page": 3}).json()
    assert (deep["count"], deep["count_exact"], deep["next"]) == (5, True, None)
    assert names(client.get(LIST, {"page_size": 10})) == [f"model-{i}" for i in range(5)]


def test_it_applies_the_permission_matrix_to_aliases_and_tiering_rules(
    api, model, maya, victor, rita, aaron, olga
):
    from registry.services.versions import model_alias_set
    from tests.registry.conftest import make_version

    model_alias_set(actor=maya, model=model, alias="champion", version=make_version(maya, model))
    aliases = reverse("api:model-alias-list", args=["credit-scoring"])
    alias = reverse("api:model-alias-detail", args=["credit-scoring", "champion"])
    rules = reverse("api:tiering-rule-list")
    for url in (aliases, alias, rules):
        assert api.as_user(None).get(url).status_code == 401
        for persona in (maya, victor, rita, aaron):
            assert api.as_user(persona).get(url).status_code == 200, (url, persona.username)
    assert api.as_user(olga).get(aliases).status_code == 404
    assert api.as_user(olga).get(alias).status_code == 404
    assert api.as_user(olga).get(rules).json()["results"][0]["version"] == 1
    assert api.as_user(None).put(alias, {"version": 1}, format="json").status_code == 401
    assert api.as_user(None).post(rules, {}, format="json").status_code == 401
    for persona in (maya, victor, rita, aaron, olga):
        assert api.as_user(persona).post(rules, {}, format="json").status_code == 403, persona.username
