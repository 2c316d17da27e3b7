"""Jobs on a real worker: ``attest checks run --wait`` follows a queued check to its outcome and its exit
code follows ``--fail-on``; ``attest bundles download --wait`` follows a bundle's build and saves its zip."""

from __future__ import annotations

import hashlib
import json
import zipfile

import pytest
from attest_client.cli import main
from click.testing import CliRunner

from accounts.services import accounts
from tests.monitoring.factories import credit_frame, csv_bytes
from tests.registry.conftest import LOW_RISK

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def attest(env, *args: str):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_checks_run_waits_for_the_outcome_and_exits_by_fail_on(cli_env, worker, credit_risk, tmp_path):
    answers = [arg for key, value in LOW_RISK.items() for arg in ("--answer", f"{key}={value}")]
    assert (
        attest(
            cli_env, "models", "register", "pd-wait", "--team", "credit-risk", "--title", "PD", *answers
        ).exit_code
        == 0
    )
    for seed in (1, 2):
        data = tmp_path / f"applicants-{seed}.csv"
        data.write_bytes(csv_bytes(credit_frame(seed=seed)))
        result = attest(cli_env, "datasets", "upload", "applicants", str(data), "--team", "credit-risk",
                        "--target-column", "label", "--prediction-column", "score")  # fmt: skip
        assert result.exit_code == 0, result.output
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"opaque")
    assert attest(cli_env, "versions", "upload", "pd-wait", str(artifact)).exit_code == 0

    result = attest(cli_env, "checks", "run", "pd-wait:1", "--kind", "drift", "--reference-dataset", "applicants:1",
                    "--current-dataset", "applicants:2", "--wait", "--wait-timeout", "120", "--fail-on", "fail")  # fmt: skip
    assert "(drift): queued" in result.stderr  # plain progress lines off a terminal
    assert "(drift): succeeded" in result.stderr, result.output
    outcome = result.stdout.split()[4]
    assert outcome in {"pass", "warn", "fail"}
    assert result.exit_code == (1 if outcome == "fail" else 0)

    # the same finished run judged by --fail-on warn, read back as JSON
    result = attest(cli_env, "--json", "checks", "run", "pd-wait:1", "--kind", "drift", "--reference-dataset",
                    "applicants:1", "--current-dataset", "applicants:2", "--wait", "--wait-timeout", "120",
                    "--fail-on", "warn")  # fmt: skip
    (run,) = json.loads(result.stdout)
    assert run["status"] == "succeeded"
    assert result.exit_code == (0 if run["outcome"] == "pass" else 1)


def test_an_evidence_bundle_is_built_then_downloaded_with_its_hash_checked(
    cli_env, worker, credit_risk, aaron, tmp_path
):
    answers = [arg for key, value in LOW_RISK.items() for arg in ("--answer", f"{key}={value}")]
    result = attest(
        cli_env, "models", "register", "pd-bundle", "--team", "credit-risk", "--title", "PD", *answers
    )
    assert result.exit_code == 0, result.output
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(b"opaque")
    assert attest(cli_env, "versions", "upload", "pd-bundle", str(artifact)).exit_code == 0
    _token, secret = accounts.token_create(actor=aaron, name="bundles", expires_in_days=1)
    auditor = {**cli_env, "ATTEST_TOKEN": secret}
    output = tmp_path / "evidence.zip"

    result = attest(auditor, "--json", "bundles", "download", "pd-bundle:1", "--wait", "--wait-timeout", "120",
                    "--output", str(output))  # fmt: skip

    assert result.exit_code == 0, result.output
    bundle = json.loads(result.stdout)
    assert bundle["status"] == "succeeded"
    assert hashlib.sha256(output.read_bytes()).hexdigest() == bundle["sha256"]
    with zipfile.ZipFile(output) as archive:
        assert any(name.endswith("bagit.txt") for name in archive.namelist())
    assert not list(tmp_path.glob("*.part"))

    # the same bundle again by its id, with plain progress lines
    result = attest(
        auditor, "bundles", "download", str(bundle["id"]), "--output", str(tmp_path / "again.zip")
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{tmp_path / 'again.zip'} sha256:{bundle['sha256']}\n"
    assert "downloaded again.zip" in result.stderr
