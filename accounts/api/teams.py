"""``/api/v1/teams/``: the teams that own models, scoped like every other resource."""

from __future__ import annotations

from rest_framework import mixins, serializers

from accounts import selectors
from config.api.viewsets import ScopedViewSet


class TeamViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Teams the caller may see: their own, or all of them for auditors, risk officers and admins."""

    class Output(serializers.Serializer):
        name = serializers.SlugField()
        title = serializers.CharField()
        description = serializers.CharField()
        members = serializers.SerializerMethodField()
        member_count = serializers.IntegerField()
        created_at = serializers.DateTimeField()

        def get_members(self, team) -> list[str]:
            return [user.username for user in team.group.user_set.all()]

    selector = staticmethod(selectors.team_list)
    serializer_class = Output
    lookup_field = "name"
    ordering_fields = ["name", "created_at"]
    search_fields = ["name", "title"]
