"""``/api/v1/reviews/``: periodic reviews, opened, evidenced and signed by the second line."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api import inputs
from config.api.filters import deprecated_alias, model_filter
from config.api.viewsets import ScopedViewSet
from registry import selectors as registry_selectors
from workflow import selectors
from workflow.api.approvals import SigningCredentials
from workflow.models import PeriodicReview, ReviewConclusion
from workflow.services import reviews as review_services


class ReviewOutput(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField(source="model.name")
    status = serializers.CharField()
    scope = serializers.CharField()
    documents = serializers.SerializerMethodField()
    opened_by = serializers.CharField(source="opened_by.username")
    opened_at = serializers.DateTimeField()
    conclusion = serializers.CharField()
    summary = serializers.CharField()
    valid_until = serializers.DateField(allow_null=True)
    signer = serializers.CharField(source="signer.username", allow_null=True, default=None)
    printed_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    signed_at = serializers.DateTimeField(allow_null=True)
    auth_method = serializers.CharField()
    server_signature = serializers.CharField()
    key_id = serializers.CharField()
    closed_at = serializers.DateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()

    def get_documents(self, review) -> list[dict]:
        return [
            {
                "id": d.pk,
                "title": d.title,
                "type": d.evidence_type_id,
                "sha256": d.sha256,
                "version": d.model_version.version,
            }
            for d in review.documents.all()
        ]


class ReviewFilter(django_filters.FilterSet):
    model = model_filter()
    model__name = deprecated_alias("model", model_filter())

    class Meta:
        model = PeriodicReview
        fields = ["model", "status", "model__name"]


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Periodic reviews of the models the caller may see. Only a completed (signed) review sets a model's
    ``last_reviewed_on`` and may extend its ``valid_until``."""

    class OpenInput(inputs.Input):
        model = serializers.SlugField(max_length=100)
        scope = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

    class AttachInput(inputs.Input):
        document = serializers.IntegerField(min_value=1)

    class CompleteInput(SigningCredentials):
        conclusion = serializers.ChoiceField(choices=ReviewConclusion.choices)
        summary = serializers.CharField(max_length=20000)
        valid_until = serializers.DateField(required=False, allow_null=True, default=None)

    class CancelInput(inputs.Input):
        reason = serializers.CharField(max_length=5000)

    selector = staticmethod(selectors.review_list)
    serializer_class = ReviewOutput
    filterset_class = ReviewFilter
    ordering_fields = ["opened_at"]
    lookup_value_regex = r"\d+"

    @extend_schema(request=OpenInput, responses={201: ReviewOutput})
    def create(self, request):
        body = self.OpenInput(data=request.data)
        body.is_valid(raise_exception=True)
        model = registry_selectors.model_get(user=request.user, name=body.validated_data["model"])
        review = review_services.review_open(
            actor=request.user, model=model, scope=body.validated_data["scope"]
        )
        return Response(self._output(review.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=AttachInput, responses={200: ReviewOutput})
    @action(detail=True, methods=["post"])
    def documents(self, request, pk=None):
        review = self.get_object()
        body = self.AttachInput(data=request.data)
        body.is_valid(raise_exception=True)
        document = (
            selectors.evidence_list(user=request.user).filter(pk=body.validated_data["document"]).first()
        )
        if document is None:
            raise serializers.ValidationError(
                {"document": ["No evidence document with that id is visible to you."]}
            )
        review_services.review_attach(actor=request.user, review=review, document=document)
        return Response(self._output(review.pk))

    @extend_schema(request=CompleteInput, responses={200: ReviewOutput})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        review = self.get_object()
        body = self.CompleteInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        signing = review_services.ReviewSigning(
            conclusion=data["conclusion"],
            summary=data["summary"],
            password=data["password"],
            totp_code=data["totp"],
            valid_until=data["valid_until"],
            step_up=data["step_up"],
        )
        review_services.review_complete(actor=request.user, review=review, signing=signing)
        return Response(self._output(review.pk))

    @extend_schema(request=CancelInput, responses={200: ReviewOutput})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        review = self.get_object()
        body = self.CancelInput(data=request.data)
        body.is_valid(raise_exception=True)
        review_services.review_cancel(actor=request.user, review=review, reason=body.validated_data["reason"])
        return Response(self._output(review.pk))

    def _output(self, pk: int) -> dict:
        return ReviewOutput(self.get_queryset().get(pk=pk)).data
