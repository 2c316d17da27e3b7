"""factory_boy factories for the project's models; personas live in tests/conftest.py."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group

from accounts.models import Team, User

PASSWORD = "correct-horse-battery"


def role_group(name: str) -> Group:
    """The role's group, as the reference data seeds it (tests/conftest.py's ``_reference_data`` restores
    it after a flush): looked up, never created, so a misspelt role fails instead of making a group."""
    return Group.objects.get(name=name)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"team-{n}")
    title = factory.LazyAttribute(lambda team: team.name.replace("-", " ").title())
    group = factory.LazyAttribute(lambda team: Group.objects.get_or_create(name=f"team:{team.name}")[0])


class UserFactory(factory.django.DjangoModelFactory):
    """A user with ``role`` (a role group name) and membership of ``teams``."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.LazyAttribute(lambda user: user.username.capitalize())
    last_name = "Tester"
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(role_group(extracted))
            if extracted == "admin":
                self.is_staff = True
                self.save(update_fields=["is_staff"])
        if create:
            self.save()

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            for team in extracted:
                team.group.user_set.add(self)
