"""UI routes of this app: the reports page, report and bundle jobs, their progress and downloads."""

from django.urls import path

from reports import views

urlpatterns = [
    path("reports/", views.report_list, name="report-list"),
    path("reports/new/", views.report_new, name="report-new"),
    path("reports/<int:pk>/", views.report_detail, name="report-detail"),
    path("reports/<int:pk>/progress/", views.report_progress, name="report-progress"),
    path("reports/<int:pk>/download/", views.report_download, name="report-download"),
    path(
        "models/<slug:name>/versions/<int:number>/validation/docx/",
        views.validation_document_docx,
        name="validation-document-docx",
    ),
    path("reports/bundles/new/", views.bundle_new, name="bundle-new"),
    path("reports/bundles/<int:pk>/", views.bundle_detail, name="bundle-detail"),
    path("reports/bundles/<int:pk>/progress/", views.bundle_progress, name="bundle-progress"),
    path("reports/bundles/<int:pk>/download/", views.bundle_download, name="bundle-download"),
]
