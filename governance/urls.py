"""UI routes for accounts: sign-in, sign-out, password, tokens, and the dashboard."""

from django.contrib.auth import views as auth_views
from django.urls import path

from governance import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/tokens/", views.token_list, name="token-list"),
    path("account/tokens/<str:token_key>/revoke/", views.token_revoke, name="token-revoke"),
]
