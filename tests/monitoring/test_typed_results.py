"""Typed, versioned check results (monitoring.results): stored results of every kind load, write back
byte for byte, validate against the published JSON Schema, and other apps read them only through the types.

``data/stored_results_v1.json`` holds one run of each kind as the release before the types stored it
(format ``attest-check-results/1``), with its ``result_sha256``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import jsonschema
import pytest
import rfc8785

from monitoring import results
from monitoring.models import RunStatus
from tests.monitoring.conftest import execute, queue

STORED = json.loads((Path(__file__).parent / "data" / "stored_results_v1.json").read_text())
ROOT = Path(__file__).resolve().parents[2]
# every app but monitoring (whose check kinds write the results), and the project's wiring
OTHER_APPS = sorted({path.parent.name for path in ROOT.glob("*/apps.py")} - {"monitoring"} | {"config"})


@pytest.mark.parametrize("kind", sorted(STORED))
def test_it_reads_stored_results_of_each_kind_and_writes_them_back_unchanged(kind):
    stored = STORED[kind]

    typed = results.parse(kind, stored["results"])

    assert isinstance(typed, results.BY_KIND[kind])
    assert typed.format_version == 1
    assert typed.to_stored() == stored["results"]
    assert hashlib.sha256(rfc8785.dumps(typed.to_stored())).hexdigest() == stored["result_sha256"]
    evaluations = results.EVALUATIONS.validate_python(stored["evaluations"])
    assert results.stored_evaluations(evaluations) == stored["evaluations"]


def test_the_types_expose_what_the_reports_read():
    drift = results.parse("drift", STORED["drift"]["results"])
    fairness = results.parse("fairness", STORED["fairness"]["results"])
    performance = results.parse("performance", STORED["performance"]["results"])

    age = drift.metrics.data_drift.columns[0]
    assert (age.column, age.test.name) == ("age", "ks")
    assert (
        age.statistics.psi.value
        == STORED["drift"]["results"]["metrics"]["data_drift"]["columns"][0]["statistics"]["psi"]["value"]
    )
    assert age.statistics.of_test("ks")["p_value"] is not None
    assert fairness.metrics.fairness.min_group_size == 30
    assert fairness.charts.group_bars[0].features == ["sex"]
    assert performance.metrics.performance.headline("roc_auc") == performance.metrics.performance.roc_auc
    assert performance.charts.confusion_matrix.matrix


def test_results_without_a_format_are_version_1_and_keep_their_bytes():
    old = {key: value for key, value in STORED["fairness"]["results"].items() if key != "format"}

    typed = results.parse("fairness", old)

    assert typed.format_version == 1
    assert typed.to_stored() == old  # no format added: the stored digest stays reproducible
    assert typed.metrics.fairness.groupings[0].aggregates.demographic_parity_ratio.value is not None


def test_a_run_that_stored_little_reads_as_empty_parts():
    typed = results.parse("drift", {"recorded": "drift"})

    assert typed.metrics.data_drift.columns == []
    assert typed.charts.psi_bars == []
    assert typed.to_stored() == {"recorded": "drift"}


def test_it_refuses_results_of_a_newer_format():
    newer = STORED["drift"]["results"] | {"format": "attest-check-results/2"}

    with pytest.raises(results.ResultsFormatError, match="version 2"):
        results.parse("drift", newer)
    with pytest.raises(results.ResultsFormatError):
        results.parse("drift", {"format": "something else"})


def test_upgrades_run_in_order_up_to_the_current_version(monkeypatch):
    monkeypatch.setattr(results, "FORMAT_VERSION", 3)
    monkeypatch.setattr(
        results,
        "UPGRADES",
        {
            1: lambda stored: stored | {"format": "attest-check-results/2", "steps": ["1→2"]},
            2: lambda stored: (
                stored | {"format": "attest-check-results/3", "steps": [*stored["steps"], "2→3"]}
            ),
        },
    )

    lifted = results.upgraded({"kind": "drift"})

    assert lifted == {"kind": "drift", "format": "attest-check-results/3", "steps": ["1→2", "2→3"]}


@pytest.mark.parametrize("kind", sorted(STORED))
def test_stored_results_are_valid_against_the_published_schema(kind):
    # as docs/schemas/ publishes them (tests/reports/test_typed_schemas.py holds the files to these)
    published = results.json_schemas()

    jsonschema.validate(STORED[kind]["results"], published["check-results"])
    jsonschema.validate(STORED[kind]["evaluations"], published["check-evaluations"])


@pytest.mark.django_db
def test_a_new_run_stores_the_current_format(maya, version, reference, current):
    run = execute(queue(maya, "drift", version, reference=reference, current=current, columns=["age"]))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert run.results["format"] == results.FORMAT
    typed = results.of(run)
    assert typed.format_version == results.FORMAT_VERSION
    assert [column.column for column in typed.metrics.data_drift.columns] == ["age"]
    assert [item.metric for item in results.evaluations_of(run)] == [
        item["metric"] for item in run.evaluations
    ]


# Reading a run's results or evaluations by key outside monitoring: `run.results["metrics"]`,
# `results.get("charts")`, `run.evaluations` (use monitoring.results.of / evaluations_of instead).
RAW_READS = re.compile(
    r"\.results\s*(or\s*\{\}\s*\)?\s*)?(\[\s*['\"]|\.get\()|\.get\(\s*['\"](metrics|charts)['\"]|\.evaluations\b"
)


def test_other_apps_read_check_results_only_through_the_types():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in OTHER_APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if RAW_READS.search(line)
    ]

    assert found == []
