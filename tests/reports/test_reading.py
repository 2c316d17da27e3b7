"""The reading suite: the demo, taken through its approval and then checked again, read as a validator would.

A validator sends a document back when a statement in it disagrees with the signed record or with another
document. So this suite seeds the real `make run` demo (German credit data, the real model, every check
kind), completes its production approval, runs more checks on the same version afterwards, then renders
every document kind and reads the PDFs back with pypdf, comparing what they print with the API:

* the runs a document lists as approved evidence are exactly the signed manifest's; later ones are
  listed apart, titled as such, with their outcomes; no signature line is unexplained;
* every judged number printed for a manifest run equals the API's value for that run;
* the Annex IV document and the validation report's control coverage give every Annex IV item the same
  status;
* the monitoring report's breach count equals the warn/fail evaluations of its runs, each point keeps the
  status its run gave it, and p-values are read as p-values;
* the demo's drift alert names `age`, the strongest evidence of drift, first;
* the gate names the approval it rests on and closes (tier 1) once material evidence changed.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts import demo
from accounts.models import User
from monitoring.metrics import catalogue
from monitoring.models import CheckRun, MonitoringAlert
from monitoring.services import runs as run_services
from registry.demo import seed_registry
from registry.models import Dataset, ModelVersion
from reports.rendering.common import number
from reports.services import bundles as bundle_services
from reports.services import reports as report_services
from reports.services.assemble import documentation as documentation_data
from reports.services.assemble import monitoring as monitoring_data
from reports.services.assemble import validation as validation_data
from tests.reports.conftest import pdf_text
from workflow.demo_workflow import REFERENCE, VALIDATION, seed_workflow
from workflow.models import ApprovalRequest, Finding
from workflow.services import approvals
from workflow.services.approvals import SignatureInput

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
PASSWORD = "reading-suite"


def flat(text: str) -> str:
    """The text without whitespace: table cells wrap long strings anywhere."""
    return "".join(text.split())


def section(text: str, title: str, next_title: str | None = None) -> str:
    """The text of one section of a report body (after the contents pages)."""
    body = text[text.rindex(f"\n{title}\n") :] if f"\n{title}\n" in text else ""
    if next_title and f"\n{next_title}\n" in body:
        body = body[: body.index(f"\n{next_title}\n")]
    return body


@pytest.fixture
def approved_demo(settings):
    """The `make run` demo with its production approval completed by rita and the accountable admin."""
    settings.ATTEST_DEMO = True
    settings.ATTEST_DEMO_PASSWORD = PASSWORD
    settings.ATTEST_ALERT_TASK = ""  # the demo sweeps alerts into findings itself
    demo.seed_users()
    seed_registry()
    seed_workflow()
    version = ModelVersion.objects.select_related("model").get(model__name="credit-scoring", version=1)
    request = ApprovalRequest.objects.get(model_version=version, environment="production")
    for username, meaning in (("rita", "approval"), ("admin", "responsibility")):
        approvals.approval_sign(
            actor=User.objects.get(username=username),
            request=request,
            signing=SignatureInput(decision="approve", meaning=meaning, comment="Signed.", password=PASSWORD),
        )
    request.refresh_from_db()
    assert request.status == "approved", request.outcome_reason
    return version, request


def run_after_approval(version, kind: str, **config) -> CheckRun:
    maya = User.objects.get(username="maya")
    datasets = {
        "reference": Dataset.objects.get(name=REFERENCE).versions.order_by("-version").first(),
        "current": Dataset.objects.get(name="german-credit-production").versions.order_by("-version").first(),
    }
    if kind == "performance":
        datasets = {"current": Dataset.objects.get(name=VALIDATION).versions.order_by("-version").first()}
    run = run_services.check_run_create(actor=maya, kind=kind, version=version, config=config, **datasets)
    run_services.check_run_execute(run_id=run.pk, task_id=f"reading-{run.pk}")
    run.refresh_from_db()
    assert run.status == "succeeded", run.error_message
    return run


def render(kind: str, version, **extra):
    report = report_services.report_request(
        actor=User.objects.get(username="aaron"), kind=kind, version=version, queue=False, **extra
    )
    report = report_services.report_render(report_id=report.pk)
    assert report.status == "succeeded", report.error
    from registry import storage

    with storage.open_blob(report.file_key) as handle:
        return report, pdf_text(handle.read())


def test_the_demo_reads_as_one_signed_record(api, approved_demo):
    """One seed of the demo (about a minute: it trains the model and runs every check kind) for both
    readings below."""
    the_demo_explainability_is_judged_on_what_can_fail(approved_demo)
    the_monitoring_report_and_the_alert_read_p_values_as_p_values(approved_demo)
    the_documents_of_an_approved_and_rechecked_demo_agree_with_the_signed_record(api, approved_demo)


def the_demo_explainability_is_judged_on_what_can_fail(approved_demo):
    """GIVEN the demo's explainability check in the signed manifest (60 rows, 30 background rows)
    THEN age carries about 4 % of the attribution (sex and foreign_worker none), under the tier-1 bound of
    0.1, and the top-5 ranking on the validation data agrees with the training data's (tau-b 0.8): a pass
    that rests on bounds which can fail, not on SHAP's additivity."""
    _, approval = approved_demo
    (run_id,) = [
        check["run"] for check in approval.evidence_manifest["checks"] if check["kind"] == "explainability"
    ]
    run = CheckRun.objects.get(pk=run_id)
    judged = {item["metric"]: item for item in run.evaluations}

    sensitive = run.results["metrics"]["reliance"]["sensitive"]["by_feature"]
    assert 0.02 < sensitive["age"] < 0.08
    assert sensitive["sex"] < 0.005
    assert sensitive["foreign_worker"] < 0.005
    assert judged["sensitive_shap_share"]["status"] == "pass"
    assert judged["sensitive_shap_share"]["threshold_source"].startswith("policy: tier 1")
    assert judged["top_feature_rank_stability"]["status"] == "pass"
    assert judged["top_feature_rank_stability"]["value"] >= 0.6
    assert "shap_additivity" not in judged  # a diagnostic: a holding additivity is not a judgement
    assert run.outcome == "pass"


def the_documents_of_an_approved_and_rechecked_demo_agree_with_the_signed_record(api, approved_demo):
    """GIVEN the demo approved for production by all three stages
    WHEN a drift check on the production batch and a performance check run on the same version afterwards
    THEN the validation report, the Annex IV document and the evidence bundle describe the signed manifest
    (its runs, its numbers), list the later runs apart with their outcomes, explain every signature's
    digest, agree on every Annex IV item, and the gate closes for the material change."""
    version, approval = approved_demo
    manifest_runs = {check["run"] for check in approval.evidence_manifest["checks"]}
    later = [
        run_after_approval(version, "drift"),
        run_after_approval(version, "performance", prediction_column="score", score_label="bad"),
    ]
    assert later[0].outcome in ("warn", "fail")  # the production batch is shifted: material for tier 1

    validation, text = render("validation", version)
    assert validation.parameters["approval"] == approval.pk
    assert validation.summary["evidence_digest"] == approval.evidence_digest
    compact = flat(text)

    # the approved evidence is exactly the manifest's runs; the later runs are listed apart
    index = flat(section(text, "Evidence index"))
    listed = {
        run.pk for run in CheckRun.objects.filter(model_version=version) if f"checkrun{run.pk}(" in index
    }
    assert listed == manifest_runs
    after = section(text, "Evidence after approval", "Control coverage")
    assert "After approval: 2 check runs" in after
    for run in later:
        assert f"{run.pk} {run.kind} {run.outcome.capitalize()}" in after or flat(
            f"{run.pk}{run.kind}"
        ) in flat(after)
    assert "Material changes" in after

    # every signature says it matches the manifest the report describes; nothing is unexplained
    assert "DIFFERENT" not in text
    assert compact.count(flat("matches the approved manifest")) == approval.signatures.count() == 3

    # every judged number of a manifest run is printed as the API gives it
    for run_id in sorted(manifest_runs):
        body = api.as_user(User.objects.get(username="aaron")).get(
            reverse("api:check-run-detail", args=[run_id])
        )
        assert body.status_code == 200
        for item in body.json()["evaluations"]:
            if isinstance(item["value"], float) and item["metric"] != "shap_additivity":
                assert flat(number(item["value"])) in compact, (run_id, item["metric"], item["scope"])

    # the Annex IV document and the validation report's control coverage agree item by item
    documentation, annex_text = render("documentation", version)
    states = documentation_data.item_states(version, approval_evidence(version, approval))
    controls = {c.control_id: c for c in validation_data.validation_input(validation).controls}
    for number_ in range(1, 10):
        items = [key for key in states if key[0] == str(number_)]
        all_supplied = all(states[key].status == "supplied" for key in items)
        assert (controls[f"AIA-IV.{number_}"].status == "satisfied") is all_supplied, number_
    assert set(documentation.summary["missing"]) == {
        key for key, s in states.items() if s.status != "supplied"
    }
    assert (
        f"{documentation.summary['supplied']} of {documentation.summary['items']} items supplied"
        in annex_text
    )
    for key in ("4", "5", "7"):  # the three items the two documents used to disagree on
        shown = "satisfied" if states[key].status == "supplied" else "not-satisfied"
        assert controls[f"AIA-IV.{key}"].status == shown

    # the gate rests on this approval and closes for the material change (tier 1 policy)
    gate = api.as_user(User.objects.get(username="maya")).get(
        reverse("api:gate"), {"model": "credit-scoring", "version": 1, "environment": "production"}
    )
    answer = gate.json()
    assert (answer["approval"], answer["approval_digest"]) == (approval.pk, approval.evidence_digest)
    assert "evidence_changed_since_approval" in answer["codes"]
    assert any(f"drift run {later[0].pk}" in change for change in answer["evidence_changes"])

    # the bundle carries the signed manifest's documents and a description of each dataset
    bundle = bundle_services.bundle_request(
        actor=User.objects.get(username="aaron"), version=version, queue=False
    )
    bundle = bundle_services.bundle_build(bundle_id=bundle.pk)
    assert bundle.status == "succeeded", bundle.error
    from registry import storage

    with storage.open_blob(bundle.file_key) as handle, zipfile.ZipFile(io.BytesIO(handle.read())) as bag:
        names = bag.namelist()
        root = names[0].split("/")[0]
        record = json.loads(bag.read(f"{root}/data/evidence/signed-manifest.json"))
        documents = json.loads(bag.read(f"{root}/data/evidence/documents.json"))["documents"]
        assert record["approval"] == approval.pk
        assert record["evidence_digest"] == approval.evidence_digest
        assert {item["run"] for item in record["after_approval"]["check_runs"]} == {run.pk for run in later}
        assert sorted(d["sha256"] for d in documents) == sorted(
            e["sha256"] for e in approval.evidence_manifest["evidence"]
        )
        for document in documents:
            assert bag.read(f"{root}/data/{document['path']}")  # each file is in the bag
        for dataset in approval.evidence_manifest["datasets"]:
            described = [n for n in names if f"/datasets/{dataset['name']}-v{dataset['version']}.json" in n]
            assert described, dataset
            assert json.loads(bag.read(described[0]))["sha256"] == dataset["sha256"]


def approval_evidence(version, approval):
    from workflow.services.evidence import signed_evidence

    return signed_evidence(version, approval)


def the_monitoring_report_and_the_alert_read_p_values_as_p_values(approved_demo):
    """GIVEN the demo's first production batch, checked by its daily drift plan
    WHEN the monitoring report for the period is rendered and the alert is read
    THEN the report counts every warn/fail evaluation as a breach, each point keeps its run's status (a
    passing p-value of 0.44 is no breach, a KS p of 1e-18 is), p-values are drawn on a log scale, and the
    alert and its finding name `age` first."""
    version, _ = approved_demo
    alert = MonitoringAlert.objects.get(plan__model_version=version)
    run = alert.check_run
    breaching = [item for item in run.evaluations if item["status"] in ("warn", "fail")]

    assert alert.breaches[0]["scope"] == "column 'age'"
    assert alert.title.startswith("Drift on column 'age'")
    finding = Finding.objects.get(check_run=run, source="monitoring")
    assert "column 'age'" in finding.title
    assert [item["scope"] for item in alert.breaches].index("column 'present_employment'") > 0

    start = run.finished_at - timedelta(hours=1)
    report, text = render(
        "monitoring", version, period_start=start, period_end=timezone.now() + timedelta(hours=1)
    )
    assert report.summary["breaches"] == len(breaching)
    assert report.summary["warnings"] + report.summary["failures"] == len(breaching)
    failed = sum(1 for item in breaching if item["status"] == "fail")
    assert f"{len(breaching)} ({failed} failed, {len(breaching) - failed} warned)" in text

    metrics = flat(section(text, "Metrics over time", "Alerts"))
    assert metrics.index(flat("(column 'age')")) < metrics.index(flat("(column 'present_employment')"))

    data = monitoring_data.monitoring_input(report)
    by_name = {series.metric + series.name: series for series in data.series}
    for item in run.evaluations:
        declared = catalogue.lookup(item["metric"])
        series = by_name[item["metric"] + f"{declared.label} ({item['scope']})"]
        assert series.points[0].outcome == item["status"]  # as the run judged it, never re-judged
        assert series.log_scale is (declared.scale == "log")
        if item["metric"].startswith("drift_test:") and declared.unit == "p-value":
            assert series.direction == catalogue.LOWER_IS_WORSE
            assert ("at least" in series.rule_text) is True
