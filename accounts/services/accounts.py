"""Accounts, teams, tokens and grants: every change is one transaction with its audit event."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Team, User
from accounts.roles import ROLE_NAMES, Role
from accounts.services import lockout
from audit import record

TEAM_GROUP_PREFIX = "team:"
MAX_TOKEN_DAYS = 366


def login_succeeded(*, user: User) -> None:
    with transaction.atomic():
        record(action="auth.login", actor=user, obj=user)
        lockout.success_record(username=user.get_username())


def login_failed(*, username: str, client: str | None, locked: lockout.Lock | None = None) -> None:
    """A refused sign-in. The username is kept (truncated) because it is what an investigator searches.

    A wrong password counts towards the lockout of the account and of the client address; an attempt
    refused because one of them is locked (``locked``) is recorded but not counted.
    """
    facts = {"username": (username or "")[:150]}
    if locked is not None:
        facts["locked"] = locked.scope
    with transaction.atomic():
        record(action="auth.login_failed", actor=None, after=facts)
        if locked is None:
            lockout.failure_record(username=username, client=client, attempt="sign_in")


def logout_done(*, user: User | None) -> None:
    with transaction.atomic():
        record(action="auth.logout", actor=user, obj=user)


def token_create(*, actor: User, name: str = "", expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Issue a bearer token for ``actor``; returns the record and the secret, which is shown only once."""
    ttl = settings.REST_KNOX["TOKEN_TTL"]
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
            raise ValidationError({"expires_in_days": [f"Must be between 1 and {MAX_TOKEN_DAYS}."]})
        ttl = timedelta(days=expires_in_days)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.pk).first()  # serialise the per-user limit check
        live = ApiToken.objects.filter(user=actor, expiry__gt=timezone.now()).count()
        limit = settings.REST_KNOX["TOKEN_LIMIT_PER_USER"]
        if live >= limit:
            raise ValidationError({"name": [f"You already have {limit} live tokens; revoke one first."]})
        token, secret = ApiToken.objects.create(user=actor, expiry=ttl, name=name[:100])
        record(action="token.created", actor=actor, obj=token.user, after=_token_facts(token))
    return token, secret


def token_revoke(*, actor: User, token: ApiToken) -> None:
    with transaction.atomic():
        record(action="token.revoked", actor=actor, obj=token.user, before=_token_facts(token))
        token.delete()


def token_revoke_all(*, actor: User) -> int:
    with transaction.atomic():
        tokens = list(ApiToken.objects.select_for_update().filter(user=actor))
        for token in tokens:
            record(action="token.revoked", actor=actor, obj=token.user, before=_token_facts(token))
        ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).delete()
    return len(tokens)


def _token_facts(token: ApiToken) -> dict:
    return {
        "token_key": token.token_key,
        "name": token.name,
        "user": token.user.username,
        "expiry": token.expiry,
    }


# What an administrator edits on an account. Accounts are never deleted: their names stand in the audit
# trail, on signatures and on approvals; ``is_active=False`` closes one (sessions and tokens stop working).
USER_FIELDS = ("username", "first_name", "last_name", "email", "is_active", "is_staff", "is_superuser")
TEAM_FIELDS = ("title", "description")


def user_create(*, actor: User | None, username: str, password: str | None, **fields) -> User:
    """Open an account; ``password`` None leaves it without password sign-in. Audited as ``user.created``."""
    _refuse_unknown(fields, USER_FIELDS)
    with transaction.atomic():
        user = User(username=username, **fields)
        _set_password(user, password)
        user.save()
        facts = {"username": username, **fields, "password_sign_in": password is not None}
        record(action="user.created", actor=actor, obj=user, after=facts)
    return user


def user_update(*, actor: User | None, user: User, **changes) -> User:
    """Change an account's details (``USER_FIELDS``); audited as ``user.changed`` with the fields that
    changed, before and after. Nothing changed, nothing recorded."""
    _refuse_unknown(changes, USER_FIELDS)
    with transaction.atomic():
        before, after = _apply(user, changes)
        if after:
            user.save(update_fields=list(after))
            record(action="user.changed", actor=actor, obj=user, before=before, after=after)
    return user


def user_password_set(*, actor: User | None, user: User, password: str | None) -> None:
    """An administrator sets a person's password (None: password sign-in disabled); audited as
    ``auth.password_changed`` naming the administrator. The secret itself is never recorded."""
    with transaction.atomic():
        _set_password(user, password)
        user.save(update_fields=["password"])
        record(
            action="auth.password_changed",
            actor=actor,
            obj=user,
            after={"password_sign_in": password is not None},
        )


def _set_password(user: User, password: str | None) -> None:
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)


def _refuse_unknown(changes: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ValueError(f"not an editable field: {', '.join(sorted(unknown))}")


def _apply(instance, changes: dict) -> tuple[dict, dict]:
    """Set the changed fields; returns their values (before, after)."""
    before = {
        name: getattr(instance, name) for name, value in changes.items() if getattr(instance, name) != value
    }
    after = {name: changes[name] for name in before}
    for name, value in after.items():
        setattr(instance, name, value)
    return before, after


def team_create(*, actor: User, name: str, title: str = "", description: str = "") -> Team:
    with transaction.atomic():
        group = Group.objects.create(name=f"{TEAM_GROUP_PREFIX}{name}")
        team = Team(name=name, title=title, description=description, group=group)
        team.full_clean()
        team.save()
        record(action="team.created", actor=actor, obj=team, after={"name": name, "title": title})
    return team


def team_update(*, actor: User | None, team: Team, **changes) -> Team:
    """Change a team's title or description (its name is fixed: grants and URLs use it); audited as
    ``team.changed`` with the fields that changed. A team is never deleted: its models point at it."""
    _refuse_unknown(changes, TEAM_FIELDS)
    with transaction.atomic():
        before, after = _apply(team, changes)
        if after:
            team.full_clean()
            team.save(update_fields=list(after))
            record(action="team.changed", actor=actor, obj=team, before=before, after=after)
    return team


def team_add_member(*, actor: User | None, team: Team, user: User) -> None:
    with transaction.atomic():
        team.group.user_set.add(user)
        record(action="team.member_added", actor=actor, obj=team, after={"user": user.username})


def team_remove_member(*, actor: User | None, team: Team, user: User) -> None:
    with transaction.atomic():
        team.group.user_set.remove(user)
        record(action="team.member_removed", actor=actor, obj=team, before={"user": user.username})


def user_set_roles(*, actor: User | None, user: User, roles: list[str]) -> None:
    """Replace the user's role groups with ``roles``; team groups are untouched."""
    unknown = set(roles) - ROLE_NAMES
    if unknown:
        raise ValidationError({"roles": [f"Unknown role(s): {', '.join(sorted(unknown))}."]})
    with transaction.atomic():
        before = sorted(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
        user.groups.remove(*Group.objects.filter(name__in=ROLE_NAMES))
        user.groups.add(*[Group.objects.get(name=role) for role in roles])
        record(action="user.roles_changed", actor=actor, obj=user, before=before, after=sorted(roles))
        user.__dict__.pop("_attest_roles", None)


def demo_user_create(*, username: str, role: Role, team: Team | None, password: str, **names) -> User:
    """Create one demo user; only callable in demo mode (``ATTEST_DEMO=1``)."""
    if not settings.ATTEST_DEMO:
        raise RuntimeError("demo users are created only when ATTEST_DEMO=1 (make run)")
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, password=password, email=f"{username}@example.com", **names
        )
        user.groups.add(Group.objects.get(name=role))
        if role == Role.ADMIN:
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
        if team is not None:
            team.group.user_set.add(user)
        record(
            action="user.created",
            actor=None,
            obj=user,
            after={"username": username, "role": role.value, "team": team.name if team else None},
        )
    return user
