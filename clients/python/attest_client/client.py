"""``Client(url, token)``: the Attest API over httpx, with timeouts, retries, typed answers and job waits."""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from attest_client.errors import ApiError, AttestError, TransportError, WaitTimeout
from attest_client.resources import (
    Approval,
    Bundle,
    CheckRun,
    DatasetVersion,
    Deployment,
    GateDecision,
    Job,
    MlflowRegistry,
    MlflowSync,
    Model,
    Report,
    Version,
)

API = "/api/v1"
RETRIED_STATUSES = (429, 503)  # the API says when to come back (Retry-After)
CHUNK = 1024 * 1024

# (bytes sent so far, total bytes) as an upload streams (received so far, total or 0 when unknown, as a
# download does); (the job as last seen) as a wait polls
UploadProgress = Callable[[int, int], None]
DownloadProgress = Callable[[int, int], None]
JobProgress = Callable[[Job], None]


@dataclass
class Page:
    count: int
    results: list[dict[str, Any]]
    next: str | None


class HashingReader:
    """A file read in chunks for the request body, hashing and reporting each chunk as it is sent."""

    def __init__(self, handle: BinaryIO, total: int, progress: UploadProgress | None = None):
        self.handle = handle
        self.total = total
        self.sent = 0
        self.digest = hashlib.sha256()
        self.progress = progress

    def fileno(self) -> int:  # httpx sizes the body from it: a Content-Length, not a chunked body
        return self.handle.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        """httpx rewinds before each (re)send of the body: the count and the digest start again."""
        if (offset, whence) == (0, 0):
            self.sent, self.digest = 0, hashlib.sha256()
        return self.handle.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(CHUNK if size is None or size < 0 else size)
        if chunk:
            self.digest.update(chunk)
            self.sent += len(chunk)
            if self.progress:
                self.progress(self.sent, self.total)
        return chunk


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Client:
    """The API as one bearer token sees it.

    Connect errors are retried by the transport; 429 and 503 answers are retried after the Retry-After
    they carry (bounded by ``max_retry_wait``); any other error answer raises :class:`ApiError`.
    """

    def __init__(
        self,
        url: str,
        token: str = "",
        *,
        timeout: float = 30.0,
        retries: int = 3,
        max_retry_wait: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ):
        self.url = url.rstrip("/")
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        headers = {"Accept": "application/json", "User-Agent": "attest-client/0.1"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport or httpx.HTTPTransport(retries=retries),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One API call (a streamed upload is rewound by httpx before a retry sends it again)."""
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                raise TransportError(f"{method} {self.url}{path}: {error}") from error
            if response.status_code in RETRIED_STATUSES and attempt < self.retries:
                time.sleep(self._retry_after(response, attempt))
                continue
            break
        if response.status_code >= 400:
            raise ApiError.from_response(response.status_code, _json_or_none(response), response.text[:200])
        return response

    def _retry_after(self, response: httpx.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After", "")
        seconds = float(2**attempt)
        if header.isdigit():
            seconds = float(header)
        elif header:
            when = email.utils.parsedate_to_datetime(header)
            seconds = when.timestamp() - time.time() if when else seconds
        return max(0.0, min(seconds, self.max_retry_wait))

    def get(self, path: str, **params) -> dict[str, Any]:
        return self.request("GET", path, params=_present(params)).json()

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", path, json=_present(body)).json()

    def paginate(self, path: str, **params) -> Iterator[dict[str, Any]]:
        """Every item of a list, following ``next`` page by page."""
        page = self._page(self.request("GET", path, params=_present(params)).json())
        while True:
            yield from page.results
            if not page.next:
                return
            page = self._page(self.request("GET", page.next).json())

    @staticmethod
    def _page(body: dict[str, Any]) -> Page:
        return Page(count=body.get("count", 0), results=body.get("results", []), next=body.get("next"))

    # -- auth --------------------------------------------------------------------------------------

    def token_create(self, username: str, password: str, name: str = "attest-cli") -> dict[str, Any]:
        return self.post(f"{API}/auth/token/", {"username": username, "password": password, "name": name})

    # -- registry ----------------------------------------------------------------------------------

    def model_register(
        self, name: str, team: str, title: str, tier_answers: dict[str, str], **fields
    ) -> Model:
        body = {"name": name, "team": team, "title": title, "tier_answers": tier_answers, **fields}
        return Model.from_api(self.post(f"{API}/models/", body))

    def model_get(self, name: str) -> Model:
        return Model.from_api(self.get(f"{API}/models/{name}/"))

    def model_status(self, name: str, status: str, reason: str = "") -> Model:
        """Move a model along its lifecycle (draft → in_development → in_validation → …)."""
        return Model.from_api(self.post(f"{API}/models/{name}/status/", {"status": status, "reason": reason}))

    def models(self, **filters) -> Iterator[Model]:
        return (Model.from_api(item) for item in self.paginate(f"{API}/models/", **filters))

    def dataset_create(self, name: str, team: str, title: str = "", **fields) -> dict[str, Any]:
        return self.post(f"{API}/datasets/", {"name": name, "team": team, "title": title, **fields})

    def dataset_upload(
        self, dataset: str, path: Path, *, progress: UploadProgress | None = None, **fields
    ) -> DatasetVersion:
        """Upload a file as the dataset's next version (the same bytes again answer the existing one)."""
        body = self._upload(f"{API}/datasets/{dataset}/versions/", "file", Path(path), fields, progress)
        return DatasetVersion.from_api(body)

    def version_upload(
        self, model: str, path: Path, *, progress: UploadProgress | None = None, **fields
    ) -> Version:
        """Upload an artifact as the model's next version. ``tags``, ``signature``, ``parameters`` and
        ``metrics`` may be dicts; ``training_datasets`` / ``validation_datasets`` lists of ``name:version``."""
        body = self._upload(f"{API}/models/{model}/versions/", "artifact", Path(path), fields, progress)
        return Version.from_api(body)

    def version_get(self, model: str, version: int) -> Version:
        return Version.from_api(self.get(f"{API}/models/{model}/versions/{version}/"))

    def evidence_upload(
        self,
        model: str,
        version: int,
        evidence_type: str,
        path: Path,
        *,
        title: str = "",
        progress: UploadProgress | None = None,
    ) -> dict[str, Any]:
        """Attach a document to a version as evidence of ``evidence_type`` (e.g. ``validation_report``).
        The API takes no declared digest here: the SHA-256 it answers is compared with the file's."""
        fields = {"model": model, "version": version, "evidence_type": evidence_type, "title": title or None}
        body = self._upload(f"{API}/evidence/", "file", Path(path), fields, progress, declare_sha256=False)
        expected = file_sha256(Path(path))
        if body.get("sha256") != expected:
            raise AttestError(f"the server stored {path} as SHA-256 {body.get('sha256')}, not {expected}")
        return body

    def _upload(
        self,
        path: str,
        file_field: str,
        file: Path,
        fields: dict[str, Any],
        progress: UploadProgress | None,
        *,
        declare_sha256: bool = True,
    ) -> dict[str, Any]:
        """Stream ``file`` in chunks, never whole in memory, after the fields as one JSON ``metadata``
        part. That part, with its ``sha256``, precedes the file in the body, so the digest is computed in
        a first streaming pass and declared: the server refuses bytes that differ from it. The upload pass
        hashes again, so a file that changed between the two passes is caught here too."""
        declared = file_sha256(file)
        metadata = _metadata_part({**fields, "sha256": declared} if declare_sha256 else fields)
        with file.open("rb") as handle:
            reader = HashingReader(handle, file.stat().st_size, progress)
            files = {"metadata": metadata, file_field: (file.name, reader, "application/octet-stream")}
            response = self.request("POST", path, files=files)
        if reader.digest.hexdigest() != declared:
            raise AttestError(f"{file} changed while it was uploaded (SHA-256 {declared} before)")
        return response.json()

    # -- checks, approvals, the gate, reports ------------------------------------------------------

    def check_run(self, kind: str, model: str, version: int, **fields) -> CheckRun:
        body = {"kind": kind, "model": model, "version": version, **fields}
        return CheckRun.from_api(self.post(f"{API}/checks/", body))

    def check_get(self, run_id: int) -> CheckRun:
        return CheckRun.from_api(self.get(f"{API}/checks/{run_id}/"))

    def checks(self, **filters) -> Iterator[CheckRun]:
        return (CheckRun.from_api(item) for item in self.paginate(f"{API}/checks/", **filters))

    def approval_request(
        self, model: str, version: int, environment: str, justification: str = ""
    ) -> Approval:
        body = {
            "model": model,
            "version": version,
            "environment": environment,
            "justification": justification,
        }
        return Approval.from_api(self.post(f"{API}/approvals/", body))

    def approval_get(self, approval_id: int) -> Approval:
        return Approval.from_api(self.get(f"{API}/approvals/{approval_id}/"))

    def approvals(self, **filters) -> Iterator[Approval]:
        return (Approval.from_api(item) for item in self.paginate(f"{API}/approvals/", **filters))

    def gate(self, model: str, version: int, environment: str, *, digest: str = "") -> GateDecision:
        """The gate's answer; with ``digest`` (what you are about to ship: a bundle digest or the
        artifact's SHA-256), a mismatch with the version's closes it (code ``digest_mismatch``)."""
        query = {"model": model, "version": version, "environment": environment}
        body = self.get(f"{API}/gate/", **query, **({"digest": digest} if digest else {}))
        return GateDecision.from_api(body)

    def report_generate(self, kind: str, **fields) -> Report:
        return Report.from_api(self.post(f"{API}/reports/", {"kind": kind, **fields}))

    def report_get(self, report_id: int) -> Report:
        return Report.from_api(self.get(f"{API}/reports/{report_id}/"))

    def report_download(
        self,
        report_id: int,
        destination: Path,
        *,
        progress: DownloadProgress | None = None,
        expected_sha256: str = "",
    ) -> Path:
        """Save a finished report's PDF, its SHA-256 checked against the one the server states."""
        url = f"{API}/reports/{report_id}/download/"
        return self._download(url, Path(destination), progress, expected_sha256)

    # -- deployments and evidence bundles ----------------------------------------------------------

    def deployment_record(
        self,
        model: str,
        version: int,
        environment: str,
        *,
        strategy: str | None = None,
        traffic_percent: int | None = None,
        note: str = "",
        digest: str = "",
    ) -> Deployment:
        """Record that a version went to an environment. The server asks the gate first: a closed gate
        raises :class:`ApiError` 409 ``gate_closed`` with the gate's ``reasons`` in ``details``. ``digest``
        is what was shipped; the gate refuses one that is not the version's, and the record keeps it."""
        body = {
            "model": model,
            "version": version,
            "environment": environment,
            "strategy": strategy,
            "traffic_percent": traffic_percent,
            "note": note,
            **({"digest": digest} if digest else {}),
        }
        return Deployment.from_api(self.post(f"{API}/deployments/", body))

    def deployments(self, **filters) -> Iterator[Deployment]:
        return (Deployment.from_api(item) for item in self.paginate(f"{API}/deployments/", **filters))

    def bundle_request(self, model: str, version: int) -> Bundle:
        """Queue an evidence bundle of a version (auditors, risk officers and administrators)."""
        return Bundle.from_api(self.post(f"{API}/evidence-bundles/", {"model": model, "version": version}))

    def bundle_get(self, bundle_id: int) -> Bundle:
        return Bundle.from_api(self.get(f"{API}/evidence-bundles/{bundle_id}/"))

    def bundles(self, **filters) -> Iterator[Bundle]:
        return (Bundle.from_api(item) for item in self.paginate(f"{API}/evidence-bundles/", **filters))

    def bundle_download(
        self,
        bundle_id: int,
        destination: Path,
        *,
        progress: DownloadProgress | None = None,
        expected_sha256: str = "",
    ) -> Path:
        """Save a finished bundle's zip, its SHA-256 checked against the one the server states (in the
        response's ``X-Checksum-SHA256``, and ``expected_sha256`` from the bundle's body when given)."""
        url = f"{API}/evidence-bundles/{bundle_id}/download/"
        return self._download(url, Path(destination), progress, expected_sha256)

    # -- MLflow ------------------------------------------------------------------------------------

    def mlflow_registries(self, tracking_uri: str | None = None) -> Iterator[MlflowRegistry]:
        """The connected MLflow tracking servers this token sees (only the one at ``tracking_uri``)."""
        found = self.paginate(f"{API}/mlflow/registries/", tracking_uri=tracking_uri)
        return (MlflowRegistry.from_api(item) for item in found)

    def mlflow_registry_create(
        self,
        name: str,
        tracking_uri: str,
        team: str,
        *,
        run_as: str | None = None,
        model_names: list[str] | None = None,
        poll_minutes: int | None = None,
        write_back: bool | None = None,
    ) -> MlflowRegistry:
        """Connect a tracking server for ``team``. The answer carries the webhook ``secret``, once."""
        body = {
            "name": name,
            "tracking_uri": tracking_uri,
            "team": team,
            "run_as": run_as,
            "model_names": model_names,
            "poll_minutes": poll_minutes,
            "write_back": write_back,
        }
        return MlflowRegistry.from_api(self.post(f"{API}/mlflow/registries/", body))

    def mlflow_sync(self, registry: str, model: str | None = None) -> MlflowSync:
        """Queue an import of a registry (or of one MLflow model); a sync of the same scope already
        waiting is answered instead of a second one."""
        return MlflowSync.from_api(self.post(f"{API}/mlflow/syncs/", {"registry": registry, "model": model}))

    def mlflow_sync_get(self, sync_id: int) -> MlflowSync:
        return MlflowSync.from_api(self.get(f"{API}/mlflow/syncs/{sync_id}/"))

    def _download(
        self, path: str, destination: Path, progress: DownloadProgress | None, expected: str = ""
    ) -> Path:
        """Stream ``path`` to a temporary file beside ``destination``, hashing each chunk; rename it into
        place only when the digest matches the ``X-Checksum-SHA256`` the server sent (and ``expected``, the
        job's stated ``sha256``), so a partial or altered file never takes the name."""
        partial = destination.with_name(destination.name + ".part")
        with self.http.stream("GET", path) as response:
            if response.status_code >= 400:
                response.read()
                raise ApiError.from_response(
                    response.status_code, _json_or_none(response), response.text[:200]
                )
            stated = response.headers.get("X-Checksum-SHA256", "")
            total = int(response.headers.get("Content-Length") or 0)
            digest, received = hashlib.sha256(), 0
            with partial.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
                    if progress:
                        progress(received, total)
        for claimed in {stated, expected} - {""}:
            if digest.hexdigest() != claimed:
                partial.unlink()
                raise AttestError(
                    f"{path}: received SHA-256 {digest.hexdigest()}, the server stated {claimed}"
                )
        partial.replace(destination)
        return destination

    def wait(
        self,
        job: Job,
        *,
        timeout: float = 1800.0,
        interval: float = 2.0,
        progress: JobProgress | None = None,
    ) -> Job:
        """Poll a check run, report, bundle or MLflow sync until it has succeeded or failed;
        :class:`WaitTimeout` otherwise."""
        fetch = {
            CheckRun: self.check_get,
            Report: self.report_get,
            Bundle: self.bundle_get,
            MlflowSync: self.mlflow_sync_get,
        }[type(job)]
        deadline = time.monotonic() + timeout
        while True:
            if progress:
                progress(job)
            if job.finished:
                return job
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"job {job.id} still {job.status} after {timeout:.0f} s")
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
            job = fetch(job.id)


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _metadata_part(fields: dict[str, Any]) -> tuple[str, bytes, str]:
    """The upload's fields as the API's ``metadata`` part: one JSON object, lists and objects as they are."""
    values = {
        key: list(value) if isinstance(value, tuple) else value for key, value in _present(fields).items()
    }
    label = values.get("favourable_label")
    if isinstance(label, str):  # read as the older form read its text: 1 the integer, good the text
        values["favourable_label"] = _label_from_text(label)
    return ("metadata.json", json.dumps(values).encode(), "application/json")


def _label_from_text(text: str) -> Any:
    """JSON when it is JSON (the server checks the type), else the text; blank is none."""
    text = text.strip()
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def client_from_env(url: str | None = None, token: str | None = None) -> Client:
    return Client(url or os.environ.get("ATTEST_URL", ""), token or os.environ.get("ATTEST_TOKEN", ""))
