"""Dataset pages: the list, a dataset with its versions, registering a dataset, uploading a version.

Read through ``registry.selectors`` (another team's dataset is a 404), written through
``registry.services.datasets`` as the API writes (the file hashed while it streams in, checked at upload,
profiled in the background; the page polls the profile's status until it is done).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseStopPolling

from accounts import access
from config.ui import paginate
from registry import selectors, ui_forms, ui_uploads
from registry.models import Dataset, DatasetVersion
from registry.models.datasets import ProfileStatus
from registry.services import datasets as dataset_services
from registry.views import changeable_teams

DATASET_SORTS = {"name": "name", "created": "created_at"}
VERSIONS_SHOWN = 50
FINISHED = (ProfileStatus.SUCCEEDED, ProfileStatus.FAILED)


@login_required
@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = selectors.dataset_list(user=request.user)
    query = request.GET.get("q", "").strip()
    if query:
        datasets = datasets.filter(Q(name__icontains=query) | Q(title__icontains=query))
    context = {
        "listing": paginate(request, datasets, sorts=DATASET_SORTS, default_sort="name"),
        "query": query,
        "can_create": changeable_teams(request.user).exists(),
    }
    return render(request, "registry/dataset_list.html", context)


@login_required
@require_GET
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = get_object_or_404(selectors.dataset_list(user=request.user), name=name)
    versions = selectors.dataset_version_list(user=request.user, dataset=dataset).defer("profile")
    context = {
        "dataset": dataset,
        "versions": versions[:VERSIONS_SHOWN],
        "can_upload": access.can(request.user, "change", dataset),
        "finished": FINISHED,
    }
    return render(request, "registry/dataset_detail.html", context)


@login_required
@require_GET
def dataset_version_profile(request: HttpRequest, name: str, number: int) -> HttpResponse:
    """The polled profile status of one version; 286 (stop polling) once it succeeded or failed."""
    dataset = selectors.dataset_get(user=request.user, name=name)
    version = get_object_or_404(
        selectors.dataset_version_list(user=request.user, dataset=dataset).defer("profile"), version=number
    )
    html = render(request, "registry/_profile_status.html", {"version": version, "finished": FINISHED})
    if version.profile_status in FINISHED:
        return HttpResponseStopPolling(html.content)
    return html


@login_required
@require_http_methods(["GET", "POST"])
def dataset_new(request: HttpRequest) -> HttpResponse:
    teams = changeable_teams(request.user)
    if not teams.exists():
        raise PermissionDenied("Only ML engineers and administrators of a team register its datasets.")
    form = ui_forms.DatasetCreateForm(request.POST or None, teams=teams)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                dataset = dataset_services.dataset_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                ui_forms.add_service_errors(form, error)
            else:
                messages.success(request, f"Registered the dataset {dataset.name}. Upload its first version.")
                return redirect("dataset-version-new", name=dataset.name)
    return render(request, "registry/dataset_new.html", {"form": form}, status=status)


@csrf_exempt  # checked in ui_uploads.receive, once the hashing upload handlers are installed
@login_required
@require_http_methods(["GET", "POST"])
def dataset_version_new(request: HttpRequest, name: str) -> HttpResponse:
    dataset = selectors.dataset_get(user=request.user, name=name)
    access.require(request.user, "change", dataset)  # before the body is read
    return ui_uploads.receive(
        request,
        lambda checked, refused: _version_upload(checked, dataset, refused),
        max_bytes=settings.ATTEST_MAX_DATASET_BYTES,
    )


def _version_upload(request: HttpRequest, dataset: Dataset, refused: str) -> HttpResponse:
    posted = request.method == "POST" and not refused
    form = ui_forms.DatasetVersionForm(request.POST if posted else None, request.FILES if posted else None)
    status = 413 if refused else 200
    if posted:
        status = 400
        upload = ui_uploads.received(request, "file")
        if form.is_valid() and ui_uploads.require(form, upload, "file"):
            try:
                version, created = dataset_services.dataset_version_upload(
                    actor=request.user, dataset=dataset, upload=upload, **form.service_arguments()
                )
            except ValidationError as error:
                ui_forms.add_service_errors(form, error)
            else:
                _say_outcome(request, version, created)
                page = reverse("dataset-detail", args=[dataset.name])
                return ui_uploads.done(request, f"{page}#v{version.version}")
    context = {
        "form": form,
        "refused": refused,
        "dataset": dataset,
        "max_bytes": settings.ATTEST_MAX_DATASET_BYTES,
    }
    return render(request, "registry/dataset_version_new.html", context, status=status)


def _say_outcome(request: HttpRequest, version: DatasetVersion, created: bool) -> None:
    name = f"{version.dataset.name} v{version.version}"
    if created:
        messages.success(
            request,
            f"Uploaded {name}: {version.file_name}, {filesizeformat(version.file_size)}, "
            f"{len(version.schema)} columns. Its profile is being computed.",
        )
        return
    messages.info(
        request,
        f"This file is already {name} (the same SHA-256 {version.file_sha256[:12]}…): no new version was "
        "made and the declarations entered with it were not applied.",
    )
