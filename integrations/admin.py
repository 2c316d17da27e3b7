"""MLflow registries in the admin console: connected through the service (the webhook secret shown once),
an "Import now" action that queues a sync, and the read-only log of syncs and what they linked; SIEM
destinations of the audit trail (through ``integrations.services.siem``: audited, the token write-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse

from accounts.admin_support import ReadOnlyAdmin, ServiceAdmin
from integrations.models import (
    MlflowEvaluationLink,
    MlflowRegistry,
    MlflowSync,
    MlflowVersionLink,
    SiemDestination,
)
from integrations.services import mlflow_sync, registries, siem

SHOWN_ONCE_TEMPLATE = "admin/attest/secret_once.html"


class RegistryForm(forms.ModelForm):
    tracking_uri = forms.URLField(max_length=500, assume_scheme="https", label="Tracking URI")
    model_names = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One MLflow registered model per line; empty: every model of the registry.",
    )

    class Meta:
        model = MlflowRegistry
        fields = ("name", "tracking_uri", "team", "run_as", "model_names", "poll_minutes", "write_back")
        labels = {"run_as": "Syncs act as"}
        help_texts = {
            "run_as": "Webhook deliveries and polls import as this user (it must change the team's models)."
        }

    def clean_model_names(self):
        return [line.strip() for line in self.cleaned_data["model_names"].splitlines() if line.strip()]


@admin.register(MlflowRegistry)
class MlflowRegistryAdmin(ServiceAdmin):
    section = "integrations"
    section_position = 3
    form = RegistryForm
    list_display = ("name", "tracking_uri", "team", "run_as", "poll_minutes", "write_back", "last_synced_at")
    list_select_related = ("team", "run_as")
    search_fields = ("name", "tracking_uri")
    actions = ("import_now",)

    def get_readonly_fields(self, request, obj=None):
        # connected once; to change one, connect it again under another name (syncs keep their history)
        return self.form.Meta.fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = registries.registry_create(
            actor=request.user,
            name=data["name"],
            tracking_uri=data["tracking_uri"],
            team=data["team"],
            run_as=data["run_as"],
            model_names=data["model_names"],
            poll_minutes=data["poll_minutes"],
            write_back=data["write_back"],
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def response_add(self, request, obj, post_url_continue=None):
        webhook = request.build_absolute_uri(f"/api/v1/mlflow/registries/{obj.name}/webhook/")
        context = {
            **self.admin_site.each_context(request),
            "title": "MLflow registry connected",
            "opts": self.opts,
            "what": f"The MLflow registry {obj.name} ({obj.tracking_uri})",
            "secret": obj.secret,
            "secret_label": "Webhook secret",
            "how": "Create the webhook in MLflow with this secret: MlflowClient().create_webhook(name='attest', "
            f"url='{webhook}', events=['model_version.created', 'model_version_tag.set', "
            "'model_version_tag.deleted', 'model_version_alias.created', 'model_version_alias.deleted'], "
            "secret=…). Then run “Import now”.",
            "record_url": reverse("admin:integrations_mlflowregistry_change", args=[obj.pk]),
            "record_label": obj.name,
            "changelist_url": reverse("admin:integrations_mlflowregistry_changelist"),
        }
        return TemplateResponse(request, SHOWN_ONCE_TEMPLATE, context)

    @admin.action(description="Import now (queue a sync of the selected registries)")
    def import_now(self, request, queryset):
        for registry in queryset:
            try:
                job, created = mlflow_sync.sync_request(actor=request.user, registry=registry)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, f"{registry.name}: {exc}", messages.ERROR)
                continue
            said = "queued" if created else "already queued"
            self.message_user(
                request, f"{registry.name}: sync {job.pk} {said}; its progress is under MLflow syncs."
            )


@admin.register(MlflowSync)
class MlflowSyncAdmin(ReadOnlyAdmin):
    section = "integrations"
    read_only_reason = (
        "Each import or sync of an MLflow registry: its trigger, progress, counts and problems."
    )
    list_display = (
        "id",
        "registry",
        "model_name",
        "trigger",
        "status",
        "progress_current",
        "progress_total",
        "created_at",
    )
    list_filter = ("status", "trigger", "registry")
    list_select_related = ("registry",)
    fields = (
        "registry",
        "model_name",
        "trigger",
        "status",
        "requested_by",
        ("progress_current", "progress_total"),
        "result",
        "error",
        "attempts",
        ("created_at", "started_at", "finished_at"),
    )


@admin.register(MlflowVersionLink)
class MlflowVersionLinkAdmin(ReadOnlyAdmin):
    section = "integrations"
    read_only_reason = "Which Attest version each MLflow model version became, and MLflow's tags on it now."
    list_display = ("mlflow_name", "mlflow_version", "version", "registry", "updated_at")
    list_filter = ("registry",)
    search_fields = ("mlflow_name", "run_id")
    list_select_related = ("registry", "version__model")


@admin.register(MlflowEvaluationLink)
class MlflowEvaluationLinkAdmin(ReadOnlyAdmin):
    section = "integrations"
    read_only_reason = "Which MLflow GenAI evaluation run became which judged evaluation of a version."
    list_display = ("run_id", "version", "evaluation", "registry", "created_at")
    list_filter = ("registry",)
    search_fields = ("run_id",)
    list_select_related = ("registry", "version__model", "evaluation")


# --- SIEM destinations -----------------------------------------------------------------------------------


class SiemDestinationForm(forms.ModelForm):
    token = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        max_length=500,
        help_text="Splunk HEC: the collector's token; OTLP: the Authorization header's value (e.g. "
        "“Bearer …”). Never shown again; on a saved destination, leave empty to keep it.",
    )
    url = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        label="URL",
        help_text=SiemDestination.url.field.help_text,
    )

    class Meta:
        model = SiemDestination
        fields = (
            "name",
            "kind",
            "host",
            "port",
            "url",
            "token",
            "ca_bundle",
            "format",
            "enabled",
            "batch_size",
        )
        widgets = {"kind": forms.RadioSelect, "format": forms.RadioSelect}
        labels = {"ca_bundle": "CA bundle (PEM)", "format": "Syslog message format"}

    def clean(self):
        """The service's checks, so that a refused host or an unreadable CA bundle is shown at its field."""
        data = super().clean()
        if self.errors:
            return data
        stored = self.instance
        fields = {name: data.get(name, getattr(stored, name)) for name in siem.EDITABLE}
        fields["token"] = fields["token"] or (stored.token if stored.pk else "")
        candidate = SiemDestination(kind=data.get("kind") or stored.kind, **fields)
        try:
            siem.check(candidate)
        except ValidationError as exc:
            self.add_error(None, exc)
        return data


@admin.register(SiemDestination)
class SiemDestinationAdmin(ServiceAdmin):
    """Where the audit trail is forwarded; each row shows how far it has got and its last error."""

    section = "integrations"
    section_position = 4
    form = SiemDestinationForm
    list_display = (
        "name",
        "kind",
        "where",
        "enabled",
        "last_seq_sent",
        "last_sent_at",
        "attempts",
        "last_error",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name", "host", "url")
    actions = ("forward_now",)
    position_fields = (
        "last_seq_sent",
        "last_sent_at",
        "attempts",
        "last_error",
        "last_error_at",
        "next_attempt_at",
    )

    @admin.display(description="receiver")
    def where(self, destination: SiemDestination) -> str:
        return destination.url or f"{destination.host}:{destination.port}"

    def get_fields(self, request, obj=None):
        fields = SiemDestinationForm.Meta.fields
        return fields if obj is None else (*fields, *self.position_fields, "created_by", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("name", "kind", *self.position_fields, "created_by", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False  # disable instead: the position and the audit trail of its changes stay

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {name: data[name] for name in siem.EDITABLE if name in data}
        if change:
            changed = {name: fields[name] for name in form.changed_data if name in fields}
            siem.destination_update(
                actor=request.user, destination=SiemDestination.objects.get(pk=obj.pk), **changed
            )
            return
        created = siem.destination_create(actor=request.user, name=data["name"], kind=data["kind"], **fields)
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        pass  # nothing related; the service saved the destination

    @admin.action(description="Forward pending audit events now")
    def forward_now(self, request, queryset):
        for destination in queryset:
            outcome = siem.forward(destination.pk, max_seconds=10.0, ignore_backoff=True)
            level = messages.ERROR if outcome.status == "failed" else messages.INFO
            detail = f": {outcome.error}" if outcome.error else ""
            self.message_user(
                request, f"{destination.name}: {outcome.sent} sent, {outcome.status}{detail}", level
            )
