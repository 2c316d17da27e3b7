"""``GET /api/v1/models/{name}/compare/?a=&b=``: two versions of a model side by side (monitoring.comparison;
the comparison page renders the same structure)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api.query import StrictQueryParameters
from monitoring import comparison
from registry import selectors as registry_selectors

SELECTOR = {"type": "string", "pattern": comparison.SELECTOR_PATTERN, "maxLength": 64}


class ModelComparisonView(StrictQueryParameters, APIView):
    """Versions ``a`` (baseline) and ``b`` (candidate) of the model compared: performance, drift against one
    shared reference, fairness per group, SHAP rank changes, artifact and dataset differences.

    Every change is ``b - a`` with a ``verdict`` (``better`` · ``worse`` · ``same`` · ``neutral``) read from the
    metric's declared direction. A section whose runs are missing or not comparable says so in ``note``.
    """

    error_statuses = (404,)  # a model the caller cannot see

    class Output(serializers.Serializer):
        model = serializers.CharField()
        a = serializers.JSONField()
        b = serializers.JSONField()
        same_version = serializers.BooleanField()
        performance = serializers.JSONField()
        drift = serializers.JSONField()
        fairness = serializers.JSONField()
        explainability = serializers.JSONField()
        artifact = serializers.JSONField()
        datasets = serializers.JSONField()

    @extend_schema(
        operation_id="models_compare",
        parameters=[
            OpenApiParameter("a", SELECTOR, required=True, description=comparison.SELECTOR_HELP),
            OpenApiParameter("b", SELECTOR, required=True, description=comparison.SELECTOR_HELP),
        ],
        responses={200: Output},
    )
    def get(self, request, model_name: str):
        model = registry_selectors.model_get(user=request.user, name=model_name)
        body = comparison.compare(
            user=request.user, model=model, a=request.query_params.get("a"), b=request.query_params.get("b")
        )
        return Response(self.Output(body).data)
