"""``/api/v1/grants/``: per-object grants on registered models and datasets (administrators only)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from accounts.api.common import MayDo
from accounts.models import Grant, GrantLevel, Team, User
from accounts.services import grants as grant_services
from config.api import inputs
from config.api.filters import API_FILTER_BACKENDS
from config.api.query import StrictQueryParameters
from registry.models import Dataset, RegisteredModel


class GrantFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(field_name="user__username")
    team = django_filters.CharFilter(field_name="team__name")
    model = django_filters.CharFilter(field_name="model__name")
    dataset = django_filters.CharFilter(field_name="dataset__name")
    level = django_filters.ChoiceFilter(choices=GrantLevel.choices)

    class Meta:
        model = Grant
        fields = ["user", "team", "model", "dataset", "level"]


class GrantViewSet(StrictQueryParameters, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Grants: one user or team, ``view`` or ``change``, on one model or dataset.

    Create answers 201, or 200 with the existing grant when the same one is asked for again; 409
    ``grant_exists`` when the subject holds another level (revoke it first). Delete revokes, with a
    ``reason`` in the body (or the query string), and answers 204.
    """

    class Output(serializers.Serializer):
        id = serializers.IntegerField()
        user = serializers.CharField(source="user.username", allow_null=True, default=None)
        team = serializers.CharField(source="team.name", allow_null=True, default=None)
        model = serializers.CharField(source="model.name", allow_null=True, default=None)
        dataset = serializers.CharField(source="dataset.name", allow_null=True, default=None)
        level = serializers.CharField()
        reason = serializers.CharField()
        granted_by = serializers.CharField(source="granted_by.username", allow_null=True, default=None)
        granted_at = serializers.DateTimeField()

    class Input(inputs.Input):
        user = serializers.CharField(max_length=150, required=False, help_text="a username, or give team")
        team = serializers.SlugField(max_length=64, required=False, help_text="a team name, or give user")
        model = serializers.SlugField(max_length=100, required=False, help_text="or give dataset")
        dataset = serializers.SlugField(max_length=100, required=False, help_text="or give model")
        level = serializers.ChoiceField(choices=GrantLevel.choices)
        reason = serializers.CharField(max_length=2000)

        def validate(self, data):
            errors = {}
            for pair in (("user", "team"), ("model", "dataset")):
                given = [name for name in pair if data.get(name)]
                if len(given) != 1:
                    message = f"Name exactly one of {pair[0]} or {pair[1]}."
                    errors.update({name: [message] for name in (given or pair)})
            if errors:
                raise serializers.ValidationError(errors)
            return data

    class RevokeInput(inputs.Input):
        reason = serializers.CharField(max_length=2000)

    permission_classes = [MayDo.of("administer")]
    serializer_class = Output
    filterset_class = GrantFilter
    filter_backends = API_FILTER_BACKENDS
    ordering_fields = ["granted_at", "id"]
    search_fields: list[str] = []

    def get_queryset(self):
        return grant_services.grant_list(user=self.request.user)

    @extend_schema(request=Input, responses={201: Output, 200: Output})
    def create(self, request):
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        grant, created = grant_services.grant_create(
            actor=request.user,
            subject=_subject(data),
            obj=_object(data),
            level=data["level"],
            reason=data["reason"],
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.Output(grant).data, status=answer)

    @extend_schema(
        request=RevokeInput,
        parameters=[OpenApiParameter("reason", str, description="why, when not given in the body")],
        responses={204: None},
    )
    def destroy(self, request, pk=None):
        grant = self.get_object()
        given = request.data.get("reason") if hasattr(request.data, "get") else None
        body = self.RevokeInput(data={"reason": given or request.query_params.get("reason", "")})
        body.is_valid(raise_exception=True)
        grant_services.grant_revoke(actor=request.user, grant=grant, reason=body.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


def _subject(data: dict) -> User | Team:
    if data.get("user"):
        return _named(User.objects.filter(username=data["user"]), "user", f"No user {data['user']!r}.")
    return _named(Team.objects.filter(name=data["team"]), "team", f"No team {data['team']!r}.")


def _object(data: dict) -> RegisteredModel | Dataset:
    if data.get("model"):
        found = RegisteredModel.objects.filter(name=data["model"])
        return _named(found, "model", f"No registered model {data['model']!r}.")
    return _named(Dataset.objects.filter(name=data["dataset"]), "dataset", f"No dataset {data['dataset']!r}.")


def _named(queryset, field: str, message: str):
    found = queryset.first()
    if found is None:
        raise serializers.ValidationError({field: [message]})
    return found
