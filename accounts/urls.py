"""UI routes of accounts and access: signing in and out, and a person's own password, tokens and authenticator."""

from django.urls import include, path

from accounts.sso import oidc
from accounts.views import accounts

urlpatterns = [
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", oidc.LogoutView.as_view(), name="logout"),  # an SSO session also ends at its IdP
    path("account/password/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("account/tokens/", accounts.token_list, name="token-list"),
    path("account/tokens/<str:token_key>/revoke/", accounts.token_revoke, name="token-revoke"),
    path("account/totp/", accounts.totp, name="totp"),
    path("account/totp/remove/", accounts.totp_remove, name="totp-remove"),
    path("sso/oidc/", include("accounts.sso.oidc_urls")),
    path("sso/saml/", include("accounts.sso.saml_urls")),
]
