"""OpenID Connect routes, under ``/sso/oidc/``: sign-in, the provider's callback, step-up for a signature."""

from django.urls import path

from accounts.sso import oidc

urlpatterns = [
    path("<slug:name>/login/", oidc.sign_in, name="sso-oidc-login"),
    path("<slug:name>/callback/", oidc.callback, name="sso-oidc-callback"),
    path("<slug:name>/step-up/", oidc.step_up, name="sso-oidc-step-up"),
]
