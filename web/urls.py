"""UI routes of the composing pages. Same paths and names as when they lived in their apps, so links and
``reverse`` calls are unchanged. config/urls.py includes these after the apps' routes: ``models/new/`` and
``models/tier-preview/`` (registry) must match before ``models/<name>/`` does, as ``new`` is a valid slug."""

from django.urls import path

from web.views import comparison, dashboard, inventory, inventory_export, portfolio, search

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("portfolio/", portfolio.portfolio_page, name="portfolio"),
    path("search/", search.search, name="search"),
    path("models/export.<str:fmt>", inventory_export.inventory_export, name="model-export"),
    path("models/<slug:name>/", inventory.model_detail, name="model-detail"),
    path("models/<slug:name>/versions/<int:number>/", inventory.version_detail, name="model-version-detail"),
    path("models/<slug:name>/compare/", comparison.model_compare, name="model-compare"),
]
