"""People, the teams that own models, and their API tokens."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from knox.models import AbstractAuthToken


class User(AbstractUser):
    """A person or a CI service account. Roles are Django groups named after ``access.Role``."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]

    @property
    def printed_name(self) -> str:
        """The name shown beside an electronic signature (21 CFR 11.50): full name, else username."""
        return self.get_full_name() or self.username


class Team(models.Model):
    """A team that owns models. Object permissions are granted to the team's group.

    The group carries membership (``team.group.user_set``) so that django-guardian's group
    object permissions apply to every member without a second mechanism.
    """

    name = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")
    created_at = models.DateTimeField(auto_now_add=True)

    access_team_path = "pk"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def members(self):
        return self.group.user_set.all()


class ApiToken(AbstractAuthToken):
    """A hashed bearer token (django-rest-knox) with a label its owner chose, e.g. ``ci-pipeline``."""

    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.token_key}… ({self.name or 'unnamed'}) of {self.user_id}"
