"""`manage.py seed_demo`: refused outside demo mode; `--migrate` (used by `make run`) migrates first."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from workflow.management.commands import seed_demo

pytestmark = pytest.mark.django_db


def test_it_refuses_outside_demo_mode_and_creates_nobody(settings):
    settings.ATTEST_DEMO = False
    users_before = get_user_model().objects.count()
    with pytest.raises(CommandError, match="ATTEST_DEMO is not set"):
        call_command("seed_demo", "--migrate")
    assert get_user_model().objects.count() == users_before


def test_migrate_option_applies_migrations_before_any_seeding(settings, monkeypatch):
    settings.ATTEST_DEMO = True
    steps = []
    monkeypatch.setattr(seed_demo, "call_command", lambda name, **kw: steps.append(name))
    monkeypatch.setattr(seed_demo.demo, "seed_users", lambda: steps.append("users") or [])
    monkeypatch.setattr(seed_demo, "seed_registry", lambda: steps.append("registry") or "")
    monkeypatch.setattr(seed_demo, "seed_workflow", lambda: steps.append("workflow") or "")
    monkeypatch.setattr(seed_demo, "seed_llm_demo", lambda: steps.append("llm") or "")

    call_command("seed_demo", "--migrate")
    assert steps == ["migrate", "users", "registry", "workflow", "llm"]

    steps.clear()
    call_command("seed_demo")
    assert steps == ["users", "registry", "workflow", "llm"]
