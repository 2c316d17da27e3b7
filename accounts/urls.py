"""UI routes of accounts and access: signing in and out, and a person's own password, tokens and authenticator."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts.views import accounts

urlpatterns = [
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("account/tokens/", accounts.token_list, name="token-list"),
    path("account/tokens/<str:token_key>/revoke/", accounts.token_revoke, name="token-revoke"),
    path("account/totp/", accounts.totp, name="totp"),
    path("account/totp/remove/", accounts.totp_remove, name="totp-remove"),
]
