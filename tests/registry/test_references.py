"""One reference syntax for model versions and dataset versions (registry/references.py).

GIVEN the forms `name`, `name:version`, `models:/name/version` and `models:/name@alias`
WHEN they are parsed and resolved within a user's scope
THEN each names the version it says (the newest for a bare name, the aliased one for `@alias`); text in
no accepted form is refused with the list of forms; a dataset takes only `name` and `name:version`.
"""

from __future__ import annotations

import pytest

from registry import selectors
from registry.references import InvalidReference, Reference, parse_dataset_reference, parse_model_reference
from tests.factories import records as rows
from tests.registry.conftest import make_dataset_version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("credit-scoring", Reference("credit-scoring")),
        ("credit-scoring:3", Reference("credit-scoring", version=3)),
        ("models:/credit-scoring/3", Reference("credit-scoring", version=3)),
        ("models:/credit-scoring@champion", Reference("credit-scoring", alias="champion")),
        ("  credit_scoring:12 ", Reference("credit_scoring", version=12)),
    ],
)
def test_it_parses_every_model_form(text, expected):
    assert parse_model_reference(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "credit-scoring:",
        "credit-scoring:0",
        "credit-scoring:v2",
        "models:/credit-scoring",
        "models:/a/b",
        "models:/a@",
        "runs:/abc/model",
        "a b",
        "credit-scoring:1:2",
        "models:/a/1@x",
    ],
)
def test_it_refuses_text_in_no_accepted_form_listing_the_forms(text):
    with pytest.raises(InvalidReference) as refused:
        parse_model_reference(text)
    assert "models:/name@alias" in str(refused.value)


def test_a_dataset_reference_has_no_mlflow_form():
    assert parse_dataset_reference("german-credit:2") == Reference("german-credit", version=2)
    assert parse_dataset_reference("german-credit") == Reference("german-credit")
    with pytest.raises(InvalidReference, match="name:version"):
        parse_dataset_reference("models:/german-credit/2")


@pytest.mark.django_db
def test_it_resolves_the_newest_a_number_and_an_alias_within_scope(maya, olga, credit_risk):
    model = rows.RegisteredModelFactory(name="credit-scoring", team=credit_risk, owner=maya)
    first, second, third = (rows.ModelVersionFactory(model=model, version=n) for n in (1, 2, 3))
    rows.ModelAliasFactory(version=second, name="champion")
    # another model's alias of the same name must not leak into this one
    other = rows.RegisteredModelFactory(name="other", team=credit_risk, owner=maya)
    rows.ModelAliasFactory(version=rows.ModelVersionFactory(model=other, version=1), name="champion")

    def resolve(text, user=maya):
        return selectors.model_version_by_reference(user=user, reference=parse_model_reference(text))

    assert resolve("credit-scoring") == third
    assert resolve("credit-scoring:1") == first
    assert resolve("models:/credit-scoring/1") == first
    assert resolve("models:/credit-scoring@champion") == second
    assert resolve("models:/credit-scoring@challenger") is None
    assert resolve("credit-scoring:9") is None
    assert resolve("credit-scoring", user=olga) is None


@pytest.mark.django_db
def test_a_bare_dataset_name_is_its_newest_version(maya, dataset):
    make_dataset_version(maya, dataset)
    newest = make_dataset_version(maya, dataset, content=b"a,b\n1,2\n")

    assert selectors.dataset_version_by_reference(user=maya, reference=dataset.name) == newest
    assert selectors.dataset_version_by_reference(user=maya, reference=f"{dataset.name}:1").version == 1
    assert selectors.dataset_version_by_reference(user=maya, reference=f"{dataset.name}:x") is None
