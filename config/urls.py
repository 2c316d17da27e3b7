"""URL map. The API paths are a public contract (the API map in docs/ARCHITECTURE.md; /api/schema/ is
generated from them): add to them, never rename.

Each app owns its routes: ``<app>/api/urls.py`` for ``/api/v1/`` and ``<app>/urls.py`` for the UI; ``web/urls.py``
holds the pages that compose several apps (the dashboard, a model's and a version's page).
"""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import metrics, views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("workflow.api.urls")),
    path("", include("registry.api.urls")),
    path("", include("monitoring.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("integrations.api.urls")),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/workers", views.healthz_workers, name="healthz-workers"),
    path("metrics", metrics.metrics, name="metrics"),  # Prometheus, behind ATTEST_METRICS_TOKEN
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # after every API route: unknown /api/ paths get the JSON error body even with DEBUG on
    re_path(r"^api/(?P<unmatched>.*)$", views.api_not_found),
    path("admin/", admin.site.urls),
    path("scim/v2/", include("accounts.scim.urls")),  # SCIM 2.0 provisioning (docs/SCIM.md)
    path("", include("registry.urls")),
    path("", include("monitoring.urls")),
    path("", include("reports.urls")),
    path("", include("accounts.urls")),
    path("", include("workflow.urls")),
    path("", include("web.urls")),  # after the apps: registry's models/new/ must match before models/<name>/
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.error_pages.server_error"
