"""The validation document exported as a Word file: built from the same content as the validation report's
PDF section (``reports.services.assemble.validation_document.authored_document``), each export audited."""

from __future__ import annotations

from django.db import transaction
from django.http import Http404

from audit import record
from registry.models import ModelVersion
from reports.rendering.docx import build_docx
from reports.services.assemble.validation_document import authored_document
from workflow.models import ValidationDocument

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def validation_document_docx(*, actor, version: ModelVersion) -> tuple[bytes, str]:
    """(DOCX bytes, file name) of the version's validation document; Http404 when none has been written.

    Callers fetch ``version`` through the scoped selectors, so an invisible version is already a 404.
    """
    content = authored_document(version)
    if content is None:
        raise Http404("No validation document has been written for this version.")
    data = build_docx(content)
    document = ValidationDocument.objects.get(model_version=version)
    revision = dict(content.facts)["Document revision"]
    with transaction.atomic():
        record(
            action="validation_document.exported",
            actor=actor,
            obj=document,
            after={"format": "docx", "revision": int(revision), "size": len(data)},
        )
    return data, f"{version.model.name}-v{version.version}-validation-r{revision}.docx"
