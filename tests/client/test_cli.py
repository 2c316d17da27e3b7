"""The ``attest`` CLI and its client against a live server: the loop a CI job runs (register a model,
upload datasets and a version, queue checks, request approval, ask the gate) and its exit codes."""

from __future__ import annotations

import hashlib
import json
import stat

import pytest
from attest_client import ApiError, Client
from attest_client.cli import Context, main
from click.testing import CliRunner

from accounts.services import accounts
from registry.models import ModelVersion
from tests.factories.records import ApprovalRequestFactory
from tests.registry.conftest import CSV, LOW_RISK

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACT = b"an opaque model artifact\n" * 1000


def attest(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def answers() -> list[str]:
    return [arg for key, value in LOW_RISK.items() for arg in ("--answer", f"{key}={value}")]


@pytest.fixture
def registered(cli_env, credit_risk, tmp_path):
    """A model with its tiering answers, a dataset and a version uploaded through the CLI."""
    code, out, err = attest(
        cli_env,
        "--json",
        "models",
        "register",
        "pd-cli",
        "--team",
        "credit-risk",
        "--title",
        "PD",
        *answers(),
    )
    assert code == 0, err
    assert json.loads(out)["name"] == "pd-cli"
    data = tmp_path / "german-credit.csv"
    data.write_bytes(CSV)
    code, out, err = attest(
        cli_env, "--json", "datasets", "upload", "german-credit", str(data), "--team", "credit-risk",
        "--role", "validation", "--target-column", "label", "--prediction-column", "score",
        "--favourable-label", "0",
    )  # fmt: skip
    assert code == 0, err
    artifact = tmp_path / "model.bin"
    artifact.write_bytes(ARTIFACT)
    code, out, err = attest(
        cli_env, "--json", "versions", "upload", "pd-cli", str(artifact),
        "--validation-dataset", "german-credit:1", "--tag", "stage=ci", "--metric", "auc=0.81",
    )  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def test_a_version_uploaded_by_the_cli_carries_its_hash_datasets_and_metadata(registered, cli_env):
    assert registered["model"] == "pd-cli"
    assert registered["version"] == 1
    assert registered["artifact"]["sha256"] == hashlib.sha256(ARTIFACT).hexdigest()
    assert registered["validation_datasets"][0]["dataset"] == "german-credit"
    assert registered["tags"] == {"stage": "ci"}
    assert registered["metrics"] == {"auc": 0.81}
    # a CI job runs again: the model is kept, and the same bytes answer the same version
    code, out, err = attest(cli_env, "models", "register", "pd-cli", "--team", "credit-risk", "--title", "PD",
                            "--exist-ok", *answers())  # fmt: skip
    assert code == 0, err
    assert "pd-cli is already registered" in out


def test_the_client_streams_an_upload_reporting_progress_and_declaring_its_hash(
    api_server, maya_token, credit_risk, maya, tmp_path
):
    artifact = tmp_path / "big.bin"
    artifact.write_bytes(bytes(range(256)) * 12_000)  # ~3 MB: several chunks
    seen: list[tuple[int, int]] = []
    with Client(api_server, maya_token) as client:
        client.model_register("pd-stream", "credit-risk", "PD", LOW_RISK)
        version = client.version_upload(
            "pd-stream", artifact, progress=lambda sent, total: seen.append((sent, total))
        )
    assert version.sha256 == hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert len(seen) > 1
    assert seen[-1] == (artifact.stat().st_size, artifact.stat().st_size)


def test_checks_are_queued_and_a_wait_that_runs_out_is_an_error(registered, cli_env):
    code, out, err = attest(cli_env, "--json", "checks", "run", "pd-cli:1", "--kind", "performance",
                            "--current-dataset", "german-credit:1")  # fmt: skip
    assert code == 0, out
    (run,) = json.loads(out)
    assert run["status"] == "queued"
    # no worker here: the run stays queued, so a wait with no time left ends in exit code 2
    code, _out, err = attest(cli_env, "checks", "run", "pd-cli", "--kind", "performance",
                             "--current-dataset", "german-credit:1", "--wait", "--wait-timeout", "0")  # fmt: skip
    assert code == 2
    assert "still queued" in err


def test_the_gate_exits_1_with_its_reasons_when_closed_and_2_on_an_error(registered, cli_env):
    code, out, _err = attest(cli_env, "gate", "pd-cli:1", "--environment", "production")
    assert code == 1
    assert "gate closed for pd-cli:1 in production" in out
    assert "  reason: " in out

    code, out, _err = attest(cli_env, "--json", "gate", "pd-cli:1", "--environment", "production")
    assert code == 1
    assert json.loads(out)["allowed"] is False

    code, _out, err = attest(cli_env, "gate", "no-such-model:1", "--environment", "production")
    assert code == 2
    assert "404" in err

    # the digest about to be shipped is checked: another one closes the gate with digest_mismatch
    code, out, _err = attest(cli_env, "--json", "gate", "pd-cli:1", "--environment", "production",
                             "--digest", "0" * 64)  # fmt: skip
    assert code == 1
    assert "digest_mismatch" in json.loads(out)["codes"]
    code, _out, err = attest(cli_env, "gate", "pd-cli:1", "--environment", "production", "--digest", "xyz")
    assert code == 2
    assert "digest" in err


def test_an_approval_request_is_refused_with_the_apis_reason_and_an_approvals_status_is_read(
    registered, cli_env
):
    # a draft model cannot be put forward: the API's refusal is the CLI's message and exit code 2
    code, _out, err = attest(cli_env, "approvals", "request", "pd-cli:1", "--environment", "production")
    assert code == 2
    assert "error: 409 invalid_transition" in err
    assert "in_validation" in err

    for status in ("in_development", "in_validation"):
        code, _out, err = attest(cli_env, "models", "status", "pd-cli", status, "--reason", "ci")
        assert code == 0, err
    code, out, _err = attest(
        cli_env, "--json", "approvals", "request", "pd-cli:1", "--environment", "staging"
    )
    assert code == 2  # a low-tier policy gates production only: the field is named
    assert json.loads(out)["error"]["fields"]["environment"] == ["Gated environments: production."]
    code, out, _err = attest(
        cli_env, "--json", "approvals", "request", "pd-cli:1", "--environment", "production"
    )
    assert code == 2  # no checks or evidence yet: each missing item is named
    error = json.loads(out)["error"]
    assert error["code"] == "prerequisites_missing", out
    assert any("has no successful run" in item for item in error["details"]["missing"]), out
    code, _out, err = attest(cli_env, "approvals", "request", "pd-cli:1", "--environment", "production")
    assert code == 2
    assert "  missing: check '" in err

    # an approval made here (its prerequisites are the workflow's tests' business) is read back
    approval = ApprovalRequestFactory(
        model_version=ModelVersion.objects.get(model__name="pd-cli", version=1), environment="production"
    )
    code, out, err = attest(
        cli_env, "--json", "approvals", "status", "pd-cli:1", "--environment", "production"
    )
    assert code == 0, err
    assert [found["id"] for found in json.loads(out)] == [approval.pk]
    code, out, err = attest(cli_env, "approvals", "status", str(approval.pk))
    assert code == 0, err
    assert f"approval {approval.pk} pd-cli:1 production {approval.status}" in out


def test_an_api_error_is_surfaced_with_its_code_and_field(cli_env, credit_risk):
    code, _out, err = attest(
        cli_env, "models", "register", "pd-x", "--team", "no-such-team", "--title", "PD", *answers()
    )
    assert code == 2
    assert "error: 400" in err
    assert "team:" in err

    code, out, _err = attest(
        cli_env, "--json", "models", "register", "pd-x", "--team", "no-such-team", "--title", "PD", *answers()
    )
    assert code == 2
    error = json.loads(out)["error"]
    assert error["status"] == 400
    assert "team" in error["fields"]


def test_the_client_raises_the_api_error_body(api_server, maya_token, credit_risk):
    with Client(api_server, maya_token) as client, pytest.raises(ApiError) as raised:
        client.model_register("pd-y", "no-such-team", "PD", LOW_RISK)
    assert raised.value.status == 400
    assert "team" in raised.value.fields


def test_a_report_is_queued_and_a_wait_that_runs_out_is_an_error(registered, cli_env, tmp_path):
    code, out, err = attest(cli_env, "--json", "reports", "generate", "pd-cli:1", "--kind", "validation")
    assert code == 0, err
    assert json.loads(out)["status"] == "queued"
    output = tmp_path / "report.pdf"
    code, _out, err = attest(cli_env, "reports", "generate", "pd-cli:1", "--wait", "--wait-timeout", "0",
                             "--output", str(output))  # fmt: skip
    assert code == 2
    assert not output.exists()


def test_login_keeps_the_token_in_a_private_config_file(api_server, maya_token, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    code, _out, err = attest({}, "login", "--url", api_server, "--token", maya_token)
    assert code == 0, err
    stored = tmp_path / "config" / "attest" / "config.json"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert json.loads(stored.read_text()) == {"url": api_server, "token": maya_token}
    # later commands need neither ATTEST_URL nor ATTEST_TOKEN
    code, _out, err = attest(
        {"ATTEST_URL": "", "ATTEST_TOKEN": ""}, "gate", "none:1", "--environment", "staging"
    )
    assert code == 2
    assert "404" in err

    code, _out, err = attest({}, "login", "--url", api_server, "--token", "not-a-token")
    assert code == 2
    assert "401" in err


def test_on_a_terminal_progress_is_drawn_by_rich_and_the_answer_is_unchanged(
    registered, cli_env, tmp_path, monkeypatch
):
    monkeypatch.setattr(Context, "interactive", property(lambda self: True))
    artifact = tmp_path / "model-2.bin"
    artifact.write_bytes(ARTIFACT + b"v2")
    code, out, err = attest(cli_env, "versions", "upload", "pd-cli", str(artifact))
    assert code == 0, err
    assert out.startswith("pd-cli:2 sha256:")
    assert "uploading model-2.bin" in err  # the bar's label, not the plain line
    assert "uploading " + str(artifact) not in err

    code, _out, err = attest(cli_env, "checks", "run", "pd-cli:2", "--kind", "performance",
                             "--current-dataset", "german-credit:1", "--wait", "--wait-timeout", "0")  # fmt: skip
    assert code == 2
    assert "still queued" in err


def test_evidence_is_uploaded_to_a_version_and_its_hash_checked(registered, cli_env, tmp_path):
    memo = tmp_path / "memo.md"
    memo.write_bytes(b"# Conceptual soundness\n\nWhy this model.\n")
    code, out, err = attest(cli_env, "--json", "evidence", "upload", "pd-cli:1", str(memo),
                            "--type", "conceptual_soundness_memo", "--title", "Memo")  # fmt: skip
    assert code == 0, out
    body = json.loads(out)
    assert (body["model"], body["version"], body["evidence_type"]) == (
        "pd-cli",
        1,
        "conceptual_soundness_memo",
    )
    assert body["sha256"] == hashlib.sha256(memo.read_bytes()).hexdigest()

    code, _out, err = attest(cli_env, "evidence", "upload", "pd-cli", str(memo), "--type", "no_such_type")
    assert code == 2
    assert "evidence_type:" in err


def test_deploy_is_refused_with_the_gates_reasons_while_the_gate_is_closed(registered, cli_env):
    code, out, err = attest(
        cli_env, "deploy", "pd-cli:1", "--environment", "production", "--target", "k8s/prod"
    )
    assert code == 1
    assert "error: 409 gate_closed" in err
    assert "  reasons: no completed approval of pd-cli v1 for production" in err

    code, out, _err = attest(cli_env, "--json", "deploy", "pd-cli", "--environment", "production")
    assert code == 1
    assert json.loads(out)["error"]["details"]["codes"]

    code, _out, err = attest(cli_env, "deploy", "no-such-model:1", "--environment", "production")
    assert code == 2
    assert "404" in err


def test_a_bundle_is_for_the_roles_that_audit_and_without_wait_only_queued(
    registered, cli_env, aaron, tmp_path, monkeypatch
):
    code, _out, err = attest(cli_env, "bundles", "download", "pd-cli:1")
    assert code == 2
    assert "error: 403" in err  # maya, an ML engineer, may not read audit records

    _token, secret = accounts.token_create(actor=aaron, name="bundles", expires_in_days=1)
    auditor = {**cli_env, "ATTEST_TOKEN": secret}
    monkeypatch.chdir(tmp_path)
    code, out, err = attest(auditor, "bundles", "download", "pd-cli:1")
    assert code == 0, err
    bundle_id = int(out.split()[1])
    assert out.startswith(f"bundle {bundle_id} queued: `attest bundles download {bundle_id} --wait`")
    assert not list(tmp_path.glob("*.zip"))  # no worker here: nothing is built, nothing saved

    code, out, err = attest(auditor, "bundles", "download", str(bundle_id), "--wait", "--wait-timeout", "0")
    assert code == 2
    assert f"job {bundle_id} still queued" in err
