"""What every page of the admin console shares: audited changes, read-only pages that say so, the
names people read, and the sections the index groups pages into.

The console is for administrators who are not Django developers, so each page states what it is for:
a read-only page says why it cannot be edited, every model has a proper singular and plural, and the
index groups pages by task ("People and access", "Policies and controls", …) instead of by Django app.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from guardian.admin import GuardedModelAdmin

from accounts import context
from accounts.roles import ROLES
from audit import record

# How roles read in the console (the role's group name stays the identifier everywhere else).
ROLE_LABELS: dict[str, str] = {role: spec.label for role, spec in ROLES.items()}


def role_label(name: str) -> str:
    return ROLE_LABELS.get(name, name)


def display_names(model: type[models.Model], singular: str, plural: str) -> None:
    """The names the console prints for ``model`` ("policy" / "policies", not "policys").

    Set here rather than in ``Meta``: Django records ``verbose_name`` in migrations, and these names are
    read only by the console's pages and messages. Migrations read ``Meta`` (``_meta.original_attrs``),
    so this adds no migration.
    """
    model._meta.verbose_name = singular
    model._meta.verbose_name_plural = plural


# --- sections of the index -----------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    description: str


SECTIONS = (
    Section(
        "people", "People and access", "Who may sign in, their roles and teams, tokens and authenticators."
    ),
    Section(
        "rules",
        "Policies and controls",
        "The rules each risk tier must meet, and the control catalogue evidence maps to.",
    ),
    Section(
        "integrations",
        "Notifications and GRC delivery",
        "Signed webhooks and GRC connectors, with their delivery logs.",
    ),
    Section("inventory", "Inventory (read-only)", "Models, versions, datasets and lineage, as registered."),
    Section(
        "workflow",
        "Approvals, findings and reviews (read-only)",
        "The governance workflow's records; they change only in the application.",
    ),
    Section("checks", "Checks and reports (read-only)", "Check runs, monitoring, reports and bundles."),
    Section(
        "audit", "Audit trail (read-only)", "The append-only audit log, its checkpoints and verifications."
    ),
)
SECTION_KEYS = frozenset(section.key for section in SECTIONS)


def group_app_list(app_list: list[dict[str, Any]], registry: dict) -> list[dict[str, Any]]:
    """Django's per-app index regrouped into ``SECTIONS`` by each ModelAdmin's ``section``.

    Pages that name no section stay under their app's heading, after the sections, so a newly
    registered model never disappears from the console. Within a section, pages with a
    ``section_position`` come first in that order, then the others alphabetically.
    """
    grouped: dict[str, list[dict]] = {section.key: [] for section in SECTIONS}
    leftovers = []
    for app in app_list:
        rest = []
        for entry in app["models"]:
            key = getattr(registry.get(entry["model"]), "section", None)
            (grouped[key] if key in SECTION_KEYS else rest).append(entry)
        if rest:
            leftovers.append({**app, "models": rest})
    sections = [
        {
            "name": section.title,
            "description": section.description,
            "app_label": section.key,
            "app_url": "",
            "models": sorted(grouped[section.key], key=lambda entry: _position(registry, entry)),
        }
        for section in SECTIONS
        if grouped[section.key]
    ]
    return sections + leftovers


def _position(registry: dict, entry: dict) -> tuple[int, str]:
    """Pages people edit first (``section_position``), then the rest by name."""
    return getattr(registry.get(entry["model"]), "section_position", 100), str(entry["name"])


# --- audited and read-only pages -----------------------------------------------------------------


def _is_secret(form, name: str) -> bool:
    """Passwords and secrets never go into an audit event, not even their change."""
    widget = form.fields[name].widget
    return isinstance(widget, forms.PasswordInput) or "password" in name or "secret" in name


def _plain(value: Any) -> Any:
    """A form value as audit JSON can hold it: records by primary key, lists item by item."""
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, list | tuple | set | frozenset | models.QuerySet):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool | dict | dt.date | Decimal):
        return value
    return str(value)


class ConsoleAdmin(admin.ModelAdmin):
    """What every editable page shares: a URL typed without a scheme is read as https."""

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class ServiceAdmin(ConsoleAdmin):
    """A record that has services: every write goes through them, so the console obeys the same rules and
    is audited with the same actions as the API and the pages (``webhook.changed``, ``team.changed``,
    ``user.roles_changed``), never as a generic ``admin.changed``.

    The defaults refuse, so a write path a subclass did not route through its service fails loudly
    instead of saving unaudited; a subclass overrides ``save_model`` and, where deleting is allowed,
    ``delete_model`` (bulk deletion calls it once per record).
    """

    def save_model(self, request, obj, form, change):
        raise NotImplementedError(f"{type(self).__name__} must save through its service")

    def delete_model(self, request, obj):
        raise NotImplementedError(f"{type(self).__name__} must delete through its service")

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class AuditedAdmin(ConsoleAdmin):
    """A record with no service (reference data such as frameworks, evidence types and controls): every
    add, change and delete made through the admin is an ``admin.changed`` event, inside the admin's own
    transaction, with the changed fields' values before and after."""

    def save_model(self, request, obj, form, change):
        if change:
            shown = [name for name in form.changed_data if not _is_secret(form, name)]
            request._attest_admin_change = {
                "before": {name: _plain(form[name].initial) for name in shown},
                "after": {name: _plain(form.cleaned_data.get(name)) for name in shown},
            }
        super().save_model(request, obj, form, change)

    def _audit(self, request, obj, verb: str, message="") -> None:
        change = getattr(request, "_attest_admin_change", None) or {}
        with transaction.atomic(), context.acting(request.user):
            record(
                action="admin.changed",
                actor=request.user,
                obj=obj,
                before=change.get("before"),
                after={"verb": verb, "change": str(message), **change.get("after", {})},
            )

    def log_addition(self, request, obj, message):
        self._audit(request, obj, "added", message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, "changed", message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, obj, "deleted")
        return super().log_deletions(request, queryset)


@method_decorator(transaction.atomic, name="obj_perms_manage_user_view")
@method_decorator(transaction.atomic, name="obj_perms_manage_group_view")
class GuardedServiceAdmin(GuardedModelAdmin, ServiceAdmin):
    """Guardian's per-object permission pages, made atomic so each grant commits with its
    ``permission.granted`` / ``permission.revoked`` event (written by ``accounts.signals``)."""


class ReadOnlyAdmin(admin.ModelAdmin):
    """No add, change or delete for anyone, superusers included; every page says why.

    ``read_only_reason`` is the sentence shown above the list and the record.
    """

    read_only_reason = "These records are written by the application and cannot be changed here."

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"read_only_reason": self.read_only_reason, **(extra_context or {})}
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra = {"read_only_reason": self.read_only_reason, **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, extra)


class SendsTestEvents:
    """Admin of a record that can be sent a test event (webhook endpoints, GRC connectors): a "Send a test
    event" button on the record's page, a page saying what will be sent, and the answer of the one send.

    Subclasses say what is sent (``test_event_description``: target, what, label) and send it
    (``send_test_event``: the answer shown — delivered, status_code, error, message_id, event_type and,
    where there is one, log_url); the send goes through the app's service, which audits it.
    """

    test_event_template = "admin/attest/test_event.html"

    def _test_url_name(self) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_test"

    def get_urls(self):
        view = self.admin_site.admin_view(self.test_view)
        return [path("<path:object_id>/test/", view, name=self._test_url_name()), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        url = reverse(f"admin:{self._test_url_name()}", args=[object_id])
        tools = [{"url": url, "label": "Send a test event", "post": True}]
        return super().change_view(
            request, object_id, form_url, {"record_tools": tools, **(extra_context or {})}
        )

    def test_view(self, request, object_id):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        result = self.send_test_event(request, obj) if request.method == "POST" else None
        target, what, label = self.test_event_description(obj)
        prefix = f"admin:{self.opts.app_label}_{self.opts.model_name}"
        context = {
            **self.admin_site.each_context(request),
            "title": f"Send a test event to {label}",
            "opts": self.opts,
            "target": target,
            "what": what,
            "result": result,
            "record_url": reverse(f"{prefix}_change", args=[obj.pk]),
            "record_label": label,
            "changelist_url": reverse(f"{prefix}_changelist"),
        }
        return TemplateResponse(request, self.test_event_template, context)

    def test_event_description(self, obj) -> tuple[str, str, str]:
        raise NotImplementedError

    def send_test_event(self, request, obj) -> dict:
        raise NotImplementedError
