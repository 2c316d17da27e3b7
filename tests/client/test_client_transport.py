"""The client's retries and error bodies, over httpx's mock transport (no server needed)."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from attest_client import ApiError, Client, WaitTimeout
from attest_client.errors import AttestError
from attest_client.resources import CheckRun


def client_answering(*answers: httpx.Response, seen: list[httpx.Request] | None = None) -> Client:
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return queue.pop(0)

    return Client("http://attest.test", "secret", transport=httpx.MockTransport(handle), retries=2)


def test_429_and_503_are_retried_after_their_retry_after():
    seen: list[httpx.Request] = []
    client = client_answering(
        httpx.Response(
            429, headers={"Retry-After": "0"}, json={"error": {"code": "throttled", "message": "slow"}}
        ),
        httpx.Response(503, headers={"Retry-After": "0"}),
        httpx.Response(200, json={"name": "pd", "allowed": True}),
        seen=seen,
    )
    assert client.get("/api/v1/gate/", model="pd") == {"name": "pd", "allowed": True}
    assert len(seen) == 3
    assert seen[0].headers["Authorization"] == "Bearer secret"


def test_retries_run_out_into_the_apis_error():
    throttled = {"error": {"code": "throttled", "message": "Request was throttled.", "fields": {}}}
    client = client_answering(*[httpx.Response(429, headers={"Retry-After": "0"}, json=throttled)] * 3)
    with pytest.raises(ApiError) as raised:
        client.get("/api/v1/models/")
    assert (raised.value.status, raised.value.code) == (429, "throttled")


def test_an_answer_without_the_api_body_still_raises_with_its_status():
    client = client_answering(httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(ApiError) as raised:
        client.get("/api/v1/models/")
    assert (raised.value.status, raised.value.code, raised.value.fields) == (502, "http_502", {})


def test_a_list_is_followed_page_by_page():
    client = client_answering(
        httpx.Response(
            200, json={"count": 3, "next": "http://attest.test/api/v1/models/?page=2", "results": [1, 2]}
        ),
        httpx.Response(200, json={"count": 3, "next": None, "results": [3]}),
    )
    assert list(client.paginate("/api/v1/models/")) == [1, 2, 3]


def test_wait_polls_until_the_job_has_finished_and_reports_each_state():
    queued = {"id": 7, "status": "queued", "kind": "drift", "model": "pd", "version": 1}
    client = client_answering(
        httpx.Response(200, json={**queued, "status": "running"}),
        httpx.Response(200, json={**queued, "status": "succeeded", "outcome": "warn"}),
    )
    states: list[str] = []
    finished = client.wait(
        CheckRun.from_api(queued), interval=0, progress=lambda job: states.append(job.status)
    )
    assert (finished.status, finished.outcome) == ("succeeded", "warn")
    assert states == ["queued", "running", "succeeded"]


def test_wait_gives_up_at_its_timeout():
    queued = {"id": 7, "status": "queued", "kind": "drift", "model": "pd", "version": 1}
    with pytest.raises(WaitTimeout):
        client_answering().wait(CheckRun.from_api(queued), timeout=0)


def test_a_download_is_kept_only_when_its_bytes_match_the_stated_sha256(tmp_path):
    body = b"PK\x03\x04 a bundle"
    stated = {"X-Checksum-SHA256": hashlib.sha256(body).hexdigest()}
    client = client_answering(
        httpx.Response(200, headers=stated, content=body),
        httpx.Response(200, headers=stated, content=body + b" altered on the way"),
    )
    seen: list[tuple[int, int]] = []
    saved = client.bundle_download(
        3, tmp_path / "bundle.zip", progress=lambda got, total: seen.append((got, total))
    )
    assert saved.read_bytes() == body
    assert seen[-1] == (len(body), len(body))

    with pytest.raises(AttestError, match="the server stated"):
        client.bundle_download(3, tmp_path / "altered.zip")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["bundle.zip"]  # no partial file either
