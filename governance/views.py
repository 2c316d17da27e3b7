"""Account pages and the dashboard. Reads go through selectors, writes through services."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from governance import access, selectors
from governance.audit import record
from governance.services import accounts


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


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


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "roles": sorted(access.roles_of(request.user)),
        "teams": selectors.team_list(user=request.user),
    }
    return render(request, "dashboard.html", context)


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
