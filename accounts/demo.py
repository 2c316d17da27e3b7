"""Demo users and teams for `make run` (DESIGN.md: one user per role, plus an outsider)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import Team, User
from accounts.roles import Role
from accounts.services import accounts

TEAMS = {
    "credit-risk": "Credit Risk Modelling",
    "fraud": "Fraud Detection",
}
USERS = [
    ("maya", Role.ML_ENGINEER, "credit-risk", "Maya", "Okafor"),
    ("victor", Role.VALIDATOR, "credit-risk", "Victor", "Lindqvist"),
    ("rita", Role.RISK_OFFICER, "credit-risk", "Rita", "Fernandes"),
    ("aaron", Role.AUDITOR, "credit-risk", "Aaron", "Baptiste"),
    ("admin", Role.ADMIN, "credit-risk", "Ada", "Minister"),
    ("olga", Role.ML_ENGINEER, "fraud", "Olga", "Petrova"),
]


def seed_users() -> list[str]:
    """Create the demo teams and users that do not exist yet; returns the usernames created."""
    if not settings.ATTEST_DEMO:
        raise RuntimeError("demo data is created only in demo mode (ATTEST_DEMO=1, set by `make run`)")
    created = []
    with transaction.atomic():
        teams = {name: _team(name, title) for name, title in TEAMS.items()}
        for username, role, team, first, last in USERS:
            if User.objects.filter(username=username).exists():
                continue
            accounts.demo_user_create(
                username=username,
                role=role,
                team=teams[team],
                password=settings.ATTEST_DEMO_PASSWORD,
                first_name=first,
                last_name=last,
            )
            created.append(username)
    return created


def _team(name: str, title: str) -> Team:
    team = Team.objects.filter(name=name).first()
    return team or accounts.team_create(actor=None, name=name, title=title)
