"""The comparison page: two versions of a model side by side, with a picker.

It renders ``monitoring.comparison.compare``'s structure, the one ``GET /api/v1/models/{name}/compare/``
returns, so the page and the API always agree. The model is fetched through the registry's selector (a model
the user cannot see is a 404); a version the model does not have is a 400 with the picker and the reason.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from monitoring import comparison
from registry import selectors

CHOICES_SHOWN = 200


@login_required
@require_GET
def model_compare(request: HttpRequest, name: str) -> HttpResponse:
    user = request.user
    model = selectors.model_get(user=user, name=name)
    chosen_a, chosen_b = request.GET.get("a"), request.GET.get("b")
    if chosen_a is None:
        defaults = comparison.default_selectors(user=user, model=model, b=chosen_b)
        chosen_a, chosen_b = defaults or (None, chosen_b)
    context = {
        "model": model,
        "choices": _choices(user, model),
        "chosen_a": chosen_a or "",
        "chosen_b": chosen_b or "",
        "comparison": None,
        "error": None,
    }
    status = 200
    if chosen_a is None:
        context["error"] = "This model has no other version to compare with yet."
    else:
        try:
            context["comparison"] = comparison.compare(user=user, model=model, a=chosen_a, b=chosen_b)
        except comparison.ComparisonError as exc:
            context["error"] = exc.message
            context["error_fields"] = exc.fields
            status = 400
    return render(request, "registry/model_compare.html", context, status=status)


def _choices(user, model) -> list[tuple[str, str]]:
    """Picker options: each alias (with the version it points at), then each version, newest first."""
    options = [
        (alias.name, f"{alias.name} (v{alias.version.version})")
        for alias in selectors.alias_list(user=user, model=model)
    ]
    for version in selectors.version_list(user=user, model=model)[:CHOICES_SHOWN]:
        names = ", ".join(alias.name for alias in version.aliases.all())
        options.append((str(version.version), f"v{version.version}" + (f" ({names})" if names else "")))
    return options
