"""The ``attest`` command line: the client's calls for CI scripts and people.

Exit codes: 0 done (gate open, checks within ``--fail-on``), 1 a decision against you (gate closed, a
check at or beyond ``--fail-on``, an MLflow import that failed), 2 an error (the API refused, the server was unreachable, a job failed).
``--json`` prints the API's bodies; on a terminal uploads and waits show a Rich progress bar, elsewhere
plain lines.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from attest_client import config
from attest_client.client import Client
from attest_client.errors import ApiError, AttestError
from attest_client.resources import Bundle, CheckRun, Job, MlflowRegistry, MlflowSync

EXIT_DENIED = 1
EXIT_ERROR = 2
OUTCOME_RANK = {"pass": 0, "warn": 1, "fail": 2}
# what Attest follows in an MLflow registry between imports (integrations.services.registries)
MLFLOW_WEBHOOK_EVENTS = [
    "model_version.created",
    "model_version_tag.set",
    "model_version_tag.deleted",
    "model_version_alias.created",
    "model_version_alias.deleted",
]


class Context:
    def __init__(self, url: str, token: str, as_json: bool, timeout: float):
        self.url, self.token, self.as_json, self.timeout = url, token, as_json, timeout
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if not self.url:
            raise click.UsageError("no server: run `attest login` or set ATTEST_URL")
        if self._client is None:
            self._client = Client(self.url, self.token, timeout=self.timeout)
        return self._client

    @property
    def interactive(self) -> bool:
        return not self.as_json and sys.stderr.isatty()

    def emit(self, body: Any, text: str) -> None:
        """The API's body with ``--json``, else a line for people."""
        click.echo(json.dumps(body, indent=2, sort_keys=True) if self.as_json else text)

    def note(self, text: str) -> None:
        """Progress and remarks: stderr, so stdout stays the answer."""
        if not self.as_json:
            click.echo(text, err=True)


class Group(click.Group):
    """Turns the client's errors into exit code 2 with the API's message (and its fields)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ApiError as error:
            _fail(ctx, error.as_dict(), error.describe())
        except AttestError as error:
            _fail(
                ctx, {"status": None, "code": "client_error", "message": str(error), "fields": {}}, str(error)
            )


def _fail(ctx: click.Context, body: dict, text: str, code: int = EXIT_ERROR) -> None:
    as_json = bool(ctx.find_root().params.get("as_json"))
    if as_json:
        click.echo(json.dumps({"error": body}, indent=2, sort_keys=True))
    else:
        click.echo(f"error: {text}", err=True)
    ctx.exit(code)


pass_context = click.make_pass_decorator(Context)


@click.group(cls=Group)
@click.option("--url", envvar="ATTEST_URL", help="The server (default: from `attest login`).")
@click.option("--token", envvar="ATTEST_TOKEN", help="An API token (default: from `attest login`).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON bodies.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds per HTTP request.")
@click.version_option(package_name="attest-client")
@click.pass_context
def main(ctx: click.Context, url: str | None, token: str | None, as_json: bool, timeout: float) -> None:
    """Attest from the command line and from CI."""
    stored = config.load()
    ctx.obj = Context(url or stored.url, token or stored.token, as_json, timeout)
    ctx.call_on_close(lambda: ctx.obj._client and ctx.obj._client.close())


# -- login -----------------------------------------------------------------------------------------


@main.command()
@click.option("--url", "server", required=True, help="The Attest server, e.g. https://attest.example.com")
@click.option("--token", "given_token", help="An API token (else one is made from username and password).")
@click.option("--username", help="Make a token with this user's password.")
@click.option("--password", help="The password (prompted when not given).")
@pass_context
def login(
    obj: Context, server: str, given_token: str | None, username: str | None, password: str | None
) -> None:
    """Store the server and a token in the user's config folder (mode 0600)."""
    token = given_token
    if not token:
        username = username or click.prompt("Username")
        password = password or click.prompt("Password", hide_input=True)
        with Client(server, timeout=obj.timeout) as anonymous:
            token = anonymous.token_create(username, password)["token"]
    with Client(server, token, timeout=obj.timeout) as client:
        client.get("/api/v1/models/", page_size=1)  # the token works before it is kept
    path = config.save(config.Settings(url=server.rstrip("/"), token=token))
    obj.emit({"url": server, "config": str(path)}, f"logged in to {server} (token kept in {path})")


# -- models, datasets, versions --------------------------------------------------------------------


@main.group()
def models() -> None:
    """Models in the inventory."""


@models.command("register")
@click.argument("name")
@click.option("--team", required=True)
@click.option("--title", required=True)
@click.option("--answer", "answers", multiple=True, metavar="KEY=VALUE", help="A tiering answer (repeat).")
@click.option("--description", default="")
@click.option("--exist-ok", is_flag=True, help="A model already registered under NAME is left as it is.")
@pass_context
def models_register(
    obj: Context, name: str, team: str, title: str, answers: tuple[str, ...], description: str, exist_ok: bool
):
    """Register a model with its tiering answers."""
    model = _found(lambda: obj.client.model_get(name)) if exist_ok else None
    if model is not None:
        obj.emit(
            model.raw, f"{model.name} is already registered (tier {model.risk_tier}, status {model.status})"
        )
        return
    model = obj.client.model_register(
        name, team, title, _pairs(answers, "--answer"), description=description or None
    )
    obj.emit(model.raw, f"registered {model.name} (tier {model.risk_tier}, status {model.status})")


@models.command("status")
@click.argument("name")
@click.argument("status")
@click.option("--reason", default="")
@pass_context
def models_status(obj: Context, name: str, status: str, reason: str):
    """Move a model to STATUS (in_development, in_validation, …): approvals need in_validation or later."""
    model = obj.client.model_status(name, status, reason)
    obj.emit(model.raw, f"{model.name} is {model.status}")


@main.group()
def datasets() -> None:
    """Datasets and their versions."""


@datasets.command("upload")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--team", help="Create the dataset for this team when it does not exist yet.")
@click.option(
    "--role", type=click.Choice(["training", "validation", "reference", "production_batch", "other"])
)
@click.option("--target-column")
@click.option("--prediction-column")
@click.option("--sensitive-column", "sensitive_columns", multiple=True, help="Repeat for each column.")
@click.option("--favourable-label", help="The target value that is good for the person (fairness checks).")
@click.option("--description")
@pass_context
def datasets_upload(obj: Context, name: str, file: Path, team: str | None, sensitive_columns, **fields):
    """Upload FILE as the next version of dataset NAME."""
    if team and _found(lambda: obj.client.get(f"/api/v1/datasets/{name}/")) is None:
        obj.client.dataset_create(name, team)
        obj.note(f"created dataset {name} for team {team}")
    fields = _given({**fields, "sensitive_columns": sensitive_columns})
    with TransferProgressDisplay.upload(obj, file) as progress:
        version = obj.client.dataset_upload(name, file, progress=progress, **fields)
    obj.emit(version.raw, f"{version.reference} sha256:{version.sha256}")


@main.group()
def versions() -> None:
    """Model versions."""


@versions.command("upload")
@click.argument("model")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--training-dataset", "training_datasets", multiple=True, metavar="NAME[:VERSION]")
@click.option("--validation-dataset", "validation_datasets", multiple=True, metavar="NAME[:VERSION]")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE")
@click.option("--param", "parameters", multiple=True, metavar="KEY=VALUE")
@click.option("--metric", "metrics", multiple=True, metavar="KEY=NUMBER")
@click.option("--framework")
@click.option("--framework-version")
@click.option("--description")
@click.option("--source")
@click.option("--run-id")
@click.option("--run-link")
@click.option("--source-repository")
@click.option("--source-commit")
@click.option("--parent", metavar="MODEL:VERSION")
@pass_context
def versions_upload(obj: Context, model: str, file: Path, tags, parameters, metrics, **fields):
    """Upload FILE as the next version of MODEL (the same bytes again answer the existing version)."""
    fields = _given(fields)
    fields["tags"] = _pairs(tags, "--tag") or None
    fields["parameters"] = _pairs(parameters, "--param") or None
    fields["metrics"] = {key: _number(value) for key, value in _pairs(metrics, "--metric").items()} or None
    with TransferProgressDisplay.upload(obj, file) as progress:
        version = obj.client.version_upload(model, file, progress=progress, **fields)
    obj.emit(version.raw, f"{version.reference} sha256:{version.sha256}")


@main.group()
def evidence() -> None:
    """Evidence documents of a version."""


@evidence.command("upload")
@click.argument("reference", metavar="MODEL[:VERSION]")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "evidence_type", required=True, help="The evidence type, e.g. validation_report.")
@click.option("--title", default="")
@pass_context
def evidence_upload(obj: Context, reference: str, file: Path, evidence_type: str, title: str):
    """Attach FILE to a version as evidence (its SHA-256 is checked against what the server stored)."""
    model, version = _version_of(obj, reference)
    with TransferProgressDisplay.upload(obj, file) as progress:
        body = obj.client.evidence_upload(model, version, evidence_type, file, title=title, progress=progress)
    obj.emit(
        body, f"evidence {body['id']} {body['evidence_type']} on {model}:{version} sha256:{body['sha256']}"
    )


# -- checks ----------------------------------------------------------------------------------------


@main.group()
def checks() -> None:
    """Checks on a model version."""


@checks.command("run")
@click.argument("reference", metavar="MODEL[:VERSION]")
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    required=True,
    type=click.Choice(
        ["drift", "fairness", "explainability", "performance", "data_quality", "llm_evaluation"]
    ),
)
@click.option("--reference-dataset", metavar="NAME:VERSION")
@click.option("--current-dataset", metavar="NAME:VERSION")
@click.option(
    "--config", "settings", multiple=True, metavar="KEY=VALUE", help="A check setting (JSON value)."
)
@click.option("--wait", is_flag=True, help="Wait until every check has finished.")
@click.option("--wait-timeout", default=1800.0, show_default=True, help="Seconds to wait in all.")
@click.option(
    "--fail-on",
    type=click.Choice(["warn", "fail"]),
    default="fail",
    show_default=True,
    help="With --wait: exit 1 when a check's outcome is this or worse.",
)
@pass_context
def checks_run(
    obj: Context,
    reference: str,
    kinds,
    reference_dataset,
    current_dataset,
    settings,
    wait,
    wait_timeout,
    fail_on,
):
    """Queue checks of the given kinds on a version; with --wait, follow them to their outcome."""
    model, version = _version_of(obj, reference)
    inputs = {
        "reference_dataset": reference_dataset,
        "current_dataset": current_dataset,
        "config": {key: _json_value(value) for key, value in _pairs(settings, "--config").items()} or None,
    }
    runs = [obj.client.check_run(kind, model, version, **inputs) for kind in kinds]
    if not wait:
        obj.emit(
            [run.raw for run in runs], "\n".join(f"check {run.id} {run.kind} {run.status}" for run in runs)
        )
        return
    runs = [_wait(obj, run, wait_timeout) for run in runs]
    obj.emit(
        [run.raw for run in runs],
        "\n".join(
            f"check {run.id} {run.kind} {run.status} {run.outcome or '-'} {run.outcome_reason or ''}".rstrip()
            for run in runs
        ),
    )
    if any(run.status != "succeeded" for run in runs):
        sys.exit(EXIT_ERROR)
    if any(OUTCOME_RANK.get(run.outcome or "pass", 0) >= OUTCOME_RANK[fail_on] for run in runs):
        sys.exit(EXIT_DENIED)


# -- approvals and the gate ------------------------------------------------------------------------


@main.group()
def approvals() -> None:
    """Approval requests."""


@approvals.command("request")
@click.argument("reference", metavar="MODEL[:VERSION]")
@click.option("--environment", type=click.Choice(["staging", "production"]), required=True)
@click.option("--justification", default="")
@pass_context
def approvals_request(obj: Context, reference: str, environment: str, justification: str):
    """Request approval of a version for an environment."""
    model, version = _version_of(obj, reference)
    approval = obj.client.approval_request(model, version, environment, justification)
    obj.emit(
        approval.raw, f"approval {approval.id} {approval.status} (stage {approval.current_stage or '-'})"
    )


@approvals.command("status")
@click.argument("reference", metavar="MODEL[:VERSION]|ID")
@click.option("--environment", type=click.Choice(["staging", "production"]))
@pass_context
def approvals_status(obj: Context, reference: str, environment: str | None):
    """An approval by its id, or the approvals of a version (newest first)."""
    if reference.isdigit():
        found = [obj.client.approval_get(int(reference))]
    else:
        model, version = _version_of(obj, reference)
        found = list(obj.client.approvals(model=model, version=version, environment=environment))
    obj.emit(
        [approval.raw for approval in found],
        "\n".join(
            f"approval {a.id} {a.model}:{a.version} {a.environment} {a.status} (stage {a.current_stage or '-'})"
            for a in found
        )
        or "no approvals",
    )


DIGEST_HELP = "The SHA-256 of what you ship (an LLM application's bundle digest, or the artifact's)."


@main.command()
@click.argument("reference", metavar="MODEL[:VERSION]")
@click.option("--environment", type=click.Choice(["staging", "production"]), required=True)
@click.option("--digest", default="", help=DIGEST_HELP + " A mismatch closes the gate.")
@pass_context
def gate(obj: Context, reference: str, environment: str, digest: str):
    """May this version be deployed? Exit 0 open, 1 closed (the reasons printed), 2 error."""
    model, version = _version_of(obj, reference)
    decision = obj.client.gate(model, version, environment, digest=digest)
    verdict = "open" if decision.allowed else "closed"
    lines = [f"gate {verdict} for {model}:{version} in {environment}"]
    lines += [f"  reason: {reason}" for reason in decision.reasons]
    lines += [f"  warning: {warning}" for warning in decision.warnings]
    obj.emit(decision.raw, "\n".join(lines))
    if not decision.allowed:
        sys.exit(EXIT_DENIED)


@main.command()
@click.argument("reference", metavar="MODEL[:VERSION]")
@click.option("--environment", type=click.Choice(["staging", "production"]), required=True)
@click.option("--strategy", type=click.Choice(["full", "canary", "shadow", "blue_green"]), default="full",
              show_default=True)  # fmt: skip
@click.option("--traffic-percent", type=click.IntRange(1, 100), help="The share a canary takes (1-99).")
@click.option("--target", help="Where it went (a cluster, an endpoint): kept in the deployment's note.")
@click.option("--note", default="", help="Free text kept with the deployment (a change ticket, a URL).")
@click.option("--digest", default="", help=DIGEST_HELP + " Checked by the gate and kept with the record.")
@click.pass_context
def deploy(
    ctx: click.Context,
    reference: str,
    environment: str,
    strategy: str,
    traffic_percent,
    target,
    note: str,
    digest: str,
):
    """Record that a version was deployed. The server asks the gate first: exit 1 with the gate's reasons
    when it is closed (nothing recorded), 2 on any other error."""
    obj: Context = ctx.obj
    model, version = _version_of(obj, reference)
    note = "\n".join(line for line in (f"target: {target}" if target else "", note) if line)
    try:
        deployment = obj.client.deployment_record(
            model,
            version,
            environment,
            strategy=strategy,
            traffic_percent=traffic_percent,
            note=note,
            digest=digest,
        )
    except ApiError as error:
        if error.code != "gate_closed":
            raise
        _fail(ctx, error.as_dict(), error.describe(), EXIT_DENIED)
    obj.emit(
        deployment.raw,
        f"deployment {deployment.id} {deployment.reference} to {deployment.environment} "
        f"({deployment.strategy}, approval {deployment.approval or '-'}) {deployment.status}",
    )


# -- reports ---------------------------------------------------------------------------------------


@main.group()
def reports() -> None:
    """Reports (PDF)."""


@reports.command("generate")
@click.argument("reference", metavar="MODEL[:VERSION]", required=False)
@click.option(
    "--kind",
    type=click.Choice(["validation", "documentation", "monitoring", "audit_evidence"]),
    default="validation",
    show_default=True,
)
@click.option("--variant", type=click.Choice(["standard", "pdf/a-3b"]))
@click.option("--approval", type=int, help="An approval's id (audit_evidence reports).")
@click.option("--wait", is_flag=True, help="Wait until the report is ready.")
@click.option("--wait-timeout", default=1800.0, show_default=True)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="With --wait: save the PDF here."
)
@pass_context
def reports_generate(obj: Context, reference, kind, variant, approval, wait, wait_timeout, output):
    """Queue a report; with --wait, follow it and save it to --output."""
    if output and not wait:
        raise click.UsageError("--output needs --wait (the PDF exists once the report has succeeded)")
    subject: dict[str, Any] = {"variant": variant, "approval": approval}
    if reference:
        model, _, version = reference.partition(":")
        subject.update(model=model, version=int(version) if version else None)
    report = obj.client.report_generate(kind, **subject)
    if wait:
        report = _wait(obj, report, wait_timeout)
        if report.status != "succeeded":
            obj.emit(report.raw, f"report {report.id} {report.status}: {report.error or ''}")
            sys.exit(EXIT_ERROR)
        if output:
            obj.client.report_download(report.id, output, expected_sha256=report.sha256 or "")
            obj.note(f"saved {output}")
    obj.emit(
        report.raw,
        f"report {report.id} {report.status}" + (f" sha256:{report.sha256}" if report.sha256 else ""),
    )


# -- evidence bundles ------------------------------------------------------------------------------


@main.group()
def bundles() -> None:
    """Evidence bundles (BagIt zips; auditors, risk officers and administrators)."""


@bundles.command("download")
@click.argument("reference", metavar="MODEL[:VERSION]|ID")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="The zip (default: BAG_NAME.zip)."
)
@click.option("--wait", is_flag=True, help="Wait until the bundle is built, then download it.")
@click.option("--wait-timeout", default=1800.0, show_default=True)
@pass_context
def bundles_download(obj: Context, reference: str, output: Path | None, wait: bool, wait_timeout: float):
    """Download an evidence bundle, its SHA-256 checked against the server's. MODEL[:VERSION] requests a
    new bundle of the version's records as they are now; ID is a bundle requested before. A bundle that is
    not built yet is downloaded with --wait; without it its id is printed (exit 0, nothing saved)."""
    if reference.isdigit():
        bundle = obj.client.bundle_get(int(reference))
    else:
        bundle = obj.client.bundle_request(*_version_of(obj, reference))
        obj.note(f"requested bundle {bundle.id} ({bundle.bag_name})")
    if wait:
        bundle = _wait(obj, bundle, wait_timeout)
    if bundle.status == "failed":
        obj.emit(bundle.raw, f"bundle {bundle.id} failed: {bundle.error or ''}")
        sys.exit(EXIT_ERROR)
    if not bundle.finished:
        obj.emit(
            bundle.raw, f"bundle {bundle.id} {bundle.status}: `attest bundles download {bundle.id} --wait`"
        )
        return
    output = output or Path(f"{bundle.bag_name}.zip")
    with TransferProgressDisplay(obj, output.name, bundle.size or 0, "downloading") as progress:
        obj.client.bundle_download(bundle.id, output, progress=progress, expected_sha256=bundle.sha256 or "")
    obj.emit(bundle.raw, f"{output} sha256:{bundle.sha256}")


# -- MLflow ----------------------------------------------------------------------------------------


@main.group()
def mlflow() -> None:
    """MLflow tracking servers: connect one, import its registered models (docs/MLFLOW.md)."""


@mlflow.command("registries")
@pass_context
def mlflow_registries(obj: Context):
    """The connected MLflow tracking servers you can see."""
    found = list(obj.client.mlflow_registries())
    obj.emit(
        [registry.raw for registry in found],
        "\n".join(
            f"{r.name} {r.tracking_uri} team {r.team} (last synced {r.last_synced_at or 'never'})"
            for r in found
        )
        or "no MLflow registries connected",
    )


@mlflow.command("import")
@click.option("--tracking-uri", required=True, help="The MLflow tracking server, e.g. http://mlflow:5000")
@click.option("--model", help="Import only this registered model (default: every one).")
@click.option("--team", help="Connect the tracking server for this team when it is not connected yet.")
@click.option("--registry", "registry_name", help="The name to connect it under (default: from the URI).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the import to its end.")
@click.option("--wait-timeout", default=1800.0, show_default=True, help="Seconds to wait in all.")
@click.option("--fail-on-problems", is_flag=True, help="Exit 1 when the import reports any problem.")
@pass_context
def mlflow_import(
    obj: Context,
    tracking_uri: str,
    model: str | None,
    team: str | None,
    registry_name: str | None,
    wait: bool,
    wait_timeout: float,
    fail_on_problems: bool,
):
    """Import MLflow's registered models (their versions, runs, aliases and tags) into Attest.

    The tracking server is connected on first use (--team needed then); its webhook secret is printed
    that once. Exit 0 when the import succeeded (its problems printed), 1 when it failed (or had problems,
    with --fail-on-problems), 2 when the API refused or could not be reached."""
    registry = _mlflow_registry(obj, tracking_uri, team, registry_name)
    if model and registry.model_names and model not in registry.model_names:
        # the server would run the sync and import nothing: say so instead of reporting a success
        raise click.UsageError(
            f"MLflow registry {registry.name} imports only {', '.join(registry.model_names)}; "
            f"{model} is not one of them (an administrator changes the registry's model names)"
        )
    job = obj.client.mlflow_sync(registry.name, model)
    if not wait:
        obj.emit(job.raw, f"sync {job.id} {job.status}")
        return
    job = _wait_sync(obj, job, wait_timeout)
    obj.emit(job.raw, _sync_summary(job))
    if job.status == "failed" or (fail_on_problems and job.problems):
        sys.exit(EXIT_DENIED)


def _mlflow_registry(obj: Context, uri: str, team: str | None, name: str | None) -> MlflowRegistry:
    """The registry connected for ``uri``, or a new one for ``team`` (its secret printed, once)."""
    uri = uri.rstrip("/")
    found = next(iter(obj.client.mlflow_registries(tracking_uri=uri)), None)
    if found is not None:
        return found
    if not team:
        raise click.UsageError(f"{uri} is not connected yet: give --team to connect it")
    registry = obj.client.mlflow_registry_create(name or _registry_slug(uri), uri, team)
    # stderr even with --json: stdout is the job's body, and the secret is never shown again
    for line in (
        f"connected {registry.tracking_uri} as MLflow registry {registry.name} for team {registry.team}",
        f"  webhook URL: {registry.webhook_url}",
        f"  webhook secret (shown once): {registry.secret}",
        "  create the webhook in MLflow (with MLFLOW_TRACKING_URI set to this server): "
        f"MlflowClient().create_webhook(name='attest', url='{registry.webhook_url}', "
        f"events={MLFLOW_WEBHOOK_EVENTS!r}, secret='<the secret above>')",
    ):
        click.echo(line, err=True)
    return registry


def _registry_slug(uri: str) -> str:
    """``http://mlflow.example.com:5000`` → ``mlflow-example-com-5000``: the API's slug of at most 64."""
    parts = urlsplit(uri)
    if not parts.hostname:
        raise click.BadParameter(
            f"{uri!r}: expected a URL such as http://mlflow:5000", param_hint="--tracking-uri"
        )
    host = f"{parts.hostname}-{parts.port}" if parts.port else parts.hostname
    return re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")[:64].rstrip("-")


def _sync_summary(job: MlflowSync) -> str:
    scope = f"{job.registry} ({job.model})" if job.model else job.registry
    lines = [f"sync {job.id} of {scope} {job.status}" + (f": {job.error}" if job.error else "")]
    lines += [f"  {name}: {count}" for name, count in sorted(job.counts.items())]
    lines += [
        f"  problem: {problem.get('where', '')}: {problem.get('message', '')}" for problem in job.problems
    ]
    return "\n".join(lines)


def _sync_line(job: MlflowSync) -> str:
    progress = job.progress or {}
    done = f" {progress.get('current', 0)}/{progress['total']} versions" if progress.get("total") else ""
    return f"sync {job.id}: {job.status}{done}"


def _wait_sync(obj: Context, job: MlflowSync, timeout: float) -> MlflowSync:
    """A Rich bar of versions looked at on a terminal; a plain line per change elsewhere."""
    if obj.interactive:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress

        with Progress(
            "{task.description}", BarColumn(), MofNCompleteColumn(), console=Console(stderr=True)
        ) as bar:
            task = bar.add_task(f"sync {job.id}", total=None)

            def show(seen: Job) -> None:
                progress = seen.raw.get("progress") or {}
                total = progress.get("total") or None
                bar.update(task, completed=progress.get("current", 0), total=total,
                           description=f"sync {seen.id} {seen.status}")  # fmt: skip

            return obj.client.wait(job, timeout=timeout, progress=show)
    last: list[str] = []

    def plain(seen: Job) -> None:
        line = _sync_line(seen)
        if not last or line != last[-1]:
            last.append(line)
            obj.note(line)

    return obj.client.wait(job, timeout=timeout, progress=plain)


# -- helpers ---------------------------------------------------------------------------------------


def _version_of(obj: Context, reference: str) -> tuple[str, int]:
    """``model:version``, or ``model`` for its newest version."""
    model, _, version = reference.partition(":")
    if version:
        if not version.isdigit():
            raise click.BadParameter(f"{reference!r}: expected MODEL or MODEL:VERSION")
        return model, int(version)
    latest = obj.client.model_get(model).latest_version
    if latest is None:
        raise click.ClickException(f"model {model} has no versions yet")
    return model, latest


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """Options as the API should see them: an empty value is an option left out (a CI template passes
    its inputs through whether or not they were set), a repeated option a list."""
    given: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, tuple):
            value = [item for item in value if item]
        given[key] = value or None
    return given


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, item = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: expected KEY=VALUE", param_hint=option)
        pairs[key] = item
    return pairs


def _number(value: str) -> float | int | str:
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def _json_value(value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # a bare word: the string itself


def _found(fetch: Callable[[], Any]) -> Any:
    """What ``fetch`` answers, or None when the API says 404."""
    try:
        return fetch()
    except ApiError as error:
        if error.status == 404:
            return None
        raise


class TransferProgressDisplay:
    """A Rich bar on a terminal; plain lines (start and end) elsewhere; nothing with --json."""

    def __init__(self, obj: Context, name: str, size: int, verb: str):
        self.obj, self.name, self.size, self.verb = obj, name, size, verb
        self.bar = None

    @classmethod
    def upload(cls, obj: Context, file: Path) -> TransferProgressDisplay:
        return cls(obj, file.name, file.stat().st_size, "uploading")

    def __enter__(self) -> Callable[[int, int], None] | None:
        if self.obj.interactive:
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

            self.bar = Progress(
                "{task.description}",
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),  # stdout stays the answer
            )
            self.bar.start()
            task = self.bar.add_task(f"{self.verb} {self.name}", total=self.size or None)
            return lambda done, total: self.bar.update(task, completed=done, total=total or self.size or None)
        self.obj.note(f"{self.verb} {self.name} ({self.size} bytes)")
        return None

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()
        elif exc[0] is None:
            self.obj.note(f"{self.verb.replace('ing', 'ed')} {self.name}")


def _wait(obj: Context, job: Job, timeout: float) -> Job:
    label = f"check {job.id} ({job.kind})" if isinstance(job, CheckRun) else f"report {job.id}"
    label = f"bundle {job.id}" if isinstance(job, Bundle) else label
    if obj.interactive:
        from rich.console import Console

        with Console(stderr=True).status(f"{label}: {job.status}") as status:
            return obj.client.wait(
                job, timeout=timeout, progress=lambda seen: status.update(_job_line(label, seen))
            )
    last: list[str] = []

    def plain(seen: Job) -> None:
        line = _job_line(label, seen)
        if not last or line != last[-1]:  # a line per change, not per poll
            last.append(line)
            obj.note(line)

    return obj.client.wait(job, timeout=timeout, progress=plain)


def _job_line(label: str, job: Job) -> str:
    progress = job.raw.get("progress")
    detail = (progress.get("message") or progress.get("stage") or "") if isinstance(progress, dict) else ""
    if detail in (job.status, "done"):  # says nothing the status does not
        detail = ""
    outcome = f" {job.outcome}" if isinstance(job, CheckRun) and job.outcome else ""
    return f"{label}: {job.status}{outcome}" + (f" ({detail})" if detail else "")
