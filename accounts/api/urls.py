"""The API routes of accounts and access, under /api/v1/: tokens, sign-out, TOTP, teams and grants."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from accounts.api.auth import LogoutAllView, LogoutView, ObtainTokenView, TokenViewSet
from accounts.api.grants import GrantViewSet
from accounts.api.step_up import StepUpDetailView, StepUpView
from accounts.api.teams import TeamViewSet
from accounts.api.totp import TotpView

router = SimpleRouter(trailing_slash=True)
router.register("auth/tokens", TokenViewSet, basename="token")
router.register("teams", TeamViewSet, basename="team")
router.register("grants", GrantViewSet, basename="grant")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/totp/", TotpView.as_view(), name="auth-totp"),
    path("auth/step-up/", StepUpView.as_view(), name="auth-step-up"),
    path("auth/step-up/<int:pk>/", StepUpDetailView.as_view(), name="auth-step-up-detail"),
    path("", include(router.urls)),
]
