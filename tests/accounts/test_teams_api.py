"""/api/v1/teams/: the first resource on the scoped base viewset, and the permission matrix."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def team_names(response) -> set[str]:
    return {team["name"] for team in response.json()["results"]}


def test_it_lists_only_my_teams_for_an_ml_engineer(api, maya, olga):
    response = api.as_user(maya).get(reverse("api:team-list"))
    assert response.status_code == 200
    assert team_names(response) == {"credit-risk"}


def test_it_lists_every_team_for_an_auditor_and_a_risk_officer(api, aaron, rita, olga):
    for reader in (aaron, rita):
        response = api.as_user(reader).get(reverse("api:team-list"))
        assert team_names(response) == {"credit-risk", "fraud"}, reader.username


def test_it_shows_members_of_a_visible_team(api, maya, victor):
    response = api.as_user(maya).get(reverse("api:team-detail", args=["credit-risk"]))
    assert response.status_code == 200
    assert response.json()["members"] == ["maya", "victor"]
    assert response.json()["member_count"] == 2


def test_it_hides_another_teams_detail_with_404(api, maya, olga):
    response = api.as_user(olga).get(reverse("api:team-detail", args=["credit-risk"]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_lets_an_auditor_read_any_team_detail(api, aaron, olga):
    assert api.as_user(aaron).get(reverse("api:team-detail", args=["fraud"])).status_code == 200


def test_it_refuses_anonymous_with_401(api, credit_risk):
    for url in (reverse("api:team-list"), reverse("api:team-detail", args=["credit-risk"])):
        response = api.as_user(None).get(url)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"


def test_it_shows_nothing_to_an_inactive_user(api, ivan, password):
    assert not api.login(username="ivan", password=password)
    response = api.post(reverse("api:auth-token"), {"username": "ivan", "password": password}, format="json")
    assert response.status_code == 401


def test_it_shows_nothing_to_a_user_without_a_role(api, credit_risk):
    from tests.factories import UserFactory

    nobody = UserFactory(username="nobody", teams=[credit_risk])
    response = api.as_user(nobody).get(reverse("api:team-list"))
    assert response.status_code == 200
    assert response.json()["results"] == []
    assert api.get(reverse("api:team-detail", args=["credit-risk"])).status_code == 404


def test_it_sees_a_team_granted_by_object_permission(api, maya, olga, fraud):
    from guardian.shortcuts import assign_perm

    assign_perm("view_team", maya, fraud)
    response = api.as_user(maya).get(reverse("api:team-list"))
    assert team_names(response) == {"credit-risk", "fraud"}


def test_it_runs_a_constant_number_of_queries_whatever_the_page_size(
    api, aaron, django_assert_max_num_queries
):
    from tests.factories import TeamFactory, UserFactory

    for index in range(30):
        team = TeamFactory(name=f"bulk-{index}")
        UserFactory(username=f"bulk-user-{index}", role="ml-engineer", teams=[team])
    client = api.as_user(aaron)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("api:team-list"), {"page_size": 50})
    assert response.json()["count"] == 31
