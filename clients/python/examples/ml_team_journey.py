"""An ML team's journey through Attest with the Python client, as a CI job would make it.

Register a model (a new one is handed to validation), upload its training and validation data and a version,
run the checks its policy asks for and wait for them, generate the validation report, request approval once,
and ask the gate. Run it against any server::

    python clients/python/examples/ml_team_journey.py --url http://127.0.0.1:8000 --username maya
    ATTEST_URL=… ATTEST_TOKEN=… python clients/python/examples/ml_team_journey.py

The data are generated from a fixed seed, so a second run uploads the same bytes and finds the same dataset
and model versions; only the checks and the report are made again. `make run` runs it once the demo server
is up, so the documented client path is exercised every time the demo starts.

Exit code 0 when the journey went through (a closed gate is its expected end until someone signs), 2 on an
error, with the API's message.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import os
import random
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from attest_client import ApiError, Client
from attest_client.errors import AttestError

MODEL = "pd-client-journey"
TEAM = "credit-risk"
# a low-risk model: its policy (tier 3) asks for a passing performance check and a validator's signature
TIER_ANSWERS = {"materiality": "low", "complexity": "low", "reliance": "low", "regulatory_exposure": "low"}
ENVIRONMENT = "production"
# the kinds run, and whether each compares the validation data with the training data (its reference)
CHECKS = {"performance": False, "drift": True}


@dataclass
class Outcome:
    """Where the journey got to, for a caller (a test, a log line) to read."""

    version: str
    checks: dict[str, str]
    report_sha256: str
    approval: str
    gate_allowed: bool
    gate_reasons: list[str]


def applicants(seed: int, rows: int = 400) -> bytes:
    """Applicants whose score ranks them well and whose sex is drawn apart from everything else (a seeded
    CSV: the same seed gives the same bytes, so an upload finds the version it made before)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["age", "income", "sex", "label", "score"])
    for _ in range(rows):
        age, income, label = rng.randint(21, 70), rng.randint(800, 6000), rng.random() < 0.3
        score = 0.6 * label + 0.4 * rng.random()
        writer.writerow([age, income, rng.choice("fm"), int(label), f"{score:.4f}"])
    return out.getvalue().encode()


def register(client: Client) -> None:
    """The model, registered once; a draft is handed to validation so that approval can be requested."""
    try:
        model = client.model_get(MODEL)
    except ApiError as error:
        if error.status != 404:
            raise
        model = client.model_register(MODEL, TEAM, "PD retail (client journey)", TIER_ANSWERS)
        say(f"registered {model.name} (tier {model.risk_tier})")
    if model.status == "draft":
        for status in ("in_development", "in_validation"):
            model = client.model_status(MODEL, status, reason="first version from the client journey")
        say(f"{model.name} is {model.status}")


def upload_dataset(client: Client, name: str, role: str, path: Path) -> str:
    try:
        client.get(f"/api/v1/datasets/{name}/")
    except ApiError as error:
        if error.status != 404:
            raise
        client.dataset_create(name, TEAM, title=name.replace("-", " "))
    version = client.dataset_upload(
        name,
        path,
        role=role,
        target_column="label",
        prediction_column="score",
        sensitive_columns=["sex"],
        favourable_label="1",  # a granted credit: performance and fairness are measured from it
    )
    say(f"dataset {version.reference} sha256:{version.sha256}")
    return version.reference


def run_checks(client: Client, model: str, version: int, train: str, valid: str) -> dict[str, str]:
    runs = []
    for kind, uses_reference in CHECKS.items():
        reference = train if uses_reference else None
        runs.append(
            client.check_run(kind, model, version, reference_dataset=reference, current_dataset=valid)
        )
    finished = [client.wait(run, timeout=600, interval=1) for run in runs]
    for run in finished:
        say(f"check {run.id} {run.kind} {run.status} {run.outcome or '-'}")
    return {run.kind: run.outcome or run.status for run in finished}


def request_approval_once(client: Client, model: str, version: int) -> str:
    """A pending or approved request of this version is kept; otherwise one is made."""
    for approval in client.approvals(model=model, version=version, environment=ENVIRONMENT):
        if approval.status in ("pending", "approved"):
            say(f"approval {approval.id} {approval.status} (requested before)")
            return f"{approval.id} {approval.status}"
    approval = client.approval_request(model, version, ENVIRONMENT, "Submitted by the client journey.")
    say(f"approval {approval.id} requested (stage {approval.current_stage})")
    return f"{approval.id} {approval.status}"


def journey(client: Client, folder: Path) -> Outcome:
    register(client)
    (folder / "train.csv").write_bytes(applicants(seed=1))
    (folder / "valid.csv").write_bytes(applicants(seed=2))
    (folder / "model.bin").write_bytes(b"an opaque model artifact of the client journey\n")
    train = upload_dataset(client, "journey-applicants-train", "training", folder / "train.csv")
    valid = upload_dataset(client, "journey-applicants-valid", "validation", folder / "valid.csv")
    version = client.version_upload(
        MODEL, folder / "model.bin", training_datasets=[train], validation_datasets=[valid],
        metrics={"auc": 0.8}, tags={"source": "client-journey"},
    )  # fmt: skip
    say(f"version {version.reference} sha256:{version.sha256}")
    checks = run_checks(client, MODEL, version.version, train, valid)
    report = client.wait(
        client.report_generate("validation", model=MODEL, version=version.version), timeout=600
    )
    if report.status != "succeeded":
        raise AttestError(f"report {report.id} {report.status}: {report.error}")
    client.report_download(report.id, folder / "validation-report.pdf", expected_sha256=report.sha256 or "")
    say(f"report {report.id} sha256:{report.sha256}")
    approval = request_approval_once(client, MODEL, version.version)
    decision = client.gate(MODEL, version.version, ENVIRONMENT)
    say(f"gate {'open' if decision.allowed else 'closed'} for {version.reference} in {ENVIRONMENT}")
    for reason in decision.reasons:
        say(f"  reason: {reason}")
    return Outcome(
        version.reference, checks, report.sha256 or "", approval, decision.allowed, decision.reasons
    )


def say(line: str) -> None:
    print(line, flush=True)


def connect(args: argparse.Namespace) -> Client:
    if not args.url:
        raise SystemExit("no server: give --url or set ATTEST_URL")
    token = args.token
    if not token:
        password = args.password or os.environ.get("ATTEST_PASSWORD") or getpass.getpass()
        with Client(args.url) as anonymous:
            token = anonymous.token_create(args.username, password, name="client-journey")["token"]
    return Client(args.url, token)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("ATTEST_URL", ""))
    parser.add_argument("--token", default=os.environ.get("ATTEST_TOKEN", ""))
    parser.add_argument("--username", default="maya", help="Make a token as this user (without --token).")
    parser.add_argument("--password", help="Its password (else ATTEST_PASSWORD, else asked).")
    args = parser.parse_args(argv)
    try:
        with connect(args) as client, tempfile.TemporaryDirectory() as folder:
            journey(client, Path(folder))
    except AttestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
