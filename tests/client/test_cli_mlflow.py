"""``attest mlflow import`` against the live server, a real worker and a real MLflow tracking server: the
first run connects the tracking server (its webhook secret printed that once) and imports; a second run
finds the registry and changes nothing; a tracking server that does not answer fails the job (exit 1); a
validator may not connect one (the API's 403, exit 2); problems are printed, and fail the command only
with ``--fail-on-problems``."""

from __future__ import annotations

import json
import socket

import pytest
from attest_client import Client
from attest_client.cli import main
from click.testing import CliRunner

from accounts.services import accounts
from integrations.models import MlflowSync
from integrations.services.mlflow_sync import attest_name
from registry.models import RegisteredModel

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def attest(env, *args: str):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_the_first_import_connects_the_tracking_server_and_a_second_changes_nothing(
    cli_env,
    worker,
    credit_risk,
    mlflow_server,
    mlflow_model_name,
):
    mlflow_server.populate("sklearn", mlflow_model_name)

    first = attest(cli_env, "mlflow", "import", "--tracking-uri", mlflow_server.url, "--team", "credit-risk",
                   "--model", mlflow_model_name, "--wait-timeout", "120")  # fmt: skip

    assert first.exit_code == 0, first.output
    port = mlflow_server.url.rsplit(":", 1)[1]
    assert f"as MLflow registry 127-0-0-1-{port} for team credit-risk" in first.stderr
    assert "/api/v1/mlflow/registries/127-0-0-1-" in first.stderr  # the webhook URL
    assert "webhook secret (shown once): " in first.stderr
    assert "create_webhook(name='attest'" in first.stderr
    assert ": queued" in first.stderr  # plain progress lines off a terminal
    assert "succeeded" in first.stdout.splitlines()[0], first.output
    assert "  versions_imported: 1" in first.stdout.splitlines()
    model = RegisteredModel.objects.get(name=attest_name(mlflow_model_name))
    assert (model.team.name, model.versions.count()) == ("credit-risk", 1)

    again = attest(cli_env, "--json", "mlflow", "import", "--tracking-uri", f"{mlflow_server.url}/",
                   "--model", mlflow_model_name, "--wait-timeout", "120")  # fmt: skip

    assert again.exit_code == 0, again.output
    assert "secret" not in again.stderr
    job = json.loads(again.stdout)
    assert (job["status"], job["model"]) == ("succeeded", mlflow_model_name)
    assert job["result"]["counts"].get("versions_unchanged") == 1
    assert not job["result"]["counts"].get("versions_imported")
    assert model.versions.count() == 1

    listed = attest(cli_env, "mlflow", "registries")
    assert listed.exit_code == 0
    assert listed.stdout.startswith(f"127-0-0-1-{port} {mlflow_server.url} team credit-risk (last synced 2")


def test_a_tracking_server_that_does_not_answer_fails_the_import(cli_env, worker, credit_risk):
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        silent = f"http://127.0.0.1:{probe.getsockname()[1]}"

    result = attest(cli_env, "mlflow", "import", "--tracking-uri", silent, "--team", "credit-risk",
                    "--registry", "nowhere", "--wait-timeout", "120")  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "as MLflow registry nowhere" in result.stderr
    summary = result.stdout.splitlines()[0]
    assert summary.startswith("sync ")
    assert " of nowhere failed: " in summary, result.output
    assert "could not be reached" in summary  # the reason, from the worker


def test_a_validator_may_not_connect_a_tracking_server(cli_env, victor, mlflow_server):
    _token, secret = accounts.token_create(actor=victor, name="mlflow", expires_in_days=1)

    result = attest({**cli_env, "ATTEST_TOKEN": secret}, "mlflow", "import", "--tracking-uri", mlflow_server.url,
                    "--team", "credit-risk")  # fmt: skip

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: 403 "), result.stderr
    assert "secret" not in result.stderr


def test_an_unconnected_tracking_server_needs_a_team(cli_env, mlflow_server):
    result = attest(cli_env, "mlflow", "import", "--tracking-uri", mlflow_server.url)

    assert result.exit_code == 2
    assert "give --team to connect it" in result.stderr


def test_problems_are_printed_and_fail_the_import_only_when_asked(
    cli_env, worker, credit_risk, mlflow_server, mlflow_model_name
):
    mlflow_server.populate("external-onnx", mlflow_model_name)  # an artifact Attest refuses to read
    command = ("mlflow", "import", "--tracking-uri", mlflow_server.url, "--team", "credit-risk", "--model",
               mlflow_model_name, "--wait-timeout", "120")  # fmt: skip

    result = attest(cli_env, *command)

    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stdout.splitlines()[0]
    (problem,) = [line for line in result.stdout.splitlines() if line.startswith("  problem: ")]
    assert problem.startswith(f"  problem: {mlflow_model_name} version 1: ")
    assert "external" in problem

    result = attest(cli_env, *command, "--fail-on-problems")

    assert result.exit_code == 1, result.output
    assert f"  problem: {mlflow_model_name} version 1: " in result.stdout


def test_a_model_the_registry_does_not_import_is_refused_before_a_sync_is_queued(
    cli_env, api_server, maya_token, credit_risk
):
    with Client(api_server, maya_token) as client:
        made = client.mlflow_registry_create(
            "lab", "http://127.0.0.1:9/", "credit-risk", model_names=["pd-retail"]
        )
        (found,) = client.mlflow_registries(tracking_uri="http://127.0.0.1:9")
    assert made.secret
    assert (found.name, found.model_names, found.secret) == ("lab", ["pd-retail"], None)

    result = attest(cli_env, "mlflow", "import", "--tracking-uri", "http://127.0.0.1:9", "--model", "churn")

    assert result.exit_code == 2
    assert "imports only pd-retail; churn is not one of them" in result.stderr
    assert not MlflowSync.objects.exists()
