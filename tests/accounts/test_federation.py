"""Single sign-on, whatever the protocol: who an IdP's assertion becomes, what its groups grant, and the
password sign-in that break-glass mode keeps for named administrators only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import FederatedIdentity, GroupMapping, IdentityProvider, User
from accounts.roles import ROLE_NAMES
from accounts.services import federation
from accounts.services.federation import SignInAssertion, SignInRefused
from audit.models import AuditEvent
from tests.factories import PASSWORD, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def corp(credit_risk, fraud):
    provider = IdentityProvider.objects.create(
        name="corp", title="Corp SSO", protocol="oidc", issuer="https://idp.example", client_id="attest"
    )
    GroupMapping.objects.create(provider=provider, group="mrm-validators", role="validator")
    GroupMapping.objects.create(provider=provider, group="mrm-engineers", role="ml-engineer")
    GroupMapping.objects.create(provider=provider, group="credit", team=credit_risk)
    GroupMapping.objects.create(provider=provider, group="fraud", team=fraud)
    return provider


def assertion(provider, *groups, subject="s-123", username="vera", **claims) -> SignInAssertion:
    return SignInAssertion(provider=provider, subject=subject, username=username, groups=groups, **claims)


def roles(user) -> set[str]:
    return set(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))


def teams(user) -> set[str]:
    return {group.team.name for group in user.groups.filter(team__isnull=False)}


def test_a_first_sign_in_opens_an_account_with_the_mapped_role_and_team(corp):
    user = federation.federated_sign_in(
        assertion(corp, "mrm-validators", "credit", "unmapped", email="vera@corp.example", first_name="Vera")
    )

    assert (user.username, user.email, user.first_name) == ("vera", "vera@corp.example", "Vera")
    assert not user.has_usable_password()
    assert roles(user) == {"validator"}
    assert teams(user) == {"credit-risk"}
    identity = FederatedIdentity.objects.get(provider=corp, subject="s-123")
    assert identity.user == user
    assert identity.groups == ["credit", "mrm-validators", "unmapped"]
    actions = list(AuditEvent.objects.order_by("seq").values_list("action", flat=True))
    assert actions[0] == "user.created"
    assert {"auth.identity_linked", "user.roles_changed", "team.member_added"} <= set(actions)
    assert actions[-1] == "auth.sso_login"


def test_each_sign_in_re_evaluates_roles_and_the_teams_the_idp_governs(corp, credit_risk):
    user = federation.federated_sign_in(assertion(corp, "mrm-validators", "credit"))
    local_team = TeamFactory(name="sandbox")
    local_team.group.user_set.add(user)  # an administrator's addition the IdP knows nothing of

    again = federation.federated_sign_in(assertion(corp, "mrm-engineers", "fraud"))

    assert again.pk == user.pk
    assert roles(again) == {"ml-engineer"}
    assert teams(again) == {"fraud", "sandbox"}
    changed = AuditEvent.objects.filter(action="user.roles_changed").latest("seq")
    assert (changed.before, changed.after) == (["validator"], ["ml-engineer"])
    assert AuditEvent.objects.filter(action="team.member_removed", object_id=str(credit_risk.pk)).exists()


def test_a_person_whose_groups_grant_no_role_is_refused_and_the_refusal_is_audited(corp):
    with pytest.raises(SignInRefused, match="grants a role"):
        federation.federated_sign_in(assertion(corp, "credit", "unmapped"))

    assert not User.objects.filter(username="vera").exists()
    refusal = AuditEvent.objects.get(action="auth.sso_refused")
    assert refusal.after["groups"] == ["credit", "unmapped"]


def test_an_idp_never_takes_over_an_account_with_a_local_password(corp, victor):
    with pytest.raises(SignInRefused, match="already exists"):
        federation.federated_sign_in(assertion(corp, "mrm-validators", username="victor"))

    assert not FederatedIdentity.objects.exists()
    assert roles(User.objects.get(username="victor")) == {"validator"}


def test_an_account_provisioned_without_a_password_is_linked_at_its_first_sign_in(corp):
    provisioned = UserFactory(username="vera", password=None)
    provisioned.set_unusable_password()
    provisioned.save()

    user = federation.federated_sign_in(assertion(corp, "mrm-validators"))

    assert user.pk == provisioned.pk


def test_a_deactivated_account_is_refused_even_with_a_valid_assertion(corp):
    user = federation.federated_sign_in(assertion(corp, "mrm-validators"))
    User.objects.filter(pk=user.pk).update(is_active=False)

    with pytest.raises(SignInRefused, match="deactivated"):
        federation.federated_sign_in(assertion(corp, "mrm-validators"))


def test_a_switched_off_provider_signs_nobody_in(corp):
    IdentityProvider.objects.filter(pk=corp.pk).update(enabled=False)
    corp.refresh_from_db()

    with pytest.raises(SignInRefused, match="switched off"):
        federation.federated_sign_in(assertion(corp, "mrm-validators"))


@pytest.fixture
def break_glass(settings):
    settings.ATTEST_LOCAL_PASSWORDS = "break-glass"
    settings.ATTEST_BREAK_GLASS_USERS = ["Admin"]


def test_break_glass_keeps_password_sign_in_for_the_named_administrator_only(
    client, break_glass, victor, admin_user
):
    token = reverse("api:auth-token")

    refused = client.post(
        token, {"username": "victor", "password": PASSWORD}, content_type="application/json"
    )
    allowed = client.post(
        token, {"username": admin_user.username, "password": PASSWORD}, content_type="application/json"
    )
    page = client.post(reverse("login"), {"username": "victor", "password": PASSWORD})

    assert refused.status_code == 401
    assert "switched off" in refused.json()["error"]["message"]
    assert allowed.status_code == 201
    assert page.status_code == 200
    assert "Password sign-in is switched off" in page.content.decode()
    assert "_auth_user_id" not in client.session
