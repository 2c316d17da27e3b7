"""Account pages: sign-in, password, API tokens and the TOTP authenticator. Reads go through selectors,
writes through services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from accounts import selectors
from accounts.services import accounts, federation
from accounts.services import totp as totp_services
from accounts.sign_in import LockoutAuthenticationForm
from audit import record
from config.api.errors import ServiceError
from config.ui import add_refusal, page


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    authentication_form = LockoutAuthenticationForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_buttons"] = _sso_buttons(context.get("next", ""))
        context["break_glass"] = settings.ATTEST_LOCAL_PASSWORDS == "break-glass"
        return context

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked is not None:  # a lock is "too many requests", with when to come back
            response.status_code = 429
            response["Retry-After"] = str(form.locked.retry_after)
        return response


def _sso_buttons(next_url: str) -> list[dict]:
    """A "Sign in with …" button per enabled provider whose protocol is installed (``sso-<protocol>-login``)."""
    buttons = []
    for provider in federation.enabled_providers():
        try:
            url = reverse(f"sso-{provider.protocol}-login", args=[provider.name])
        except NoReverseMatch:
            continue
        buttons.append(
            {
                "title": provider.title or provider.name,
                "url": url + (f"?{urlencode({'next': next_url})}" if next_url else ""),
            }
        )
    return buttons


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            record(action="auth.password_changed", actor=self.request.user, obj=self.request.user)
        update_session_auth_hash(self.request, form.user)
        messages.success(self.request, "Your password was changed.")
        return response


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, required=False, help_text="What the token is for, e.g. ci-pipeline."
    )
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=accounts.MAX_TOKEN_DAYS, initial=90, label="Expires in (days)"
    )


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_secret = accounts.token_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"Token {token.token_key}… created. Copy it now: it is not shown again."
            )
            form = TokenForm()
    tokens = selectors.token_list(user=request.user)
    return render(request, "account/tokens.html", {"form": form, "tokens": tokens, "new_secret": new_secret})


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, token_key: str) -> HttpResponse:
    token = get_object_or_404(selectors.token_list(user=request.user), token_key=token_key)
    if request.method == "POST":
        accounts.token_revoke(actor=request.user, token=token)
        messages.success(request, f"Token {token.token_key}… revoked.")
        return redirect("token-list")
    return render(request, "account/token_revoke.html", {"token": token})


# --- TOTP -------------------------------------------------------------------------------------------


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        max_length=10,
        label="Code from your authenticator",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class TotpRemoveForm(forms.Form):
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


@login_required
@require_http_methods(["GET", "POST"])
def totp(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator: start (a secret is made), then confirm with a code it shows."""
    form = TotpConfirmForm(request.POST if request.POST.get("action") == "confirm" else None)
    status = 200
    if request.POST.get("action") == "start":
        try:
            totp_services.totp_begin(actor=request.user)
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
        return redirect("totp")
    if request.POST.get("action") == "confirm":
        status = 400
        if form.is_valid():
            try:
                totp_services.totp_confirm(actor=request.user, code=form.cleaned_data["code"])
            except ValidationError as refusal:
                add_refusal(form, refusal)
            else:
                messages.success(request, "Your authenticator is enrolled: signatures now ask for its code.")
                return redirect("totp")
    enrolment = selectors.totp_enrolment(user=request.user)
    context = {
        "device": selectors.totp_device(user=request.user),
        "enrolment": enrolment,
        "secret_groups": _groups(enrolment["secret"]) if enrolment else "",
        "form": form,
    }
    return page(request, "account/totp.html", context, status=status)


def _groups(secret: str, size: int = 4) -> str:
    return " ".join(secret[start : start + size] for start in range(0, len(secret), size))


@login_required
@require_http_methods(["GET", "POST"])
def totp_remove(request: HttpRequest) -> HttpResponse:
    device = selectors.totp_device(user=request.user)
    if device is None:
        return redirect("totp")
    form = TotpRemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            totp_services.totp_remove(actor=request.user, password=form.cleaned_data["password"])
        except ServiceError as refusal:
            add_refusal(form, refusal)
        else:
            messages.success(request, "Your authenticator was removed.")
            return redirect("totp")
    status = 400 if request.method == "POST" else 200
    return page(request, "account/totp_remove.html", {"form": form, "device": device}, status=status)
