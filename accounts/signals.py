"""Audit hooks for writes made by Django or django-guardian code rather than by our services.

Sign-in and sign-out happen inside django.contrib.auth, and object permissions can be changed through
guardian's admin views; these receivers record them. Our own services never rely on signals.
"""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts import context
from accounts.backends import FEDERATED_BACKEND
from accounts.models import User
from accounts.services import accounts
from audit import record


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    context.update(auth_method="session", actor_id=user.pk)
    if getattr(request, "session", {}).get(BACKEND_SESSION_KEY) == FEDERATED_BACKEND:
        return  # not a password sign-in: federated_sign_in recorded auth.sso_login, naming the IdP
    accounts.login_succeeded(user=user)


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    client = context.client_address(request) if request is not None else context.current().client_ip
    accounts.login_failed(username=credentials.get("username", ""), client=client)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    accounts.logout_done(user=user)


def _grant_facts(instance) -> dict:
    holder = (
        {"user": instance.user.username}
        if isinstance(instance, UserObjectPermission)
        else {"group": instance.group.name}
    )
    return {
        "permission": instance.permission.codename,
        "object_type": f"{instance.content_type.app_label}.{instance.content_type.model}",
        "object_id": instance.object_pk,
        **holder,
    }


def _context_actor():
    actor_id = context.current().actor_id
    return User.objects.filter(pk=actor_id).first() if actor_id else None


@receiver(post_save, sender=UserObjectPermission)
@receiver(post_save, sender=GroupObjectPermission)
def _permission_saved(sender, instance, created, **kwargs):
    if created:
        with transaction.atomic():
            record(action="permission.granted", actor=_context_actor(), after=_grant_facts(instance))


@receiver(post_delete, sender=UserObjectPermission)
@receiver(post_delete, sender=GroupObjectPermission)
def _permission_deleted(sender, instance, **kwargs):
    with transaction.atomic():
        record(action="permission.revoked", actor=_context_actor(), before=_grant_facts(instance))
