"""Drift checks in-process: the stored numbers are the metrics package's, judged and hashed reproducibly."""

import numpy as np
import pytest
import scipy.stats

from audit.models import AuditEvent
from monitoring.evidence import canonical_sha256
from monitoring.metrics.drift import DriftConfig, dataset_drift
from monitoring.models import RunStatus
from monitoring.services import runs
from registry.models.datasets import DatasetRole
from tests.monitoring import factories
from tests.monitoring.conftest import execute, queue

pytestmark = pytest.mark.django_db


def test_it_stores_the_drift_metrics_exactly_as_the_metrics_package_computes_them(
    maya, version, reference, current
):
    run = execute(queue(maya, "drift", version, reference=reference, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    ref, cur = factories.credit_frame(seed=2), factories.credit_frame(seed=3, shift=0.5)
    columns = ["age", "income", "sex", "region"]
    expected = dataset_drift(ref[columns], cur[columns], columns=columns, config=DriftConfig())
    assert run.results["metrics"]["data_drift"] == expected
    assert run.result_sha256 == canonical_sha256(run.results)
    assert run.reference_sha256 == reference.file_sha256
    assert run.current_sha256 == current.file_sha256


def test_it_matches_scipy_for_the_ks_statistic(maya, version, reference, current):
    run = execute(queue(maya, "drift", version, reference=reference, current=current, columns=["age"]))

    ks = run.results["metrics"]["data_drift"]["columns"][0]["statistics"]["ks"]
    expected = scipy.stats.ks_2samp(
        factories.credit_frame(seed=2)["age"], factories.credit_frame(seed=3, shift=0.5)["age"]
    )
    assert ks["statistic"] == pytest.approx(expected.statistic, abs=1e-12)


def test_it_gives_the_same_digest_when_rerun_on_the_same_inputs(maya, version, reference, current):
    first = execute(queue(maya, "drift", version, reference=reference, current=current))
    second = execute(queue(maya, "drift", version, reference=reference, current=current))

    assert first.result_sha256 == second.result_sha256
    assert first.results == second.results


def test_it_fails_a_drifted_batch_and_explains_each_judgement(maya, version, reference, current):
    run = execute(queue(maya, "drift", version, reference=reference, current=current))

    assert run.outcome == "fail"
    psi = [e for e in run.evaluations if e["metric"] == "psi" and e["scope"].startswith("column")]
    assert {e["scope"] for e in psi} == {"column 'age'", "column 'income'", "column 'sex'", "column 'region'"}
    age = next(e for e in psi if e["scope"] == "column 'age'")
    assert age["status"] == "fail"
    assert "PSI" in age["explanation"]
    assert age["threshold_source"].startswith("default: PSI bands")
    assert run.thresholds["psi_fail"] == {"value": 0.25, "source": age["threshold_source"], "binding": False}
    assert run.results["charts"]["psi_bars"][0]["column"] == "age"
    assert run.results["metrics"]["prediction_drift"]["prediction"]["column"] == "score"


def test_it_takes_thresholds_from_the_request_and_says_so(maya, version, reference, current):
    run = execute(
        queue(
            maya,
            "drift",
            version,
            reference=reference,
            current=current,
            thresholds={"psi_warn": 5, "psi_fail": 9},
        )
    )

    assert run.thresholds["psi_fail"]["source"] == "request"
    assert all(e["status"] == "pass" for e in run.evaluations if e["metric"] == "psi")


def test_it_records_each_state_change_once_and_ignores_a_redelivered_task(maya, version, reference, current):
    run = execute(queue(maya, "drift", version, reference=reference, current=current))

    assert runs.check_run_execute(run_id=run.pk, task_id="redelivered") == RunStatus.SUCCEEDED
    actions = list(
        AuditEvent.objects.filter(object_id=str(run.pk), object_type="monitoring.checkrun").values_list(
            "action", flat=True
        )
    )
    assert actions == ["check.queued", "check.started", "check.succeeded"]


def test_it_handles_nan_infinite_constant_and_all_missing_columns_without_crashing(maya, version, dataset):
    ref = factories.credit_frame(seed=4)
    cur = factories.credit_frame(seed=5)
    ref["constant"], cur["constant"] = 1.0, 1.0
    ref["empty"], cur["empty"] = np.nan, np.nan
    cur.loc[:9, "age"] = np.nan
    cur.loc[10:14, "income"] = np.inf
    reference = factories.make_dataset_version(maya, dataset, ref, role=DatasetRole.REFERENCE)
    current = factories.make_dataset_version(maya, dataset, cur)

    run = execute(queue(maya, "drift", version, reference=reference, current=current))

    assert run.status == RunStatus.SUCCEEDED, run.error_message
    columns = {c["column"]: c for c in run.results["metrics"]["data_drift"]["columns"]}
    assert columns["empty"]["status"] == "not_tested"
    assert columns["age"]["current"]["missing"] == 10
    assert columns["income"]["current"]["infinite"] == 5
    assert columns["constant"]["status"] == "tested"
    untested = next(e for e in run.evaluations if e["scope"] == "column 'empty'")
    assert untested["status"] == "warn"
    assert "not tested" in untested["explanation"]


def test_it_fails_clearly_when_a_stored_file_no_longer_matches_its_hash(
    maya, version, reference, current, media_root
):
    path = media_root / current.file_key
    path.write_bytes(path.read_bytes() + b"1,2,f,north,0,0.5\n")

    run = execute(queue(maya, "drift", version, reference=reference, current=current))

    assert run.status == RunStatus.FAILED
    assert run.error_type == "InputIntegrityError"
    assert "does not match its registered SHA-256" in run.error_message
