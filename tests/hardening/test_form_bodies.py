"""Form bodies (URL-encoded and multipart) with text PostgreSQL cannot store are 400s naming the field.

DRF's CharField already refuses NUL; JSON carried as text in a multipart field (tags, parameters) and
plain JSON fields fed from a form did not. Sent as raw bytes, as a client would.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

pytestmark = pytest.mark.django_db

MODELS = reverse("api:model-list")


def test_it_refuses_a_nul_in_a_url_encoded_form_field(api, maya):
    form = "name=pd-retail&title=PD&team=credit-risk&description=a%00b"
    response = api.as_user(maya).post(MODELS, data=form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["description"]


def test_it_refuses_a_nul_escaped_in_json_sent_as_a_multipart_text_field(api, maya, model):
    """Multipart forms carry tags as JSON text: the form field itself holds no NUL, the JSON in it does."""
    upload = SimpleUploadedFile("model.bin", b"opaque-bytes")
    form = {"artifact": upload, "tags": '{"stage": "a\\u0000b"}'}
    url = reverse("api:model-version-list", args=[model.name])
    response = api.as_user(maya).post(url, form, format="multipart")
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["tags.stage"]
    assert not model.versions.exists()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_a_number_beyond_64_bits_is_a_4xx_in_any_body_type(api, aaron, content_type):
    from audit.models import AuditVerification

    body = "from_seq=" + "9" * 30 if content_type.endswith("urlencoded") else '{"from_seq": ' + "9" * 30 + "}"
    url = reverse("api:audit-verification-list")
    response = api.as_user(aaron).post(url, data=body, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["error"]["code"]
    assert not AuditVerification.objects.exists()
