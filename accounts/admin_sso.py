"""Single sign-on in the admin console: identity providers with their group mappings, and (read-only)
who is linked to which provider and the re-authentications that signed.

Changes go through ``accounts.services.federation_admin``, which checks the provider's URLs against the
outbound address policy and audits each change (``sso.provider_*``, ``sso.mapping_changed``). The client
secret is write-only: never rendered back, kept when the field is left blank.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.admin_support import ReadOnlyAdmin, ServiceAdmin, display_names
from accounts.models import FederatedIdentity, GroupMapping, IdentityProvider, StepUp
from accounts.services import federation_admin
from config.api.errors import ServiceError

display_names(IdentityProvider, "identity provider", "identity providers")
display_names(GroupMapping, "group mapping", "group mappings")
display_names(FederatedIdentity, "linked identity", "linked identities")
display_names(StepUp, "signing re-authentication", "signing re-authentications")


class IdentityProviderForm(forms.ModelForm):
    client_secret = forms.CharField(
        max_length=500,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: never shown again. Leave blank to keep the stored secret.",
    )
    issuer = forms.URLField(
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="OpenID Connect: the issuer URL; discovery is read from "
        "<issuer>/.well-known/openid-configuration.",
    )
    metadata_url = forms.URLField(max_length=500, required=False, assume_scheme="https", label="Metadata URL")

    class Meta:
        model = IdentityProvider
        fields = (
            "name",
            "title",
            "protocol",
            "enabled",
            "issuer",
            "client_id",
            "client_secret",
            "scopes",
            "metadata_url",
            "metadata_xml",
            "groups_claim",
            "step_up_acr",
            "step_up_max_age_seconds",
        )
        help_texts = {
            "name": "Fixed once created: in the URLs (/sso/oidc/<name>/callback/) and in signatures "
            "(oidc:<name>).",
            "groups_claim": "The claim (OIDC; a dotted path such as realm_access.roles works) or SAML "
            "attribute holding the person's groups.",
            "step_up_acr": "Space-separated acr values a signing re-authentication must carry (blank: any).",
        }

    def clean(self):
        data = super().clean()
        probe = IdentityProvider(**{name: data.get(name) or "" for name in ("issuer", "client_id")})
        probe.protocol = data.get("protocol") or self.instance.protocol  # fixed once created
        probe.metadata_url, probe.metadata_xml = (
            data.get("metadata_url") or "",
            data.get("metadata_xml") or "",
        )
        try:
            federation_admin.validate(probe)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        if not self.instance.pk and probe.protocol == "oidc" and not data.get("client_secret"):
            self.add_error("client_secret", "Required for OpenID Connect.")
        return data


class GroupMappingInline(admin.TabularInline):
    model = GroupMapping
    extra = 1
    fields = ("group", "role", "team")
    autocomplete_fields = ("team",)


@admin.register(IdentityProvider)
class IdentityProviderAdmin(ServiceAdmin):
    """Providers and their mappings; saved and audited through ``federation_admin``."""

    section = "people"
    form = IdentityProviderForm
    inlines = (GroupMappingInline,)
    list_display = ("name", "title", "protocol", "enabled", "issuer", "mapping_count")
    list_filter = ("protocol", "enabled")
    search_fields = ("name", "title", "issuer")
    fieldsets = (
        (None, {"fields": ("name", "title", "protocol", "enabled")}),
        ("OpenID Connect", {"fields": ("issuer", "client_id", "client_secret", "scopes")}),
        ("SAML 2.0", {"fields": ("metadata_url", "metadata_xml")}),
        ("Groups and signing", {"fields": ("groups_claim", "step_up_acr", "step_up_max_age_seconds")}),
    )

    @admin.display(description="mappings")
    def mapping_count(self, provider: IdentityProvider) -> int:
        return provider.mappings.count()

    def get_readonly_fields(self, request, obj=None):
        return ("name", "protocol") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in form.cleaned_data if name in form.fields}
        if change:
            stored = IdentityProvider.objects.get(pk=obj.pk)
            federation_admin.provider_update(actor=request.user, provider=stored, **values)
            obj.refresh_from_db()
            return
        created = federation_admin.provider_create(actor=request.user, **values)
        obj.pk = created.pk
        obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        formset.save(commit=False)
        for mapping in formset.deleted_objects:
            federation_admin.mapping_delete(actor=request.user, mapping=mapping)
        for mapping in [*formset.new_objects, *(obj for obj, _ in formset.changed_objects)]:
            mapping.provider = form.instance
            federation_admin.mapping_save(actor=request.user, mapping=mapping)

    def has_delete_permission(self, request, obj=None):
        # someone signed in through it: their identities point at it, so it is switched off instead
        return super().has_delete_permission(request, obj) and not (obj and obj.identities.exists())

    def delete_model(self, request, obj):
        try:
            federation_admin.provider_delete(actor=request.user, provider=obj)
        except ServiceError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)


@admin.register(GroupMapping)
class GroupMappingAdmin(ServiceAdmin):
    """Every provider's mappings in one list (also edited on the provider's page), audited as
    ``sso.mapping_changed``."""

    section = "people"
    list_display = ("provider", "group", "role", "team")
    list_filter = ("provider", "role")
    search_fields = ("group", "team__name")
    list_select_related = ("provider", "team")
    autocomplete_fields = ("team",)

    def save_model(self, request, obj, form, change):
        federation_admin.mapping_save(actor=request.user, mapping=obj)

    def delete_model(self, request, obj):
        federation_admin.mapping_delete(actor=request.user, mapping=obj)


@admin.register(FederatedIdentity)
class FederatedIdentityAdmin(ReadOnlyAdmin):
    section = "people"
    read_only_reason = (
        "Linked at a person's first sign-in through the provider and never re-pointed; the groups are those "
        "the provider sent at the last sign-in."
    )
    list_display = ("user", "provider", "subject", "last_login_at", "created_at")
    list_filter = ("provider",)
    search_fields = ("user__username", "subject")
    list_select_related = ("user", "provider")


@admin.register(StepUp)
class StepUpAdmin(ReadOnlyAdmin):
    section = "people"
    read_only_reason = (
        "Each re-authentication at the identity provider for one signature; written by sign-ins."
    )
    list_display = ("user", "provider", "purpose", "created_at", "idp_authenticated_at", "consumed_at")
    list_filter = ("provider",)
    search_fields = ("user__username", "purpose")
    exclude = ("state_sha256",)
    list_select_related = ("user", "provider")
