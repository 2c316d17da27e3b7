"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from reports.api.bundles import EvidenceBundleViewSet
from reports.api.connectors import GrcConnectorViewSet
from reports.api.exports import CheckResultsExportView
from reports.api.inventory_export import InventoryCsvExportView, InventoryXlsxExportView
from reports.api.reports import ReportViewSet
from reports.api.validation_documents import ValidationDocumentDocxView

router = SimpleRouter(trailing_slash=True)
router.register("reports", ReportViewSet, basename="report")
router.register("evidence-bundles", EvidenceBundleViewSet, basename="evidence-bundle")
router.register("grc-connectors", GrcConnectorViewSet, basename="grc-connector")

urlpatterns = [
    path("exports/check-results.csv", CheckResultsExportView.as_view(), name="export-check-results"),
    path("exports/inventory.csv", InventoryCsvExportView.as_view(), name="export-inventory-csv"),
    path("exports/inventory.xlsx", InventoryXlsxExportView.as_view(), name="export-inventory-xlsx"),
    path(
        "models/<slug:name>/versions/<int:version>/validation-document/docx/",
        ValidationDocumentDocxView.as_view(),
        name="validation-document-docx",
    ),
    path("", include(router.urls)),
]
