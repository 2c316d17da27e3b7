"""Admin console pages for grants on registered models and datasets: list, add, revoke.

Grants are made and revoked through ``accounts.services.grants``, so the console obeys the same rules
as the API (administrators only, active users, one grant per subject and object) and each step writes
its ``permission.granted`` / ``permission.revoked`` event. The service's refusals are shown on the form.
A grant is never edited: to change its level, revoke it and grant again.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts import access
from accounts.admin_support import ServiceAdmin
from accounts.models import Grant, GrantLevel, Team, User
from accounts.services import grants as grant_services
from config.api.errors import ServiceError
from registry.models import Dataset, RegisteredModel

LEVEL_HELP = (
    "View: see the model (or dataset) and everything that belongs to it. Change: also work on it as a "
    "member of its team would, within the grantee's role. Signing is never granted."
)


def _autocomplete(field: str) -> AutocompleteSelect:
    return AutocompleteSelect(Grant._meta.get_field(field), admin.site)


class GrantForm(forms.Form):
    """Who (a user or a team), on what (a registered model or a dataset), at which level, and why."""

    user = forms.ModelChoiceField(User.objects.all(), required=False, widget=_autocomplete("user"))
    team = forms.ModelChoiceField(Team.objects.all(), required=False, widget=_autocomplete("team"))
    model = forms.ModelChoiceField(
        RegisteredModel.objects.all(),
        required=False,
        label="Registered model",
        widget=_autocomplete("model"),
    )
    dataset = forms.ModelChoiceField(Dataset.objects.all(), required=False, widget=_autocomplete("dataset"))
    level = forms.ChoiceField(
        choices=GrantLevel.choices, initial=GrantLevel.VIEW, widget=forms.RadioSelect, help_text=LEVEL_HELP
    )
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept with the grant and in the audit log.",
    )

    def clean(self):
        data = super().clean()
        for pair in (("user", "team"), ("model", "dataset")):
            given = [name for name in pair if data.get(name)]
            if len(given) != 1:
                for name in given or pair:
                    self.add_error(name, f"Choose exactly one of {pair[0]} or {pair[1]}.")
        return data


class RevokeForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the audit log with what the grant was.",
    )


class ObjectKindFilter(admin.SimpleListFilter):
    title = "granted on"
    parameter_name = "on"

    def lookups(self, request, model_admin):
        return [("model", "Registered models"), ("dataset", "Datasets")]

    def queryset(self, request, queryset):
        if self.value() in Grant.OBJECT_FIELDS:
            return queryset.filter(**{f"{self.value()}__isnull": False})
        return queryset


@admin.register(Grant)
class GrantAdmin(ServiceAdmin):
    """Grants: the list (filter by model, dataset, team or level), an add page and a revoke page."""

    section = "people"  # the console's "People and access" group (accounts.admin_support.SECTIONS)

    list_display = ("subject_label", "object_label", "level", "reason", "granted_by", "granted_at", "revoke")
    list_filter = (
        ObjectKindFilter,
        "level",
        ("model", admin.RelatedOnlyFieldListFilter),
        ("dataset", admin.RelatedOnlyFieldListFilter),
        ("team", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("user__username", "team__name", "model__name", "dataset__name", "reason")
    list_select_related = ("user", "team", "model", "dataset", "granted_by")
    readonly_fields = ("user", "team", "model", "dataset", "level", "reason", "granted_by", "granted_at")

    def _administers(self, request) -> bool:
        return access.may(request.user, "administer")

    def has_module_permission(self, request):
        return self._administers(request)

    def has_view_permission(self, request, obj=None):
        return self._administers(request)

    def has_add_permission(self, request):
        return self._administers(request)

    def has_change_permission(self, request, obj=None):
        return False  # a grant is revoked and made again, never edited

    def has_delete_permission(self, request, obj=None):
        return False  # revoking asks for a reason: the revoke page, not Django's delete

    @admin.display(description="grantee")
    def subject_label(self, grant: Grant) -> str:
        return grant.subject_label

    @admin.display(description="granted on")
    def object_label(self, grant: Grant) -> str:
        return grant.object_label

    @admin.display(description="")
    def revoke(self, grant: Grant) -> str:
        url = reverse("admin:governance_grant_revoke", args=[grant.pk])
        return format_html('<a href="{}">Revoke…</a>', url)

    def get_urls(self):
        revoke = self.admin_site.admin_view(self.revoke_view)
        return [path("<int:pk>/revoke/", revoke, name="governance_grant_revoke"), *super().get_urls()]

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = GrantForm(request.POST or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            grant = self._grant(request, form)
            if grant is not None:
                return HttpResponseRedirect(self._changelist_url(grant))
        return self._page(request, "governance/admin/grant_add.html", "Add grant", form=form)

    def revoke_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self._administers(request):
            raise PermissionDenied
        grant = get_object_or_404(Grant.objects.select_related(*self.list_select_related), pk=pk)
        form = RevokeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            grant_services.grant_revoke(actor=request.user, grant=grant, reason=form.cleaned_data["reason"])
            messages.success(request, f"Revoked {grant}.")
            return HttpResponseRedirect(self._changelist_url(grant))
        return self._page(
            request, "governance/admin/grant_revoke.html", "Revoke grant", form=form, grant=grant
        )

    def _grant(self, request: HttpRequest, form: GrantForm) -> Grant | None:
        data = form.cleaned_data
        try:
            grant, created = grant_services.grant_create(
                actor=request.user,
                subject=data["user"] or data["team"],
                obj=data["model"] or data["dataset"],
                level=data["level"],
                reason=data["reason"],
            )
        except ValidationError as refusal:
            for field, errors in refusal.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return None
        except ServiceError as refusal:
            form.add_error(None, refusal.message)
            return None
        messages.success(request, f"Granted {grant}." if created else f"Already granted: {grant}.")
        return grant

    def _changelist_url(self, grant: Grant) -> str:
        field = "model" if grant.model_id is not None else "dataset"
        filter_key = f"{field}__id__exact"
        return f"{reverse('admin:governance_grant_changelist')}?{filter_key}={getattr(grant, f'{field}_id')}"

    def _page(self, request: HttpRequest, template: str, title: str, **extra) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "media": self.media + extra.get("form", forms.Form()).media,
            "changelist_url": reverse("admin:governance_grant_changelist"),
            **extra,
        }
        return TemplateResponse(request, template, context)
