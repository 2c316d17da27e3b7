"""The persona matrix and a query count for every list endpoint of the API and every list page of the UI.

GIVEN rows of the listed kind made for team credit-risk and for team fraud (tests/list_endpoints.py)
WHEN each persona lists them — anonymous, maya (ml-engineer), victor (validator), rita (risk officer),
aaron (auditor), admin, and olga (ml-engineer of fraud)
THEN each gets the status its role is documented to get and sees exactly the rows its scope holds (never
another team's); and listing five rows takes as many queries as listing one.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.list_endpoints import API, NOT_SEEDED, PAGES, PERSONAS, Listed, World, list_route_names

pytestmark = pytest.mark.django_db
TEAMS = ("credit-risk", "fraud")


@pytest.fixture
def world(request) -> World:
    return World({name: request.getfixturevalue(name) for name in PERSONAS})


def api_items(response) -> list[dict]:
    body = response.json()
    return body["results"] if isinstance(body, dict) else body


def seed_both_teams(listed: Listed, world: World) -> dict:
    """Two rows per team: {row: team}."""
    return {listed.seed(world, team): team for team in TEAMS for _ in range(2)}


def test_every_list_route_is_declared():
    """A new list endpoint or page fails here until tests/list_endpoints.py says how to seed it and who
    sees it."""
    api, pages = list_route_names()
    assert api == set(API) | {name for name in NOT_SEEDED if name.startswith("api:")}
    assert pages == set(PAGES) | {name for name in NOT_SEEDED if not name.startswith("api:")}


@pytest.mark.parametrize("name", sorted(API))
def test_an_api_list_shows_each_persona_the_rows_of_its_scope(name, api, world):
    listed = API[name]
    seeded = seed_both_teams(listed, world)
    url = listed.url(name, world)

    assert api.as_user(None).get(url).status_code == 401
    for persona in PERSONAS:
        query = {"page_size": 500} if listed.query is None else listed.query
        response = api.as_user(world.users[persona]).get(url, query)
        audience = listed.audience
        if persona in audience.refused or persona in audience.hidden_parent:
            assert response.status_code == (403 if persona in audience.refused else 404), (
                persona,
                response.content,
            )
            continue
        assert response.status_code == 200, (persona, response.content)
        shown = {item[listed.key] for item in api_items(response)}
        for row, team in seeded.items():
            expected = audience.sees(persona, team)
            assert (listed.ident(row) in shown) == expected, (persona, team, listed.ident(row), shown)


@pytest.mark.parametrize("name", sorted(API))
def test_an_api_list_takes_the_same_queries_for_one_row_as_for_five(name, api, world):
    listed = API[name]
    client = api.as_user(world.users[listed.audience.counted_as])
    listed.seed(world, "credit-risk")
    url = listed.url(name, world)
    # the largest page, so that every row counted fits on it (the shipped control catalogue alone fills 50)
    query = {"page_size": 500} if listed.query is None else listed.query
    client.get(url, query)  # warm caches that a first request fills (content types, the tiering rule)

    with CaptureQueriesContext(connection) as one:
        first = client.get(url, query)
    for _ in range(4):
        listed.seed(world, "credit-risk")
    with CaptureQueriesContext(connection) as five:
        second = client.get(url, query)

    assert first.status_code == second.status_code == 200
    assert len(api_items(second)) == len(api_items(first)) + 4
    assert len(five.captured_queries) == len(one.captured_queries), _diff(one, five)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_list_page_shows_each_persona_the_rows_of_its_scope(name, client, world):
    listed = PAGES[name]
    seeded = seed_both_teams(listed, world)
    url = listed.url(name, world)

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    for persona in PERSONAS:
        client.force_login(world.users[persona])
        response = client.get(url, listed.query)
        if persona in listed.audience.refused:
            assert response.status_code == 403, persona
            continue
        assert response.status_code == 200, persona
        body = response.content.decode()
        for row, team in seeded.items():
            expected = listed.audience.sees(persona, team)
            assert (listed.marker(row) in body) == expected, (persona, team, listed.marker(row))


@pytest.mark.parametrize("name", sorted(PAGES))
def test_a_list_page_takes_the_same_queries_for_one_row_as_for_five(name, client, world):
    listed = PAGES[name]
    client.force_login(world.users[listed.audience.counted_as])
    rows = [listed.seed(world, "credit-risk")]
    url = listed.url(name, world)
    client.get(url, listed.query)

    with CaptureQueriesContext(connection) as one:
        first = client.get(url, listed.query)
    rows += [listed.seed(world, "credit-risk") for _ in range(4)]
    with CaptureQueriesContext(connection) as five:
        second = client.get(url, listed.query)

    assert first.status_code == second.status_code == 200
    assert all(listed.marker(row) in second.content.decode() for row in rows)
    assert len(five.captured_queries) == len(one.captured_queries), _diff(one, five)


def _diff(one: CaptureQueriesContext, five: CaptureQueriesContext) -> str:
    """The queries the larger list added, to name the N+1 in the failure message."""
    seen = [query["sql"] for query in one.captured_queries]
    extra = [query["sql"] for query in five.captured_queries]
    for sql in seen:
        if sql in extra:
            extra.remove(sql)
    return "\n".join(sql[:300] for sql in extra[:10])
