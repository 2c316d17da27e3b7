"""UI routes of this app: check runs."""

from django.urls import path

from monitoring import views

urlpatterns = [
    path("checks/", views.check_list, name="check-list"),
    path("checks/new/", views.check_new, name="check-new"),
    path("checks/<int:pk>/", views.check_detail, name="check-detail"),
    path("checks/<int:pk>/progress/", views.check_progress, name="check-progress"),
]
