"""The policy pages of the admin console: a structured editor, a preview of the change in words, and
a JSON view for experts. Every save is ``policy_create_version``: a new version, made active.

An active version from before the LLM application track (no entry names ``llm_application``) is flagged
on the list with *Adopt the shipped LLM application track*: the same preview and save, of the active rules
with their scoring checks scoped to ``ml_model`` and the shipped ``llm_application`` entries added.

Flow: edit (rows for stages, checks and environments) → *Preview the change* (the edit compared with
the tier's active version, in words) → *Save as version N* (or back to the editor, the edit kept). The
preview carries the rules as JSON and the active version it was compared with; if another
administrator saved a version meanwhile, the preview is shown again against the new active version.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from accounts.admin_support import ServiceAdmin
from config import strict_json
from registry.models import RiskTier
from workflow.admin_policy_changes import describe_changes
from workflow.admin_policy_forms import PolicyEditor, rules_of
from workflow.catalogue import shipped_policy
from workflow.models import EvidenceType, Policy
from workflow.models.approvals import Meaning
from workflow.policy_scope import has_llm_track, with_llm_track
from workflow.services.policies import RULE_FIELDS, policy_create_version, validate_rules

EDITOR_TEMPLATE = "governance/admin/policy_editor.html"
PREVIEW_TEMPLATE = "governance/admin/policy_preview.html"
JSON_TEMPLATE = "governance/admin/policy_json.html"
TIER_TEMPLATE = "governance/admin/policy_tier.html"


class ActiveFilter(admin.SimpleListFilter):
    title = "version"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "Active"), ("no", "Earlier versions")]

    def queryset(self, request, queryset):
        return queryset.filter(is_active=self.value() == "yes") if self.value() else queryset


class PolicyAdmin(ServiceAdmin):
    """Versions are never edited in place: saving creates the tier's next version through
    ``policy_create_version`` and activates it; the version you started from stays as it was."""

    section = "rules"
    section_position = 1
    list_display = ("__str__", "name", "active", "author", "created_at")
    list_display_links = ("__str__",)
    list_filter = ("tier", ActiveFilter)
    search_fields = ("name",)
    list_select_related = ("created_by",)
    ordering = ("tier", "-version")

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active(self, policy: Policy) -> bool:
        return policy.is_active

    @admin.display(description="created by", ordering="created_by__username")
    def author(self, policy: Policy) -> str:
        return policy.created_by.printed_name if policy.created_by else "Attest (shipped default)"

    def changelist_view(self, request, extra_context=None):
        title = "Policies: one active version per risk tier; open one to make the next"
        if request.method == "GET" and self.has_add_permission(request):
            self._flag_missing_llm_track(request)
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def _flag_missing_llm_track(self, request: HttpRequest) -> None:
        for policy in Policy.objects.filter(is_active=True).order_by("tier"):
            if has_llm_track(policy.required_checks) or shipped_policy(policy.tier) is None:
                continue
            link = reverse("admin:workflow_policy_adopt_llm_track", args=[policy.tier])
            messages.warning(
                request,
                format_html(
                    "{} predates the LLM application track: it holds LLM applications to the scoring checks, "
                    'which a bundle cannot run. <a href="{}">Preview adopting the shipped track</a>.',
                    capfirst(str(policy)),
                    link,
                ),
            )

    def has_delete_permission(self, request, obj=None):
        return False  # approvals and signatures point at the exact version they were made under

    def get_urls(self):
        json_view = self.admin_site.admin_view(self.json_view)
        adopt = self.admin_site.admin_view(self.adopt_llm_track_view)
        return [
            path("<path:object_id>/json/", json_view, name="workflow_policy_json"),
            path("tier/<int:tier>/adopt-llm-track/", adopt, name="workflow_policy_adopt_llm_track"),
            *super().get_urls(),
        ]

    # --- pages ------------------------------------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url="", extra_context=None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        tier = _tier(request.GET.get("tier") or request.POST.get("tier"))
        if tier is None:
            return self._render(
                request, TIER_TEMPLATE, {"title": "New policy version", "tiers": RiskTier.choices}
            )
        active = Policy.objects.filter(tier=tier, is_active=True).first()
        return self._editor(request, tier=tier, start=active)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None) -> HttpResponse:
        policy = self.get_object(request, unquote(object_id))
        if policy is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, policy):
            raise PermissionDenied
        return self._editor(request, tier=policy.tier, start=policy)

    def json_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """The rules as JSON; an expert may paste changed JSON, which goes to the same preview."""
        policy = self.get_object(request, unquote(object_id))
        if policy is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, policy):
            raise PermissionDenied
        text = request.POST.get("rules_json") if request.method == "POST" else None
        errors: list[str] = []
        if text is not None:
            rules, errors = _parse_rules(text)
            if not errors:
                return self._preview(request, tier=policy.tier, start=policy, rules=rules)
        context = {
            "title": f"{policy}: rules as JSON",
            "policy": policy,
            "rules_json": text or json.dumps(rules_of(policy), indent=2, ensure_ascii=False),
            "errors": errors,
        }
        return self._render(request, JSON_TEMPLATE, context)

    def adopt_llm_track_view(self, request: HttpRequest, tier: int) -> HttpResponse:
        """The active rules with the shipped LLM application track, as a preview to confirm (or go back to
        the editor with); saving is the ordinary save of a new version."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        active = Policy.objects.filter(tier=tier, is_active=True).first()
        shipped = shipped_policy(tier)
        if active is None or shipped is None:
            return HttpResponseRedirect(reverse("admin:workflow_policy_changelist"))
        rules = rules_of(active) | {
            "required_checks": with_llm_track(active.required_checks, shipped["required_checks"])
        }
        preview = self._preview(request, tier=tier, start=active, rules=rules)
        if preview is None:
            messages.info(request, f"{active} already has the shipped LLM application track.")
            return HttpResponseRedirect(reverse("admin:workflow_policy_changelist"))
        return preview

    # --- editor, preview, save -----------------------------------------------------------------------

    def _editor(self, request: HttpRequest, *, tier: int, start: Policy | None) -> HttpResponse:
        post = request.POST if request.method == "POST" else None
        if post is not None and "_confirm" in post:
            return self._save(request, tier=tier, start=start)
        if post is not None and "_back" in post:
            rules, _ = _parse_rules(post.get("rules_json", ""))
            editor = PolicyEditor(tier=tier, rules=rules)
        elif post is not None:
            editor = PolicyEditor(post, tier=tier, rules=rules_of(start) if start else None)
            if editor.is_valid():
                rules = editor.rules()
                try:
                    validate_rules(rules)
                except ValidationError as refusal:
                    editor.show_service_errors(refusal)
                else:
                    preview = self._preview(request, tier=tier, start=start, rules=rules)
                    if preview is not None:
                        return preview
                    editor.general_errors.append(
                        "Nothing changed: this is what the active version already says, so there is nothing to save."
                    )
        else:
            editor = PolicyEditor(tier=tier, rules=rules_of(start) if start else None)
        return self._render_editor(request, editor, tier=tier, start=start)

    def _render_editor(
        self, request, editor: PolicyEditor, *, tier: int, start: Policy | None
    ) -> HttpResponse:
        active = Policy.objects.filter(tier=tier, is_active=True).first()
        context = {
            "title": f"Tier {tier} policy, version {start.version}" if start else f"New tier {tier} policy",
            "editor": editor,
            "tier": tier,
            "tier_label": dict(RiskTier.choices).get(tier, tier),
            "start": start,
            "active": active,
            "meanings": Meaning.choices,
        }
        return self._render(request, EDITOR_TEMPLATE, context)

    def _preview(
        self, request, *, tier: int, start: Policy | None, rules: dict[str, Any]
    ) -> HttpResponse | None:
        """The change in words against the active version; None when nothing would change."""
        active = Policy.objects.filter(tier=tier, is_active=True).first()
        titles = dict(EvidenceType.objects.values_list("key", "title"))
        topics = describe_changes(rules_of(active) if active else None, rules, evidence_titles=titles)
        if not topics:
            return None
        context = {
            "title": f"Preview: tier {tier} policy, version {_next_version(tier)}",
            "tier": tier,
            "start": start,
            "active": active,
            "topics": topics,
            "next_version": _next_version(tier),
            "rules_json": json.dumps(rules, ensure_ascii=False),
            "action_url": _editor_url(tier, start),
        }
        return self._render(request, PREVIEW_TEMPLATE, context)

    def _save(self, request: HttpRequest, *, tier: int, start: Policy | None) -> HttpResponse:
        rules, errors = _parse_rules(request.POST.get("rules_json", ""))
        active = Policy.objects.filter(tier=tier, is_active=True).first()
        compared = request.POST.get("active_version", "")
        if errors:
            editor = PolicyEditor(tier=tier, rules=None)
            editor.general_errors += errors
            return self._render_editor(request, editor, tier=tier, start=start)
        if compared != str(active.version if active else ""):
            messages.warning(
                request,
                f"The active tier {tier} policy changed to version {active.version if active else '—'} while you "
                "were previewing; this is your edit compared with it. Save again if it is still what you want.",
            )
            return self._preview(request, tier=tier, start=start, rules=rules) or self._editor_again(
                request, tier, start, rules
            )
        try:
            created = policy_create_version(actor=request.user, tier=tier, rules=rules)
        except ValidationError as refusal:
            editor = PolicyEditor(tier=tier, rules=rules)
            editor.general_errors += [f"{key}: {m}" for key, ms in refusal.message_dict.items() for m in ms]
            return self._render_editor(request, editor, tier=tier, start=start)
        self.log_addition(request, created, [{"added": {}}])
        link = reverse("admin:workflow_policy_change", args=[created.pk])
        messages.success(
            request,
            format_html(
                'Saved as <a href="{}">{}</a>, now the active policy for tier {}. Version {} stays unchanged for '
                "the approvals made under it.",
                link,
                created,
                tier,
                active.version if active else "—",
            ),
        )
        return HttpResponseRedirect(link)

    def _editor_again(self, request, tier: int, start: Policy | None, rules: dict[str, Any]) -> HttpResponse:
        editor = PolicyEditor(tier=tier, rules=rules)
        editor.general_errors.append("Your edit now matches the active version: there is nothing to save.")
        return self._render_editor(request, editor, tier=tier, start=start)

    def _render(self, request: HttpRequest, template: str, context: dict[str, Any]) -> TemplateResponse:
        base = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "has_view_permission": True,
            "changelist_url": reverse("admin:workflow_policy_changelist"),
        }
        return TemplateResponse(request, template, {**base, **context})


def _tier(raw: str | None) -> int | None:
    return int(raw) if raw in {str(value) for value in RiskTier.values} else None


def _next_version(tier: int) -> int:
    latest = Policy.objects.filter(tier=tier).order_by("-version").values_list("version", flat=True).first()
    return (latest or 0) + 1


def _editor_url(tier: int, start: Policy | None) -> str:
    if start is not None:
        return reverse("admin:workflow_policy_change", args=[start.pk])
    return reverse("admin:workflow_policy_add") + f"?tier={tier}"


def _parse_rules(text: str) -> tuple[dict[str, Any], list[str]]:
    try:
        rules = strict_json.loads(text)
    except strict_json.UnsafeJSON as exc:
        return {}, [str(exc)]
    except ValueError as exc:
        return {}, [f"This is not valid JSON: {exc}."]
    if not isinstance(rules, dict):
        return {}, ['The rules are one JSON object, {"name": …, "stages": […], …}.']
    if unknown := sorted(set(rules) - set(RULE_FIELDS)):
        known = ", ".join(RULE_FIELDS)
        return rules, [
            f"{name}: not a policy rule (the tier is chosen by the page; the rules are {known})."
            for name in unknown
        ]
    try:
        validate_rules(rules)
    except ValidationError as refusal:
        return rules, [f"{key}: {message}" for key, ms in refusal.message_dict.items() for message in ms]
    return rules, []
