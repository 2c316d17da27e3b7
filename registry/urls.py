"""UI routes of this app: the inventory pages."""

from django.urls import path

from registry import views

urlpatterns = [
    path("models/", views.model_list, name="model-list"),
    path("models/<slug:name>/", views.model_detail, name="model-detail"),
    path("models/<slug:name>/versions/<int:number>/", views.version_detail, name="model-version-detail"),
]
