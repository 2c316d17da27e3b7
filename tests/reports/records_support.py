"""Fixtures and helpers for the tests of report records, bundles, exports and GRC delivery.

Test modules import what they use (``from tests.reports.records_support import *`` style imports of
fixtures make pytest find them). The versions come from tests/workflow/conftest.py: ``quick_ready_version``
(recorded passing runs, cheap) for most tests, ``ready_version`` (real check runs, ~a minute) where the
report's charts and numbers matter.
"""

# ruff: noqa: F811  (fixtures imported from tests/workflow/conftest.py are used as arguments)

from __future__ import annotations

import hashlib
import io
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import rfc8785
from django.db import transaction
from django.utils import timezone

from audit import record
from monitoring.models import CheckRun
from monitoring.thresholds import resolve_thresholds
from reports.models import EvidenceBundle, JobStatus, Report
from reports.services import jobs
from tests.factories import PASSWORD
from tests.workflow.conftest import (  # noqa: F401  (fixtures, found by pytest through the import)
    checked_runs,
    datasets,
    quick_ready_version,
    quick_version,
    ready_version,
    tier1_model,
    version,
)
from workflow.models import ApprovalRequest
from workflow.services import approvals
from workflow.services.approvals import SignatureInput


def approve(version, requester, signers) -> ApprovalRequest:
    """Request production approval and sign every stage through the services (password re-entry)."""
    request = approvals.approval_request(
        actor=requester, version=version, environment="production", justification="Release 1."
    )
    for user, meaning in signers:
        approvals.approval_sign(
            actor=user,
            request=request,
            signing=SignatureInput(
                decision="approve", meaning=meaning, comment=f"Signed by {user.username}.", password=PASSWORD
            ),
        )
    request.refresh_from_db()
    return request


@pytest.fixture
def approved(quick_ready_version, maya, victor, rita, admin_user) -> ApprovalRequest:
    """``quick_ready_version`` approved for production by victor, rita and admin, in order."""
    signers = [(victor, "review"), (rita, "approval"), (admin_user, "responsibility")]
    return approve(quick_ready_version, maya, signers)


def stored_run(
    version, kind: str, evaluations: list[dict], *, outcome: str = "pass", actor=None, plan=None
) -> CheckRun:
    """A finished run with the given evaluations, and its ``check.succeeded`` event, as a worker leaves
    them (the CSV feed follows those events)."""
    run = CheckRun(
        kind=kind,
        model_version=version,
        artifact_sha256=version.artifact_sha256,
        requested_by=actor,
        plan=plan,
    )
    run.thresholds = resolve_thresholds(run)
    run.results = {"recorded": kind, "nonce": uuid.uuid4().hex}
    run.result_sha256 = hashlib.sha256(rfc8785.dumps(run.results)).hexdigest()
    run.evaluations = evaluations
    run.status, run.outcome = "succeeded", outcome
    run.outcome_reason = "" if outcome == "pass" else f"recorded {outcome}"
    run.started_at = run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
        record(action="check.succeeded", actor=None, obj=run, after={"outcome": outcome})
    return run


def evaluation(metric: str, scope: str, value, threshold=None, status: str = "pass") -> dict:
    return {
        "metric": metric,
        "scope": scope,
        "value": value,
        "threshold": threshold,
        "rule": f"{metric} >= {metric}_min" if threshold is not None else None,
        "status": status,
        "explanation": f"{metric} of {scope}",
    }


def finished_report(version, *, kind: str = "validation", user=None, content: bytes | None = None) -> Report:
    """A succeeded report record with a stored file, without rendering (for permission and delivery
    tests, where the PDF's content does not matter)."""
    content = content or b"%PDF-1.7\n% a stand-in for a rendered report\n%%EOF\n"
    key, sha256 = jobs.store("reports", content, "report.pdf")
    return Report.objects.create(
        kind=kind,
        model=version.model,
        model_version=version,
        status=JobStatus.SUCCEEDED,
        sha256=sha256,
        size=len(content),
        file_key=key,
        page_count=1,
        generated_at=timezone.now(),
        requested_by=user,
        requested_by_name=user.printed_name if user else "Attest (automatic)",
    )


def finished_bundle(version, *, user=None) -> EvidenceBundle:
    """A succeeded bundle record with a stored (tiny) zip, without building it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("evidence/bagit.txt", "BagIt-Version: 1.0\n")
    key, sha256 = jobs.store("bundles", buffer.getvalue(), "bundle.zip")
    bundle = EvidenceBundle.objects.create(
        model=version.model,
        model_version=version,
        status=JobStatus.SUCCEEDED,
        sha256=sha256,
        size=len(buffer.getvalue()),
        file_key=key,
        generated_at=timezone.now(),
        requested_by=user,
        requested_by_name=user.printed_name if user else "",
    )
    bundle.bag_name = f"evidence-{version.model.name}-v{version.version}-{bundle.pk}"
    bundle.save(update_fields=["bag_name"])
    return bundle


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) recording each POST and answering with the next
    scripted status (then 201)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.received.append({"path": self.path, "headers": headers, "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 201
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()
