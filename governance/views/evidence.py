"""The page of one evidence document: what it is, its digest, and a sanitised preview of its text.

The document is looked up in the user's scoped evidence list (the same selector as the API's download),
so another team's document is a 404. Text documents up to ``markdown.PREVIEW_MAX_BYTES`` are shown:
Markdown rendered by ``governance.markdown`` (raw HTML off, sanitised by nh3), anything else as typed.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from governance import markdown, selectors
from governance.views.common import page


@login_required
@require_GET
def evidence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(selectors.evidence_list(user=request.user), pk=pk)
    text = markdown.evidence_text(document)
    preview = markdown.to_html(text.source, top_heading=3) if text is not None else ""
    context = {
        "document": document,
        "version": document.model_version,
        "is_markdown": text is not None and text.markdown,
        "preview": mark_safe(preview),  # noqa: S308 (sanitised by nh3 in governance.markdown.to_html)
        "preview_max_bytes": markdown.PREVIEW_MAX_BYTES,
    }
    return page(request, "governance/evidence/detail.html", context)
