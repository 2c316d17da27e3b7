"""MLflow's tracking server over its REST API (Attest never imports ``mlflow``: its pins clash with ours
and a server is all a team gives us).

Every request goes through ``config.outbound`` (the tracking URI is typed by an administrator: an address
on the server's own network is refused unless allow-listed, and the checked address is the one connected
to). Artifacts are read through the tracking server's artifact proxy (``mlflow server
--serve-artifacts``, the default since MLflow 2): ``mlflow-artifacts:/…`` URIs. An artifact stored
elsewhere (``s3://…`` without the proxy) is reported as unreachable, never fetched with other credentials.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode, urlsplit

from config import outbound

API = "/api/2.0/mlflow"
TRACES = "/api/3.0/mlflow/traces"  # MLflow 3's trace API (assessments live on traces)
MODEL_IDS_PER_SEARCH = 100  # logged model ids per search filter (``attributes.model_id IN (…)``)
LOGGED_METRICS = "metrics"  # a logged model's data.metrics in MLflow's JSON (not an Attest check result)
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
PAGE = 1000  # MLflow's own cap for registered-model and model-version searches
CHUNK = 1024 * 1024


class MlflowError(Exception):
    """MLflow answered with an error, or could not be reached; ``str()`` is fit to show an administrator."""

    def __init__(self, message: str, *, status: int | None = None, code: str = ""):
        super().__init__(message)
        self.status = status
        self.code = code


class Unreachable(MlflowError):
    """An artifact (or dataset) lives where the tracking server does not serve it."""


class TooLarge(MlflowError):
    """A file is larger than Attest accepts for its kind."""


class Mlflow:
    """A tracking server at ``tracking_uri`` (``http(s)://host[:port][/prefix]``)."""

    def __init__(self, tracking_uri: str, *, token: str = "", timeout: float = 60.0):
        self.base = tracking_uri.rstrip("/")
        self.token = token
        self.timeout = timeout

    # --- requests ------------------------------------------------------------------------------------

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "attest-mlflow-sync"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers | (extra or {})

    def call(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> dict:
        """One JSON call; MlflowError carries MLflow's ``error_code`` and ``message``."""
        url = f"{self.base}{path}" + (f"?{urlencode(params)}" if params else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = self._headers({"Content-Type": "application/json"} if data is not None else None)
        try:
            with outbound.request(method, url, body=data, headers=headers, timeout=self.timeout) as answer:
                raw = answer.read()
                status = answer.status
        except outbound.Refused:
            raise MlflowError(f"{self.base}: {outbound.REFUSED}") from None
        except outbound.InvalidUrl as exc:
            raise MlflowError(f"{self.base} is not {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise MlflowError(f"{self.base} could not be reached: {exc}") from None
        return _answer(status, raw, path)

    def get(self, endpoint: str, **params: Any) -> dict:
        return self.call("GET", endpoint, params={k: v for k, v in params.items() if v is not None})

    # --- the registry ---------------------------------------------------------------------------------

    def registered_models(self) -> Iterator[dict]:
        yield from self._pages("/registered-models/search", "registered_models")

    def registered_model(self, name: str) -> dict:
        return self.get(f"{API}/registered-models/get", name=name)["registered_model"]

    def model_versions(self, name: str) -> Iterator[dict]:
        escaped = name.replace("'", "\\'")
        yield from self._pages("/model-versions/search", "model_versions", filter=f"name='{escaped}'")

    def _pages(self, path: str, key: str, **params: Any) -> Iterator[dict]:
        token = None
        while True:
            page = self.get(f"{API}{path}", max_results=PAGE, page_token=token, **params)
            yield from page.get(key, [])
            token = page.get("next_page_token")
            if not token:
                return

    def run(self, run_id: str) -> dict | None:
        if not run_id:
            return None
        try:
            return self.get(f"{API}/runs/get", run_id=run_id)["run"]
        except MlflowError as exc:
            if exc.status == 404:
                return None
            raise

    # --- GenAI evaluations --------------------------------------------------------------------------

    def logged_models(self, experiment_id: str, model_ids: list[str]) -> Iterator[tuple[str, set[str]]]:
        """The named MLflow 3 logged models of an experiment, each with the runs that logged metrics on it
        (asked for ``MODEL_IDS_PER_SEARCH`` at a time, so an experiment's other models are never listed)."""
        for start in range(0, len(model_ids), MODEL_IDS_PER_SEARCH):
            chunk = model_ids[start : start + MODEL_IDS_PER_SEARCH]
            listed = ", ".join(f"'{model_id}'" for model_id in chunk)
            body: dict[str, Any] = {
                "experiment_ids": [experiment_id],
                "filter": f"attributes.model_id IN ({listed})",
                "max_results": PAGE,
            }
            while True:
                page = self.call("POST", f"{API}/logged-models/search", body=body)
                for model in page.get("models", []):
                    logged = (model.get("data") or {}).get(LOGGED_METRICS) or []
                    runs = {str(item.get("run_id") or "") for item in logged} - {""}
                    yield str((model.get("info") or {}).get("model_id") or ""), runs
                if not page.get("next_page_token"):
                    break
                body["page_token"] = page["next_page_token"]

    def run_traces(self, experiment_id: str, run_id: str, *, limit: int) -> list[dict]:
        """The trace infos (with their assessments) an evaluation run logged; MlflowError past ``limit``."""
        body = {
            "locations": [
                {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}
            ],
            "filter": f"metadata.`mlflow.sourceRun` = '{run_id}'",
            "max_results": 500,  # MLflow's cap for one page of trace infos
            "order_by": ["timestamp_ms ASC"],
        }
        traces: list[dict] = []
        while True:
            page = self.call("POST", f"{TRACES}/search", body=body)
            traces.extend(page.get("traces", []))
            if len(traces) > limit:
                raise MlflowError(f"evaluation run {run_id} logged more than {limit} traces")
            if not page.get("next_page_token"):
                return traces
            body["page_token"] = page["next_page_token"]

    def download_uri(self, name: str, version: int) -> str:
        return self.get(f"{API}/model-versions/get-download-uri", name=name, version=version)["artifact_uri"]

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        body = {"name": name, "version": str(version), "key": key, "value": value}
        self.call("POST", f"{API}/model-versions/set-tag", body=body)

    def run_link(self, run: dict) -> str:
        info = run.get("info", {})
        return f"{self.base}/#/experiments/{info.get('experiment_id', '0')}/runs/{info.get('run_id', '')}"

    # --- artifacts ------------------------------------------------------------------------------------

    def artifact_path(self, uri: str) -> str:
        """The proxy path of an ``mlflow-artifacts:`` URI (``mlflow-artifacts:/0/models/m-1/artifacts``)."""
        parts = urlsplit(uri)
        if parts.scheme != "mlflow-artifacts":
            raise Unreachable(
                f"MLflow stores it at {uri}, which its tracking server does not serve; run the server with "
                "--serve-artifacts (an artifact proxy) to let Attest read it"
            )
        return parts.path.strip("/")

    def list_files(self, path: str, *, limit: int = 10_000) -> list[dict]:
        """Every file under ``path`` (recursively): [{"path": relative to ``path``, "file_size": n}]."""
        found, folders = [], [""]
        while folders:
            folder = folders.pop()
            listing = self.get(ARTIFACTS, path="/".join(p for p in (path, folder) if p))
            for entry in listing.get("files", []):
                relative = "/".join(p for p in (folder, entry["path"].rsplit("/", 1)[-1]) if p)
                if entry.get("is_dir"):
                    folders.append(relative)
                else:
                    found.append({"path": relative, "file_size": int(entry.get("file_size") or 0)})
                if len(found) > limit:
                    raise TooLarge(f"more than {limit} files under {path}")
        return sorted(found, key=lambda entry: entry["path"])

    def read_file(self, path: str, *, max_bytes: int) -> bytes:
        """A small file (an ``MLmodel``) whole."""
        with self._stream(f"{self.base}{ARTIFACTS}/{quote(path)}") as answer:
            data = answer.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise TooLarge(f"{path} is larger than {max_bytes} bytes")
        return data

    def download(self, url_or_path: str, into: BinaryIO, *, max_bytes: int) -> int:
        """Stream a file (an artifact path, or an http(s) URL) into ``into``; returns its size."""
        url = url_or_path if "://" in url_or_path else f"{self.base}{ARTIFACTS}/{quote(url_or_path)}"
        size = 0
        with self._stream(url) as answer:
            while chunk := answer.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(f"larger than {max_bytes} bytes")
                into.write(chunk)
        return size

    def _stream(self, url: str):
        return _Stream(self, url)


class _Stream:
    """A GET whose body is read by the caller; errors become MlflowError."""

    def __init__(self, client: Mlflow, url: str):
        self.client, self.url = client, url
        self._context = None

    def __enter__(self) -> http.client.HTTPResponse:
        self._context = outbound.request(
            "GET", self.url, headers=self.client._headers(), timeout=self.client.timeout
        )
        try:
            answer = self._context.__enter__()
        except outbound.Refused:
            raise MlflowError(f"{self.url}: {outbound.REFUSED}") from None
        except outbound.InvalidUrl as exc:
            raise MlflowError(f"{self.url} is not {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise MlflowError(f"{self.url} could not be reached: {exc}") from None
        if answer.status != 200:
            raw = answer.read(64 * 1024)
            self._context.__exit__(None, None, None)
            _answer(answer.status, raw, urlsplit(self.url).path)
        return answer

    def __exit__(self, *exc_info) -> None:
        self._context.__exit__(*exc_info)


def _answer(status: int, raw: bytes, path: str) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if status >= 400:
        code = str(body.get("error_code", ""))
        message = str(body.get("message", "")) or raw[:200].decode("utf-8", "replace")
        raise MlflowError(
            f"MLflow answered {status} to {path}: {code} {message}".strip(), status=status, code=code
        )
    return body
