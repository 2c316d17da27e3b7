"""Zip artifacts are inspected before they are read: a hand-made ``schema.json`` or a zip bomb is a 400.

Finding 4 of issue 13: any zip holding a ``schema.json`` answered 500 (KeyError from skops), and a 200 KB
zip bomb added 1.2 GB to the web worker before failing.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.models import AuditEvent
from registry.models import ModelVersion

pytestmark = pytest.mark.django_db

MIB = 1024 * 1024


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def zip_bomb(inflated_mib: int, member: str = "schema.json") -> bytes:
    """One member of ``inflated_mib`` MiB of spaces (valid JSON whitespace), deflated to about 1/1000."""
    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9)
    with archive, archive.open(member, "w", force_zip64=True) as stream:
        for _ in range(inflated_mib):
            stream.write(b" " * MIB)
    return buffer.getvalue()


def upload(api, user, model, content: bytes):
    url = reverse("api:model-version-list", args=[model.name])
    artifact = SimpleUploadedFile("model.skops", content, content_type="application/zip")
    return api.as_user(user).post(url, {"artifact": artifact}, format="multipart")


def assert_refused(response, model, fragment: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert list(body["fields"]) == ["artifact"]
    assert fragment in body["fields"]["artifact"][0]
    assert not ModelVersion.objects.filter(model=model).exists()
    assert not AuditEvent.objects.filter(action="model_version.submitted").exists()


@pytest.mark.parametrize(
    "schema",
    [b"{}", b"[]", b'{"protocol": 1}', b'{"protocol": 1, "__class__": "X"}', b"not json", b"\xff\xfe"],
    ids=["empty-object", "array", "protocol-only", "no-loader", "not-json", "not-utf8"],
)
def test_it_refuses_a_zip_whose_schema_json_skops_cannot_read(api, maya, model, schema):
    response = upload(api, maya, model, zip_of({"schema.json": schema}))
    assert_refused(response, model, "skops cannot read it")


def test_it_refuses_a_zip_bomb_before_inflating_it(api, maya, model):
    bomb = zip_bomb(300)
    assert len(bomb) < 400 * 1024
    tracemalloc.start()
    try:
        response = upload(api, maya, model, bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_refused(response, model, "inflates")
    assert peak < 50 * MIB, f"the request allocated {peak / MIB:.0f} MiB"


def test_it_refuses_more_members_than_the_cap(api, maya, model, settings):
    settings.ATTEST_ARCHIVE_MAX_MEMBERS = 10
    members = {f"part-{index}.bin": b"x" for index in range(11)}
    response = upload(api, maya, model, zip_of(members, zipfile.ZIP_STORED))
    assert_refused(response, model, "holds 11 files; at most 10")


def test_it_refuses_more_inflated_bytes_than_the_cap(api, maya, model, settings):
    settings.ATTEST_ARCHIVE_MAX_BYTES = 64 * 1024
    content = zip_of({"weights.bin": bytes(range(256)) * 300}, zipfile.ZIP_STORED)
    response = upload(api, maya, model, content)
    assert_refused(response, model, "at most 65,536 are accepted")


def test_it_still_stores_a_zip_within_the_caps_that_is_not_skops(api, maya, model):
    response = upload(api, maya, model, zip_of({"README.txt": b"notes " * 1000}))
    assert response.status_code == 201, response.content
    assert response.json()["artifact"]["format"] == "other"
