"""docs/schemas/ publishes the JSON Schemas of the typed documents (check results and evaluations, the
evidence manifest, each report kind's inputs); they are regenerated in memory here and must match."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from reports import schemas


def test_the_published_schemas_are_current():
    stale = schemas.stale(schemas.schema_dir())

    assert stale == [], f"run `manage.py publish_schemas` and commit docs/schemas ({', '.join(stale)})"


def test_every_published_schema_names_its_format():
    for name, schema in schemas.published().items():
        assert schema["$comment"].startswith("format attest"), name
        assert schema["title"].startswith("Attest "), name


def test_the_command_writes_the_schemas_and_its_check_sees_a_stale_one(tmp_path):
    call_command("publish_schemas", directory=tmp_path)
    call_command("publish_schemas", check=True, directory=tmp_path)

    (tmp_path / "evidence-manifest.json").write_text("{}\n")

    with pytest.raises(CommandError, match=r"evidence-manifest\.json"):
        call_command("publish_schemas", check=True, directory=tmp_path)
