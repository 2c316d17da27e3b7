"""UI routes of this app: the inventory and dataset pages, and the first-line forms. A model's page and a
version's page (``models/<name>/``, ``…/versions/<number>/``) compose several apps: web/urls.py.

``models/new/`` and ``datasets/new/`` come before the ``<name>`` routes: ``new`` is a valid slug (config/urls.py
includes web's routes after this file's, for the same reason).
"""

from django.urls import path

from registry import dataset_views, filter_views, views

urlpatterns = [
    path("models/", views.model_list, name="model-list"),
    path("models/new/", views.model_new, name="model-new"),
    path("models/saved-filters/", filter_views.saved_filter_create, name="saved-filter-create"),
    path(
        "models/saved-filters/<int:pk>/delete/", filter_views.saved_filter_delete, name="saved-filter-delete"
    ),
    path("models/tier-preview/", views.tier_preview, name="model-tier-preview"),
    path("models/<slug:name>/edit/", views.model_edit, name="model-edit"),
    path("models/<slug:name>/versions/new/", views.version_new, name="model-version-new"),
    path("datasets/", dataset_views.dataset_list, name="dataset-list"),
    path("datasets/new/", dataset_views.dataset_new, name="dataset-new"),
    path("datasets/<slug:name>/", dataset_views.dataset_detail, name="dataset-detail"),
    path("datasets/<slug:name>/versions/new/", dataset_views.dataset_version_new, name="dataset-version-new"),
    path(
        "datasets/<slug:name>/versions/<int:number>/profile/",
        dataset_views.dataset_version_profile,
        name="dataset-version-profile",
    ),
]
