"""The CI templates of ci/, their shell run as the runners run it, against a live server and a real worker.

The GitHub composite action's steps run in order with ``${{ … }}`` expressions replaced by their values and
``$GITHUB_ENV`` carried from step to step; the GitLab template's hidden jobs run as the example pipeline
extends them, with its variables and the register job's dotenv report. Both get as far as a closed gate
(exit 1: the deploy job, which needs it, never starts); once a validator signs the approval, the gate job
passes and the example deploy job records the deployment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from registry.models import RegisteredModel
from tests.client.data import fair_applicants
from tests.conftest import ROOT
from tests.factories import PASSWORD
from tests.monitoring.factories import csv_bytes
from tests.registry.conftest import LOW_RISK
from workflow.models import ApprovalRequest, Deployment
from workflow.services import approvals as approval_services
from workflow.services.approvals import SignatureInput

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CI = ROOT / "ci"
INSTALL = 'python -m pip install --quiet "$ATTEST_CLIENT"'  # the client is installed here already
EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
# a low-risk (tier 3) model: its policy asks for a passing performance check and one validator's signature
TIER_ANSWERS = " ".join(f"{key}={value}" for key, value in LOW_RISK.items())


@pytest.fixture
def workspace(tmp_path, cli_env) -> tuple[Path, dict[str, str]]:
    """A checkout with data, a trained artifact and a deploy script, and the job's environment."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_bytes(csv_bytes(fair_applicants(seed=1)))
    (tmp_path / "data" / "valid.csv").write_bytes(csv_bytes(fair_applicants(seed=2)))
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "model.onnx").write_bytes(b"an opaque artifact for this test")
    deploy = tmp_path / "deploy.sh"
    deploy.write_text('#!/usr/bin/env bash\necho "deployed $1" >> deployed.txt\n')
    deploy.chmod(0o755)
    env = {
        **os.environ,
        **cli_env,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # the installed `attest`
    }
    return tmp_path, env


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A step's shell as both runners start it: bash, stopping at the first failing command or pipe."""
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def sign_approval(model: str, signer) -> ApprovalRequest:
    """The validator signs, as on the approval's page (password re-entered)."""
    request = ApprovalRequest.objects.get(model_version__model__name=model, status="pending")
    signing = SignatureInput(decision="approve", meaning="approval", comment="Validated.", password=PASSWORD)
    approval_services.approval_sign(actor=signer, request=request, signing=signing)
    request.refresh_from_db()
    return request


def assert_submitted_up_to_a_closed_gate(model: str, log: str, gate: subprocess.CompletedProcess) -> None:
    assert f"registered {model} (tier 3, status draft)" in log, log
    assert f"{model} is in_validation" in log, log  # the first run hands the new model to validation
    assert re.search(r"check \d+ performance succeeded pass", log), log
    assert re.search(r"check \d+ drift succeeded (pass|warn)", log), log
    assert re.search(r"approval \d+ pending \(stage validation\)", log), log
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert f"gate closed for {model}:1 in production" in gate.stdout
    assert RegisteredModel.objects.get(name=model).status == "in_validation"
    assert not Deployment.objects.exists()


# -- GitHub Actions --------------------------------------------------------------------------------


def github_value(text: Any, context: dict[str, str]) -> str:
    """``${{ inputs.x }}`` and the like replaced by their values (an unknown name fails the test)."""
    return EXPRESSION.sub(lambda match: context[match.group(1)], str(text))


@dataclass
class GitHubJob:
    """One job's runner: steps share the checkout and what they write to ``$GITHUB_ENV``."""

    cwd: Path
    env: dict[str, str]
    exported: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def run(self, step: dict, context: dict[str, str]) -> subprocess.CompletedProcess:
        files = {name: self.cwd / f".{name.lower()}" for name in ("GITHUB_ENV", "GITHUB_OUTPUT")}
        for path in files.values():
            path.write_text("")
        step_env = {key: github_value(value, context) for key, value in step.get("env", {}).items()}
        env = {**self.env, **self.exported, **step_env, **{name: str(path) for name, path in files.items()}}
        result = bash(step["run"], self.cwd, env)
        self.exported.update(key_values(files["GITHUB_ENV"].read_text()))
        if "id" in step:
            self.outputs[step["id"]] = key_values(files["GITHUB_OUTPUT"].read_text())
        return result

    def run_until_failure(self, steps: list[dict], context) -> tuple[str, subprocess.CompletedProcess]:
        log = ""
        for step in steps:
            result = self.run(step, context)
            log += result.stdout + result.stderr
            if result.returncode:
                return log, result
        return log, result


def key_values(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def runnable(steps: list[dict]) -> list[dict]:
    """The steps this test runs: a checkout or setup-python is the runner's, and the client is installed."""
    shell_steps = [step for step in steps if "run" in step]
    installs = [step for step in shell_steps if INSTALL in step["run"] or "pip install" in step["run"]]
    assert [step["run"].strip() for step in installs] in (
        [INSTALL],
        ["python -m pip install --quiet attest-client"],
    )
    return [step for step in shell_steps if step not in installs]


def test_the_github_action_blocks_at_the_gate_until_approved_and_the_deploy_job_records_it(
    workspace, worker, credit_risk, victor
):
    cwd, env = workspace
    action = yaml.safe_load((CI / "github" / "attest" / "action.yml").read_text())
    workflow = yaml.safe_load((CI / "github" / "example-workflow.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert workflow["jobs"]["deploy"]["needs"] == "attest"
    inputs = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    inputs.update({
        "model": "pd-github", "team": "credit-risk", "tier-answers": TIER_ANSWERS,
        "artifact": "build/model.onnx", "training-dataset": "applicants-train", "training-file": "data/train.csv",
        "validation-dataset": "applicants-valid", "validation-file": "data/valid.csv", "target-column": "label",
        "prediction-column": "score", "sensitive-columns": "sex", "favourable-label": "1",
        "checks": "performance drift",
    })  # fmt: skip
    missing = {name for name, spec in action["inputs"].items() if spec.get("required")} - set(inputs)
    assert not missing
    context = {f"inputs.{name}": value for name, value in inputs.items()}
    context.update({
        "github.server_url": "https://github.example.com", "github.repository": "credit/pd-retail",
        "github.sha": "0123abcd", "github.run_id": "42",
    })  # fmt: skip
    steps = runnable(action["runs"]["steps"])
    assert steps[-1]["name"] == "Gate"
    job = GitHubJob(cwd, env)

    log, gate = job.run_until_failure(steps, context)

    assert gate.args[-1] == steps[-1]["run"], log  # every step before the gate passed
    assert_submitted_up_to_a_closed_gate("pd-github", log, gate)
    assert "  reason: no completed approval of pd-github v1 for production" in gate.stdout
    version = github_value(action["outputs"]["version"]["value"], {
        f"steps.version.outputs.{key}": value for key, value in job.outputs["version"].items()
    })  # fmt: skip
    assert version == "pd-github:1"

    sign_approval("pd-github", victor)
    again = job.run(steps[-1], context)  # the failed job re-run: its gate step now passes
    assert again.returncode == 0, again.stdout + again.stderr
    assert "gate open for pd-github:1 in production" in again.stdout

    deploy_job = GitHubJob(cwd, env)
    deploy_context = {"needs.attest.outputs.version": version, "github.run_id": "42"}
    for step in runnable(workflow["jobs"]["deploy"]["steps"]):
        result = deploy_job.run(step, deploy_context)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (cwd / "deployed.txt").read_text() == "deployed pd-github:1\n"
    deployment = Deployment.objects.get()
    assert (deployment.model_version.model.name, deployment.environment) == ("pd-github", "production")
    assert deployment.approval.status == "approved"
    assert deployment.note == "CI pipeline 42"


# -- GitLab CI -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """GitLab's ``!reference [job, key]``: that job's key, spliced in where it stands."""

    path: tuple[str, ...]


class GitLabLoader(yaml.SafeLoader):
    pass


GitLabLoader.add_constructor(
    "!reference", lambda loader, node: Reference(tuple(loader.construct_sequence(node)))
)


def gitlab_config() -> dict:
    """The example pipeline with the template it includes (the including file's keys win)."""
    template = yaml.load((CI / "gitlab" / "attest.gitlab-ci.yml").read_text(), GitLabLoader)  # noqa: S506 (SafeLoader)
    pipeline = yaml.load((CI / "gitlab" / ".gitlab-ci.yml").read_text(), GitLabLoader)  # noqa: S506 (SafeLoader)
    assert pipeline["include"] == [{"local": "ci/gitlab/attest.gitlab-ci.yml"}]
    merged = {**template, **pipeline}
    merged["variables"] = {**template["variables"], **pipeline["variables"]}
    return merged


def resolved(config: dict, name: str) -> dict:
    """A job with what it ``extends`` merged under it (hashes deep, lists replaced)."""
    job = config[name]
    base: dict = {}
    for parent in [job["extends"]] if isinstance(job.get("extends"), str) else job.get("extends", []):
        base = merge(base, resolved(config, parent))
    return merge(base, job)


def merge(base: dict, over: dict) -> dict:
    merged = dict(base)
    for key, value in over.items():
        both_hashes = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = merge(base[key], value) if both_hashes else value
    return merged


def script_lines(config: dict, lines: list) -> list[str]:
    flat: list[str] = []
    for line in lines:
        if isinstance(line, Reference):
            job, key = line.path
            flat += script_lines(config, config[job][key])
        else:
            flat.append(line)
    return flat


def expand(value: Any, env: dict[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` in a variable's value, as GitLab expands them (an unknown one is empty)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda match: env.get(match.group(1), ""), str(value))


@dataclass
class GitLabPipeline:
    """The runner's view of the example pipeline: predefined variables, the project's CI/CD variables
    (which win over the YAML's), and the dotenv reports earlier jobs left."""

    config: dict
    cwd: Path
    predefined: dict[str, str]
    project: dict[str, str]
    dotenv: dict[str, str] = field(default_factory=dict)

    def run(self, name: str) -> subprocess.CompletedProcess:
        """A job: its ``before_script`` (the client install, already done here) and ``script`` in one
        shell; its dotenv report goes to the jobs after it."""
        job = resolved(self.config, name)
        assert job["before_script"] == [INSTALL]
        declared = {**self.config["variables"], **job.get("variables", {})}
        env = {**self.predefined, **{key: expand(value, self.predefined) for key, value in declared.items()}}
        env.update({**self.project, **self.dotenv})
        result = bash("\n".join(script_lines(self.config, job["script"])), self.cwd, env)
        report = job.get("artifacts", {}).get("reports", {}).get("dotenv")
        if report and (self.cwd / report).exists():
            self.dotenv.update(key_values((self.cwd / report).read_text()))
            (self.cwd / report).unlink()  # an artifact, not a file of the next job's checkout
        return result


def test_the_gitlab_template_blocks_at_the_gate_until_approved_and_the_deploy_job_records_it(
    workspace, worker, credit_risk, victor
):
    cwd, env = workspace
    config = gitlab_config()
    order = [name for stage in config["stages"] for name, job in config.items()
             if isinstance(job, dict) and job.get("stage") == stage and name != "train"]  # fmt: skip
    assert order == ["attest-register", "attest-checks", "attest-approval", "attest-gate", "deploy"]
    assert "attest-gate" in config["deploy"]["needs"]
    predefined = {**env, "CI_PROJECT_URL": "https://gitlab.example.com/credit/pd-retail",
                  "CI_COMMIT_SHA": "0123abcd", "CI_PIPELINE_ID": "42"}  # fmt: skip
    project = {
        "ATTEST_MODEL": "pd-gitlab",
        "ATTEST_TIER_ANSWERS": TIER_ANSWERS,
        "ATTEST_CHECKS": "performance drift",
    }
    pipeline = GitLabPipeline(config, cwd, predefined, project)

    log = ""
    for name in order:
        result = pipeline.run(name)
        log += result.stdout + result.stderr
        if result.returncode:
            break

    assert name == "attest-gate", log  # every job before the gate passed; deploy never started
    assert_submitted_up_to_a_closed_gate("pd-gitlab", log, result)
    assert pipeline.dotenv["ATTEST_VERSION"] == "pd-gitlab:1"
    assert not (cwd / "deployed.txt").exists()

    sign_approval("pd-gitlab", victor)
    again = pipeline.run("attest-gate")  # the gate job retried
    assert again.returncode == 0, again.stdout + again.stderr
    deploy = pipeline.run("deploy")
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    assert (cwd / "deployed.txt").read_text() == "deployed pd-gitlab:1\n"
    deployment = Deployment.objects.get()
    assert (deployment.model_version.model.name, deployment.approval.status) == ("pd-gitlab", "approved")
    assert deployment.note == "CI pipeline 42"
    version = deployment.model_version
    assert (version.source_repository, version.source_commit) == (
        "https://gitlab.example.com/credit/pd-retail",
        "0123abcd",
    )
