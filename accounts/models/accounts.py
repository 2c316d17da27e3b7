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


class AuthThrottle(models.Model):
    """Failed password attempts for one account or one client address, shared by every web process.

    ``key`` is ``account:<username, lower case>`` or ``client:<address>``. ``failures`` counts the failures
    since ``first_failure_at`` (the counting window); reaching the limit sets ``locked_until`` and adds one
    to ``lockouts``, which doubles the next lock's length (progressive) until a quiet day resets it.
    Kept in PostgreSQL rather than a cache so that every gunicorn process, and `make run` without Redis,
    counts the same attempts (accounts.services.lockout).
    """

    key = models.CharField(max_length=200, unique=True)
    failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField()
    last_failure_at = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    lockouts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.key}: {self.failures} failures, locked until {self.locked_until}"
