"""File uploads from the browser, received the way the API receives them.

The API hashes every file while it streams in and stops at the size cap (``registry.uploads``); a page does
the same. The handlers must be installed before anything reads the body, and Django's CSRF middleware reads
it (``request.POST``) before a view runs, so an upload page is ``csrf_exempt`` and ``receive`` makes the CSRF
check itself once the handlers are in place (Django's documented pattern for per-view upload handlers).

Pages with a progress bar post through ``static/js/upload-progress.js``, which sends the header
``X-Attest-Upload``: such a request gets ``{"location": ...}`` instead of a redirect, so the messages of the
next page are not used up by the script, and gets the re-rendered page (400 …) to swap in otherwise.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import csrf_protect

from config.api.errors import PayloadTooLarge
from registry import storage, uploads

PROGRESS_HEADER = "X-Attest-Upload"


def receive(
    request: HttpRequest, handle: Callable[[HttpRequest, str], HttpResponse], *, max_bytes: int
) -> HttpResponse:
    """Call ``handle(request, refused)`` with the upload handlers installed and the CSRF token checked.

    ``refused`` is empty, or says why the body was refused (too large): ``handle`` must then render its
    form without reading the request's data, and nothing is written.
    """
    if request.method == "POST":
        uploads.install(request, max_bytes=max_bytes)
    try:
        return csrf_protect(lambda checked: handle(checked, ""))(request)
    except PayloadTooLarge:
        # The body was not read whole: no field of it may reach a form.
        request._post, request._files = QueryDict(), MultiValueDict()
        return handle(request, f"The upload is larger than this page accepts ({filesizeformat(max_bytes)}).")


def received(request: HttpRequest, field_name: str) -> storage.Upload | None:
    """The file sent in ``field_name`` with the SHA-256 and size computed while it streamed in."""
    sent = request.FILES.get(field_name)
    digest = uploads.digest_of(request, field_name)
    if sent is None or digest is None:
        return None
    sha256, size = digest
    return storage.Upload(
        file=sent, sha256=sha256, size=size, filename=storage.display_name(sent.name, field_name)
    )


def require(form: forms.Form, upload: storage.Upload | None, field_name: str) -> bool:
    """Is the file there, with its digest? (A form's file field cannot tell when a file arrived without
    passing the hashing handler, e.g. a body that was not multipart.)"""
    if upload is None:
        form.add_error(field_name, "Choose the file to upload (the form must be sent as multipart).")
    return upload is not None


def done(request: HttpRequest, location: str) -> HttpResponse:
    """Where to go after a successful upload: a redirect, or its address for the progress script."""
    if request.headers.get(PROGRESS_HEADER):
        return JsonResponse({"location": location})
    return redirect(location)
