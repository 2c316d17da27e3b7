from django.urls import include, path
from rest_framework.routers import SimpleRouter

from governance.api.auth import LogoutAllView, LogoutView, ObtainTokenView, TokenViewSet
from governance.api.teams import TeamViewSet

router = SimpleRouter(trailing_slash=True)
router.register("auth/tokens", TokenViewSet, basename="token")
router.register("teams", TeamViewSet, basename="team")

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all/", LogoutAllView.as_view(), name="auth-logout-all"),
    path("", include(router.urls)),
]
