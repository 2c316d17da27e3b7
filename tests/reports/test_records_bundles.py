"""Evidence bundles: built by the task body from stored data, unzipped and checked like an auditor would.

Each bundle is built once per test and every check is made on that one zip: it validates with the
Library of Congress ``bagit`` tool and fails once a file is changed, its OSCAL validates with
compliance-trestle, its audit excerpt re-hashes, its checkpoint's signature verifies with the key
shipped beside it.
"""

# ruff: noqa: F811  (fixtures imported from records_support are used as test arguments)

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import bagit
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.urls import reverse
from django.utils import timezone
from trestle.oscal.assessment_results import AssessmentResults

from audit import checkpoints
from audit.chain import chain_hash
from audit.checkpoints import signed_bytes
from audit.models import AuditEvent
from monitoring.models import CheckRun
from reports.models import EvidenceBundle, Report
from reports.services import bundles as bundle_services
from tests.reports.conftest import pdf_text
from tests.reports.records_support import (  # noqa: F401  (fixtures)
    approved,
    evaluation,
    quick_ready_version,
    quick_version,
    stored_run,
    tier1_model,
)

pytestmark = pytest.mark.django_db
BUNDLES = reverse("api:evidence-bundle-list")
BAGIT_CLI = Path(sys.executable).with_name("bagit.py")


def build(api, user, body) -> tuple[EvidenceBundle, bytes]:
    response = api.as_user(user).post(BUNDLES, body, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    bundle = bundle_services.bundle_build(bundle_id=response.json()["id"])
    assert bundle.status == "succeeded", bundle.error
    download = api.as_user(user).get(reverse("api:evidence-bundle-download", args=[bundle.pk]))
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    assert hashlib.sha256(content).hexdigest() == bundle.sha256 == download["X-Checksum-SHA256"]
    return bundle, content


def unzip(content: bytes, folder: Path, name: str) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(folder)
    return folder / name


def test_it_bundles_a_version_into_a_bag_that_an_auditor_can_verify(
    api, aaron, victor, rita, admin_user, approved, tmp_path
):
    """GIVEN an approved version with recorded runs, evidence and a signed checkpoint
    WHEN aaron requests its evidence bundle and the task builds it
    THEN the unzipped bag validates (and fails once a file is changed), and holds the three PDFs, the
    results as JSON and CSV, the approvals and signatures, an audit excerpt that re-hashes with its
    verification and checkpoint, and OSCAL assessment results that compliance-trestle accepts."""
    checkpoint = checkpoints.create(actor=None, force=True)
    bundle, content = build(api, aaron, {"model": "credit-scoring", "version": 1})
    bag_dir = unzip(content, tmp_path, bundle.bag_name)

    result = subprocess.run([str(BAGIT_CLI), "--validate", str(bag_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    data = bag_dir / "data"
    listed = {entry["path"] for entry in bundle.files}
    assert listed == {f"data/{p.relative_to(data).as_posix()}" for p in data.rglob("*") if p.is_file()}
    for name in ("validation-report.pdf", "model-documentation.pdf", "audit-evidence.pdf"):
        assert f"data/reports/{name}" in listed
    assert bag.info["Attest-Scope"] == "credit-scoring v1"

    runs = CheckRun.objects.filter(model_version=approved.model_version, status="succeeded")
    for run in runs:
        stored = (data / "checks" / "runs" / f"run-{run.pk}.json").read_bytes()
        assert hashlib.sha256(stored).hexdigest() == run.result_sha256
    results = json.loads((data / "checks" / "results.json").read_text())
    assert {item["run_id"] for item in results} == {str(run.pk) for run in runs}
    rows = list(csv.DictReader(io.StringIO((data / "checks" / "results.csv").read_text())))
    assert {row["check_run"] for row in rows} == {str(run.pk) for run in runs}

    approvals = json.loads((data / "approvals" / "approvals.json").read_text())
    signatures = approvals[0]["signatures"]
    assert [(s["printed_name"], s["meaning"]) for s in signatures] == [
        (victor.printed_name, "review"),
        (rita.printed_name, "approval"),
        (admin_user.printed_name, "responsibility"),
    ]
    assert all(s["evidence_digest"] == approvals[0]["evidence_digest"] for s in signatures)

    events = [json.loads(line) for line in (data / "audit" / "events.jsonl").read_text().splitlines()]
    assert events
    assert all(chain_hash(e["prev_hash"], e["canonical"].encode()) == e["hash"] for e in events)
    assert "approval.approved" in {e["action"] for e in events}
    verification = json.loads((data / "audit" / "verification.json").read_text())
    assert verification["intact"] is True
    assert verification["last_seq"] >= events[-1]["seq"]
    exported = json.loads((data / "audit" / "checkpoint.json").read_text())
    assert exported["number"] == checkpoint.number
    key = load_pem_public_key(next((data / "audit").glob("public-key-*.pem")).read_bytes())
    key.verify(bytes.fromhex(exported["signature"]), signed_bytes(exported))  # raises if forged

    oscal = json.loads((data / "oscal" / "assessment-results.json").read_text())["assessment-results"]
    AssessmentResults.model_validate(oscal)
    observations = oscal["results"][0]["observations"]
    assert len(observations) == 5  # one per latest validation run (one of each kind)
    assert {f["target"]["status"]["state"] for f in oscal["results"][0]["findings"]} <= {
        "satisfied",
        "not-satisfied",
    }

    validation_text = pdf_text((data / "reports" / "validation-report.pdf").read_bytes())
    for user in (victor, rita, admin_user):
        assert user.printed_name in validation_text
    children = Report.objects.filter(bundle=bundle)
    assert children.count() == 3
    assert all(report.status == "succeeded" for report in children)
    generated = AuditEvent.objects.get(action="bundle.generated", object_id=str(bundle.pk))
    assert generated.after["sha256"] == bundle.sha256
    assert AuditEvent.objects.filter(action="bundle.downloaded", object_id=str(bundle.pk)).exists()

    with (data / "checks" / "results.csv").open("a") as handle:
        handle.write("credit-scoring,1,,drift,999,psi,,0.01,,pass,2025-01-01T00:00:00Z,,\r\n")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()


def test_it_bundles_a_time_range(api, aaron, maya, quick_version, tmp_path):
    """GIVEN check runs of a version inside and outside a period
    WHEN aaron requests the period's bundle
    THEN it holds the runs of the period, their OSCAL assessment results (valid), the period's audit
    evidence report and audit events, and the bag validates."""
    before = stored_run(
        quick_version,
        "performance",
        [evaluation("roc_auc", "current dataset", 0.6, 0.7, "fail")],
        outcome="fail",
    )
    start = timezone.now()
    assert before.finished_at < start
    inside = stored_run(quick_version, "performance", [evaluation("roc_auc", "current dataset", 0.82, 0.7)])
    end = timezone.now() + timedelta(seconds=1)
    body = {"period_start": start.isoformat(), "period_end": end.isoformat()}

    refused = api.as_user(maya).post(BUNDLES, body, format="json")
    assert refused.status_code == 403  # bundles reproduce the audit log: auditors, risk officers, admins

    bundle, content = build(api, aaron, body)
    assert bundle.model_id is None
    assert bundle.contents["reports"] == ["audit-evidence.pdf"]
    bag_dir = unzip(content, tmp_path, bundle.bag_name)
    bagit.Bag(str(bag_dir)).validate()
    data = bag_dir / "data"
    results = json.loads((data / "checks" / "results.json").read_text())
    assert [item["run_id"] for item in results] == [str(inside.pk)]
    oscal_files = list((data / "oscal").glob("assessment-results-*.json"))
    assert [path.name for path in oscal_files] == ["assessment-results-credit-scoring-v1.json"]
    AssessmentResults.model_validate(json.loads(oscal_files[0].read_text())["assessment-results"])
    events = [json.loads(line) for line in (data / "audit" / "events.jsonl").read_text().splitlines()]
    times = {event["occurred_at"] for event in events}
    assert all(start.isoformat()[:19] <= time[:19] for time in times)
