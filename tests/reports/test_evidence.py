"""Evidence bundle (BagIt), OSCAL assessment results and the GRC CSV feed."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import uuid
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import bagit
import pytest
from trestle.oscal.assessment_results import AssessmentResults

from reports.evidence.bag import build_bag_zip
from reports.evidence.bundle import BundleInput, build_evidence_bundle
from reports.evidence.csv_feed import COLUMNS, check_results_csv, escape_cell
from reports.evidence.oscal import AssessmentInput, assessment_results, assessment_results_json, control_token
from reports.evidence.records import CheckResult, CheckRun, ControlRef
from reports.rendering.inputs import ModelInfo, canonical_json

AT = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
BAGIT_CLI = Path(sys.executable).with_name("bagit.py")


def _run(run_id: str, check: str, outcome: str, controls: list[str], *results: CheckResult) -> CheckRun:
    return CheckRun(
        run_id=run_id,
        model="credit-default",
        version=7,
        check=check,
        outcome=outcome,
        evaluated_at=AT,
        controls=controls,
        evidence_uri=f"attest://checks/{run_id}",
        evidence_sha256=hashlib.sha256(run_id.encode()).hexdigest(),
        results=results,
    )


RUNS = (
    _run(
        "run-1",
        "drift",
        "warn",
        ["CTL-001", "SR 11-7 §V.2"],
        CheckResult(metric="psi", value=0.12, threshold=0.25, result="pass", subject="income"),
    ),
    _run(
        "run-2",
        "fairness",
        "fail",
        ["CTL-002"],
        CheckResult(metric="disparate_impact", value=0.71, threshold=0.8, result="fail", subject="sex"),
    ),
    _run(
        "run-3",
        "performance",
        "pass",
        ["CTL-002"],
        CheckResult(metric="auc", value=0.81, threshold=0.75, result="pass"),
    ),
)
CONTROLS = (
    ControlRef(control_id="CTL-001", title="Data drift is monitored", framework="SR 11-7"),
    ControlRef(control_id="CTL-002", title="Outcomes are fair and accurate", framework="EU AI Act"),
    ControlRef(control_id="SR 11-7 §V.2", title="Ongoing monitoring", framework="SR 11-7"),
    ControlRef(control_id="CTL-404", title="Untested control", framework="ISO/IEC 42001"),
)
ASSESSMENT = AssessmentInput(
    title="Automated assessment of credit-default v7",
    model=ModelInfo(name="credit-default", version=7, title="Retail PD scorecard"),
    generated_at=AT,
    policy="tier-1 v3",
    controls=CONTROLS,
    runs=RUNS,
    environment="production",
)
BUNDLE = BundleInput(
    bundle_id="evidence-credit-default-v7",
    scope="model credit-default v7",
    generated_at=AT,
    generated_by="Aaron Åberg",
    organisation="Example Bank plc",
    reports={"validation-report.pdf": b"%PDF-1.7 stand-in"},
    check_runs=RUNS,
    approvals=[
        {"request": 12, "signatures": [{"printed_name": "Rita Okonkwo-Smith", "meaning": "approval"}]}
    ],
    audit_events=[{"sequence": 1, "action": "model.created"}, {"sequence": 2, "action": "approval.signed"}],
    audit_verification={"ok": True, "events_checked": 2},
    audit_checkpoint={"sequence": 2, "chain_head": "ab" * 32, "signature": "c2ln"},
    assessment=ASSESSMENT,
)


# ---------------------------------------------------------------------------------------------- bag


@pytest.fixture
def bag_dir(tmp_path):
    zipfile.ZipFile(io.BytesIO(build_evidence_bundle(BUNDLE))).extractall(tmp_path)
    return tmp_path / BUNDLE.bundle_id


def test_it_builds_a_bag_that_validates(bag_dir):
    bag = bagit.Bag(str(bag_dir))
    assert bag.validate()
    assert bag.info["External-Identifier"] == "evidence-credit-default-v7"
    assert bag.info["Payload-Oxum"].endswith(".8")  # eight payload files
    assert (bag_dir / "manifest-sha256.txt").is_file()


def test_it_validates_with_the_bagit_command_line_tool(bag_dir):
    completed = subprocess.run(
        [sys.executable, str(BAGIT_CLI), "--validate", str(bag_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "is valid" in completed.stderr


def test_it_holds_every_part_of_the_evidence(bag_dir):
    data = bag_dir / "data"
    assert (data / "reports/validation-report.pdf").read_bytes() == b"%PDF-1.7 stand-in"
    assert (data / "checks/results.json").read_bytes() == canonical_json(RUNS)
    assert (data / "checks/results.csv").read_bytes() == check_results_csv(RUNS)
    assert (data / "audit/events.jsonl").read_text().splitlines() == [
        '{"action":"model.created","sequence":1}',
        '{"action":"approval.signed","sequence":2}',
    ]
    assert json.loads((data / "audit/checkpoint.json").read_text())["sequence"] == 2
    assert (data / "oscal/assessment-results.json").read_bytes() == assessment_results_json(ASSESSMENT)


def test_it_fails_validation_after_a_file_is_changed(bag_dir):
    (bag_dir / "data/audit/events.jsonl").write_text('{"action":"model.deleted","sequence":1}\n')
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_it_fails_validation_after_a_file_is_added(bag_dir):
    (bag_dir / "data/reports/forged.pdf").write_bytes(b"%PDF")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_it_fails_validation_after_a_file_is_removed(bag_dir):
    (bag_dir / "data/approvals/approvals.json").unlink()
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_it_builds_the_same_zip_bytes_from_the_same_inputs():
    assert build_evidence_bundle(BUNDLE) == build_evidence_bundle(BUNDLE)
    entry = zipfile.ZipFile(io.BytesIO(build_evidence_bundle(BUNDLE))).infolist()[-1]
    assert entry.date_time == (2025, 3, 14, 9, 26, 52)  # zip times have two-second resolution


@pytest.mark.parametrize(
    "path", ["../escape.txt", "/etc/passwd", "a//b", ".hidden", "reports/.x", "with space.pdf", "a\\b"]
)
def test_it_refuses_unsafe_payload_paths(path):
    with pytest.raises(ValueError, match="segments"):
        build_bag_zip([(path, b"x")], name="bag", bagged_at=AT)


def test_it_refuses_duplicate_paths_and_reserved_labels():
    with pytest.raises(ValueError, match="duplicate"):
        build_bag_zip([("a.txt", b"1"), ("a.txt", b"2")], name="bag", bagged_at=AT)
    with pytest.raises(ValueError, match="filled in by the writer"):
        build_bag_zip([], name="bag", bagged_at=AT, info={"Payload-Oxum": "1.1"})


# ---------------------------------------------------------------------------------------------- OSCAL


def test_it_writes_oscal_that_trestle_validates():
    document = assessment_results(ASSESSMENT)["assessment-results"]
    model = AssessmentResults.model_validate(document)
    assert model.metadata.oscal_version.root.root == "1.2.1"
    assert json.loads(assessment_results_json(ASSESSMENT))["assessment-results"] == document


def test_it_observes_each_check_run_as_a_test_with_hashed_evidence():
    document = assessment_results(ASSESSMENT)["assessment-results"]
    observations = document["results"][0]["observations"]
    assert len(observations) == len(RUNS)
    assert all(o["methods"] == ["TEST"] for o in observations)
    resources = {r["uuid"]: r for r in document["back-matter"]["resources"]}
    for run, observation in zip(RUNS, observations, strict=True):
        evidence = observation["relevant-evidence"][0]
        resource = resources[evidence["href"].removeprefix("#")]
        assert resource["rlinks"][0]["hashes"] == [{"algorithm": "SHA-256", "value": run.evidence_sha256}]
        assert resource["rlinks"][0]["href"] == run.evidence_uri


def test_it_finds_each_control_satisfied_or_not():
    findings = assessment_results(ASSESSMENT)["assessment-results"]["results"][0]["findings"]
    states = {f["target"]["target-id"]: f["target"]["status"]["state"] for f in findings}
    assert states == {
        "CTL-001": "satisfied",  # warn: the threshold was met
        "CTL-002": "not-satisfied",  # one of its runs failed
        control_token("SR 11-7 §V.2"): "satisfied",
        "CTL-404": "not-satisfied",  # no evidence at all
    }
    assert control_token("SR 11-7 §V.2") == "SR-11-7--V.2"


def test_it_uses_stable_uuid5_identifiers():
    first = assessment_results_json(ASSESSMENT)
    assert first == assessment_results_json(ASSESSMENT)
    document = json.loads(first)["assessment-results"]
    assert uuid.UUID(document["uuid"]).version == 5
    changed = assessment_results(replace(ASSESSMENT, runs=RUNS[:2]))["assessment-results"]
    assert changed["uuid"] != document["uuid"]
    # the same check run keeps its observation id in every document
    assert (
        changed["results"][0]["observations"][0]["uuid"] == document["results"][0]["observations"][0]["uuid"]
    )


# ---------------------------------------------------------------------------------------------- CSV


def test_it_writes_one_row_per_result_and_control():
    table = list(csv.reader(io.StringIO(check_results_csv(RUNS).decode())))
    assert tuple(table[0]) == COLUMNS
    assert len(table) == 1 + 2 + 1 + 1
    assert table[1][:4] == ["credit-default", "7", "CTL-001", "drift"]
    assert table[1][COLUMNS.index("evaluated_at")] == "2025-03-14T09:26:53Z"


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_it_escapes_cells_that_a_spreadsheet_would_run(text):
    run = replace(RUNS[0], model=text, results=[CheckResult(metric=text, value=-0.5, subject=text)])
    row = list(csv.reader(io.StringIO(check_results_csv([run]).decode(), newline="")))[1]
    for column in ("model", "metric", "subject"):
        assert row[COLUMNS.index(column)] == "'" + text
    assert row[COLUMNS.index("value")] == "-0.5"  # a number, not text: left alone


def test_it_leaves_ordinary_text_alone():
    assert escape_cell("credit-default") == "credit-default"
    assert escape_cell("") == ""
