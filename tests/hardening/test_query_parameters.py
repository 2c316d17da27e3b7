"""Unknown query parameters: a 400 naming each one, on lists and details alike, never a silent 200.

GIVEN a signed-in ml-engineer and a model of her team
WHEN she sends a query parameter the operation does not document (a misspelt filter, an old name)
THEN the answer is a 400 whose `fields` names that parameter and lists what the operation accepts;
the documented parameters still work, and every API view is covered by the check.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from config.api.query import StrictQueryParameters, documented_query_parameters
from tests.registry.conftest import make_model

pytestmark = pytest.mark.django_db


def test_an_unknown_filter_on_a_list_is_refused_naming_it(api, maya):
    api.as_user(maya)
    response = api.get("/api/v1/checks/", {"modle": "credit-scoring"})

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["modle"]
    assert "model" in fields["modle"][0]
    assert "page_size" in fields["modle"][0]


def test_an_unknown_parameter_on_a_detail_is_refused(api, maya, credit_risk):
    model = make_model(maya, credit_risk)
    api.as_user(maya)

    assert api.get(f"/api/v1/models/{model.name}/").status_code == 200
    response = api.get(f"/api/v1/models/{model.name}/", {"expand": "versions"})
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["expand"]


def test_documented_parameters_are_accepted(api, maya):
    api.as_user(maya)
    response = api.get("/api/v1/models/", {"status": "draft", "ordering": "name", "page": 1, "page_size": 5})

    assert response.status_code == 200


def test_an_anonymous_caller_is_refused_before_its_parameters_are_read(api):
    assert api.as_user(None).get("/api/v1/checks/", {"modle": "x"}).status_code == 401


def test_every_api_view_refuses_unknown_parameters_and_is_in_the_schema():
    """A new view must derive from ScopedViewSet or mix in StrictQueryParameters, and be documented
    (what it accepts is read from its schema)."""
    documented_views = {view_class for view_class, _, _ in documented_query_parameters()}
    api_views = {_view_class(pattern) for pattern in _api_patterns()}

    assert {view for view in api_views if not issubclass(view, StrictQueryParameters)} == set()
    assert api_views - documented_views == set()


def _api_patterns():
    (api_resolver,) = [p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "api"]
    yield from _flatten(api_resolver)


def _flatten(resolver: URLResolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLPattern):
            yield pattern
        else:
            yield from _flatten(pattern)


def _view_class(pattern: URLPattern) -> type:
    return getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
