"""docs/AUDIT.md's standalone recipe verifies a real export, and rejects a doctored one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from audit import checkpoints, keys
from tests.audit.conftest import write_events

pytestmark = pytest.mark.django_db
DOC = Path(__file__).resolve().parents[2] / "docs" / "AUDIT.md"


def recipe(tmp_path: Path) -> Path:
    text = DOC.read_text().split("## Verifying an export yourself", 1)[1]
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL).group(1)
    script = tmp_path / "verify_export.py"
    script.write_text(code)
    return script


def run(script: Path, *args: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)], capture_output=True, text=True, check=False
    )


@pytest.fixture
def exported(api, aaron, signing_key, tmp_path):
    write_events(5)
    checkpoints.create()
    checkpoints.export_pending()
    response = api.as_user(aaron).get(reverse("api:audit-event-export-jsonl"))
    events = tmp_path / "events.jsonl"
    events.write_text(b"".join(response.streaming_content).decode())
    return events, checkpoints.export_dir() / checkpoints.EXPORT_FILE, keys.public_path(signing_key)


def test_it_verifies_an_export_with_the_documented_script(exported, tmp_path):
    result = run(recipe(tmp_path), *exported)
    assert result.returncode == 0, result.stderr
    assert "checkpoints verified" in result.stdout


def test_it_rejects_a_doctored_export_with_the_documented_script(exported, tmp_path):
    events, checkpoint_file, public_key = exported
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    lines[2]["canonical"] = lines[2]["canonical"].replace('"index":2', '"index":7')
    events.write_text("".join(json.dumps(line) + "\n" for line in lines))
    result = run(recipe(tmp_path), events, checkpoint_file, public_key)
    assert result.returncode != 0
    assert "seq 3: the hashed bytes do not give the stored hash" in result.stderr
