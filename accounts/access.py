"""Access policy: the one place that answers who may see and do what.

Two questions, both answered from role groups, team membership and per-object grants:

* ``scope(user, queryset)`` — which objects of this type may the user see? Returned as a filtered
  queryset built from subqueries (never a per-row check), so lists stay one query whatever their size.
* ``can(user, action, obj)`` — may the user do this action on this object?

Auditors, risk officers and administrators read everything. ML engineers and validators see what their
teams own, plus what is granted to them (or to one of their teams). Everyone else sees nothing, and the
API answers 404 for objects outside a user's scope so their existence does not leak.

Models opt in by naming the path from themselves to the owning team in ``access_team_path``
(``"team"`` on a registered model, ``"model__team"`` on a version, ``"pk"`` on Team itself). Reference
data every role may read (policies, the control catalogue) sets ``access_all_roles_read = True``.

Grants (``accounts.models.Grant``) are made on a registered model or a dataset and cover everything that
belongs to it: the path to the owning model is ``access_team_path`` without its last step
(``"model_version__model__team"`` → ``"model_version__model"``; ``"team"`` → the object itself), or
``access_model_path`` where a class declares it. ``GRANT_LEVELS`` says which grant levels convey each
action. A grant never reaches the owning team, so the team's other models stay out of sight. Types that
no grant can reach (Team) still honour django-guardian object permissions on the object itself.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.models import Grant, GrantLevel, Team
from accounts.roles import READ_EVERYTHING, ROLE_NAMES, Role

# Which roles may attempt each action at all; team scoping then narrows team-bound roles. The one table
# of who may do what: API permissions, pages, templates and services ask it through ``may``/``can``/
# ``require`` and never name roles themselves (a policy stage's own ``role`` is data, checked as such).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "view": frozenset(ROLE_NAMES),
    "change": frozenset({Role.ML_ENGINEER, Role.ADMIN}),
    "run_checks": frozenset({Role.ML_ENGINEER, Role.VALIDATOR, Role.ADMIN}),
    "validate": frozenset({Role.VALIDATOR, Role.ADMIN}),
    "raise_finding": frozenset({Role.VALIDATOR, Role.RISK_OFFICER, Role.ADMIN}),
    # Write the validation document of a version (the second line's; the first line reads it).
    "author_validation": frozenset({Role.VALIDATOR, Role.RISK_OFFICER, Role.ADMIN}),
    "request_approval": frozenset({Role.ML_ENGINEER, Role.ADMIN}),
    # May sign for this object at all: an approval stage (admin signs tier 1's "accountable" stage) or a
    # periodic review, which the same second line opens and signs. The stage's own role is checked too.
    "sign": frozenset({Role.VALIDATOR, Role.RISK_OFFICER, Role.ADMIN}),
    "close_finding": frozenset({Role.VALIDATOR, Role.RISK_OFFICER, Role.ADMIN}),
    "accept_risk": frozenset({Role.RISK_OFFICER, Role.ADMIN}),
    # Override a model's risk tier or decide a pending tier change.
    "decide_tier": frozenset({Role.RISK_OFFICER, Role.ADMIN}),
    # Let reviews fall due less often than the model's interval (a shorter one is anyone's who may change).
    "lengthen_review_interval": frozenset({Role.RISK_OFFICER, Role.ADMIN}),
    "deploy": frozenset({Role.ML_ENGINEER, Role.ADMIN}),
    # Send a deployed version's production telemetry (OTLP intake): the first line's service accounts.
    "ingest_telemetry": frozenset({Role.ML_ENGINEER, Role.ADMIN}),
    # Acknowledge, snooze or escalate a monitoring alert: the model's team (1st line, its validators) and
    # the second line; auditors only read.
    "handle_alert": frozenset({Role.ML_ENGINEER, Role.VALIDATOR, Role.RISK_OFFICER, Role.ADMIN}),
    "audit": frozenset({Role.AUDITOR, Role.RISK_OFFICER, Role.ADMIN}),
    "administer": frozenset({Role.ADMIN}),
}
# Roles whose actions are not limited to their own teams: those declared ``all_teams`` in accounts.roles.
UNSCOPED_ROLES = READ_EVERYTHING

# Which grant levels put an object in a team-bound user's scope for each action. A ``view`` grant reads;
# a ``change`` grant also lets the grantee act on the object as a member of its team would, within what
# their role allows (ACTION_ROLES). Signing needs membership of the owning team (or an unscoped role):
# a signature answers for the team's model, which no grant can delegate; auditing and administering are
# unscoped roles' work.
_ANY_GRANT = frozenset({GrantLevel.VIEW, GrantLevel.CHANGE})
_CHANGE_GRANT = frozenset({GrantLevel.CHANGE})
GRANT_LEVELS: dict[str, frozenset[str]] = {
    "view": _ANY_GRANT,
    "change": _CHANGE_GRANT,
    "run_checks": _CHANGE_GRANT,
    "validate": _CHANGE_GRANT,
    "raise_finding": _CHANGE_GRANT,
    "author_validation": _CHANGE_GRANT,
    "request_approval": _CHANGE_GRANT,
    "deploy": _CHANGE_GRANT,
    "ingest_telemetry": _CHANGE_GRANT,
    "handle_alert": _CHANGE_GRANT,
    "sign": frozenset(),
    "close_finding": frozenset(),
    "accept_risk": frozenset(),
    "decide_tier": frozenset(),
    "lengthen_review_interval": frozenset(),
    "audit": frozenset(),
    "administer": frozenset(),
}


def is_active_user(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def roles_of(user) -> frozenset[str]:
    """The user's role names (cached on the user object for the request)."""
    if not is_active_user(user):
        return frozenset()
    cached = getattr(user, "_attest_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(Role.ADMIN)
        cached = frozenset(names)
        user._attest_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def team_ids(user) -> models.QuerySet:
    """Subquery of the ids of the teams the user belongs to."""
    return Team.objects.filter(group__user=user).values("pk")


def grants_of(user, levels=_ANY_GRANT) -> models.QuerySet:
    """The grants held by the user, directly or through one of their teams, at one of ``levels``."""
    return Grant.objects.filter(Q(user=user) | Q(team__in=team_ids(user)), level__in=levels)


@cache
def grant_path(model: type[models.Model]) -> tuple[str, str] | None:
    """``(path from model to the granted object, Grant field)`` for a type grants reach, else None.

    ``("pk", "model")`` for a registered model itself, ``("model_version__model", "model")`` for a check
    run, ``("dataset", "dataset")`` for a dataset version; None for Team and unscoped types.
    """
    path = getattr(model, "access_model_path", None)
    if path is None:
        team_path = getattr(model, "access_team_path", None)
        if team_path is None or team_path == "pk":
            return None
        path = "__".join(team_path.split("__")[:-1]) or "pk"
    target = model
    if path != "pk":
        for name in path.split("__"):
            target = target._meta.get_field(name).related_model
    field = Grant.object_field_for(target)
    return (path, field) if field is not None else None


def _granted_ids(user, model: type[models.Model], codename: str) -> models.QuerySet | None:
    """Subquery of primary keys granted with django-guardian to the user, directly or through a group."""
    content_type = ContentType.objects.get_for_model(model)
    permission = Permission.objects.filter(content_type=content_type, codename=codename).first()
    if permission is None:
        return None
    pk_field = model._meta.pk
    user_grants = UserObjectPermission.objects.filter(user=user, permission=permission)
    group_grants = GroupObjectPermission.objects.filter(group__user=user, permission=permission)
    is_integer = isinstance(pk_field, models.IntegerField | models.AutoField | models.BigAutoField)
    cast = Cast("object_pk", output_field=models.BigIntegerField() if is_integer else pk_field.__class__())
    return (
        user_grants.annotate(pk_value=cast)
        .values("pk_value")
        .union(group_grants.annotate(pk_value=cast).values("pk_value"))
    )


def _grant_filter(model: type[models.Model], user, action: str) -> Q | None:
    """Objects the user's grants put in scope for ``action``, or None when no grant can."""
    levels = GRANT_LEVELS.get(action, frozenset())
    if not levels:
        return None
    reach = grant_path(model)
    if reach is not None:
        path, field = reach
        return Q(**{f"{path}__in": grants_of(user, levels).values(field)})
    codename = f"{'view' if action == 'view' else 'change'}_{model._meta.model_name}"
    granted = _granted_ids(user, model, codename)
    return Q(pk__in=granted) if granted is not None else None


def _team_filter(queryset: models.QuerySet, user, action: str) -> Q:
    model = queryset.model
    path = getattr(model, "access_team_path", None)
    if path is None:
        raise TypeError(f"{model.__name__} has no access_team_path: it cannot be scoped by team")
    condition = Q(**{f"{path}__in": team_ids(user)})
    granted = _grant_filter(model, user, action)
    if granted is not None:
        condition |= granted
    return condition


def scope(user, queryset: models.QuerySet, action: str = "view") -> models.QuerySet:
    """The part of ``queryset`` the user may see (``action="view"``) or act on."""
    roles = roles_of(user) & ACTION_ROLES.get(action, frozenset())
    if not roles:
        return queryset.none()
    if action == "view" and (
        roles & READ_EVERYTHING or getattr(queryset.model, "access_all_roles_read", False)
    ):
        return queryset
    if roles & UNSCOPED_ROLES:
        return queryset
    return queryset.filter(_team_filter(queryset, user, action))


def can(user, action: str, obj: models.Model) -> bool:
    """May ``user`` do ``action`` on ``obj``? One query at most."""
    if action not in ACTION_ROLES:
        raise ValueError(f"unknown action {action!r}")
    manager = type(obj)._default_manager
    return scope(user, manager.filter(pk=obj.pk), action).exists()


def holds_grant(user, obj: models.Model, level: str = GrantLevel.VIEW) -> bool:
    """Does the user hold a grant on ``obj`` itself (a registered model or dataset) of at least ``level``?

    Roles aside: for rules about who may be named on an object (a model's owner), not for what they may do.
    """
    field = Grant.object_field_for(type(obj))
    if field is None or obj.pk is None or not is_active_user(user):
        return False
    levels = _ANY_GRANT if level == GrantLevel.VIEW else _CHANGE_GRANT
    return grants_of(user, levels).filter(**{field: obj}).exists()


def visible_teams(user) -> models.QuerySet:
    return scope(user, Team.objects.all())


def may(user, action: str) -> bool:
    """May the user attempt ``action`` at all? Their roles only, before any object's scope.

    The one answer to "may this user audit?", "administer?" and the like for pages, menus, API
    permissions and selectors; an inactive or anonymous user has no roles and may do nothing.
    """
    if action not in ACTION_ROLES:
        raise ValueError(f"unknown action {action!r}")
    return bool(roles_of(user) & ACTION_ROLES[action])


def require(user, action: str, obj: models.Model | None = None) -> None:
    """Raise PermissionDenied unless the user may do ``action`` (on ``obj`` when given).

    Callers fetch ``obj`` through ``scope`` first, so an invisible object is already a 404.
    """
    allowed = can(user, action, obj) if obj is not None else may(user, action)
    if not allowed:
        raise PermissionDenied(f"Your role does not allow '{action}' here.")
