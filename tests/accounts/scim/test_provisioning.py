"""SCIM provisioning as Entra ID and Okta drive it: accounts without passwords, filters and pages, their
PATCH forms, groups granting mapped roles and teams, deprovisioning that locks the person out at once,
and every refusal a SCIM error (never a 500)."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from accounts.models import ApiToken, FederatedIdentity, GroupMapping, IdentityProvider, ScimGroup, User
from accounts.roles import ROLE_NAMES
from accounts.services import accounts, federation, scim
from audit.models import AuditEvent
from tests.factories import PASSWORD

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


class Scim:
    """The Django test client speaking SCIM with one client's token."""

    def __init__(self, token: str):
        self.http = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def call(self, method: str, path: str, body=None, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        response = getattr(self.http, method)(
            f"/scim/v2/{path}", data=data, content_type="application/scim+json", **self.headers
        )
        assert response.status_code < 500 or response.status_code == 501, response.content
        if response.status_code != 204:
            assert response["Content-Type"] == "application/scim+json"
        return response

    def get(self, path):
        return self.call("get", path)

    def post(self, path, body=None, raw=None):
        return self.call("post", path, body, raw)

    def put(self, path, body):
        return self.call("put", path, body)

    def patch(self, path, *operations, raw=None):
        return self.call("patch", path, {"schemas": [PATCH], "Operations": list(operations)}, raw)

    def delete(self, path):
        return self.call("delete", path)

    def user(self, username: str, **extra) -> dict:
        body = {"schemas": [USER], "userName": username, "active": True, **extra}
        response = self.post("Users", body)
        assert response.status_code == 201, response.json()
        return response.json()


@pytest.fixture
def provider(db):
    return IdentityProvider.objects.create(
        name="corp", title="Corp SSO", protocol="oidc", issuer="https://idp.test"
    )


@pytest.fixture
def client_and_token(provider):
    return scim.client_create(actor=None, name="entra", provider=provider)


@pytest.fixture
def idp(client_and_token):
    return Scim(client_and_token[1])


def _error(response, status: int, scim_type: str | None = None) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["schemas"] == [ERROR]
    assert int(body["status"]) == status
    if scim_type:
        assert body.get("scimType") == scim_type, body
    assert body["detail"]
    return body


def test_a_created_user_has_no_password_and_is_audited_as_scim(idp):
    created = idp.user(
        "alice@corp.example",
        externalId="aad-1",
        name={"givenName": "Alice", "familyName": "Liddell"},
        emails=[{"value": "alice@corp.example", "type": "work", "primary": True}],
        displayName="Alice L",  # RFC attributes Attest does not keep are accepted and ignored
        **{ENTERPRISE: {"department": "Risk"}},
    )
    user = User.objects.get(pk=int(created["id"]))
    assert not user.has_usable_password()
    assert (user.username, user.first_name, user.email, user.is_active) == (
        "alice@corp.example",
        "Alice",
        "alice@corp.example",
        True,
    )
    assert created["externalId"] == "aad-1"
    assert created["meta"]["location"].endswith(f"/scim/v2/Users/{user.pk}")
    assert "displayName" not in created
    events = AuditEvent.objects.filter(action__in=["user.created", "scim.user_linked", "scim.user_changed"])
    assert {event.action for event in events} == {"user.created", "scim.user_linked", "scim.user_changed"}
    assert {event.auth_method for event in events} == {"scim"}
    assert AuditEvent.objects.get(action="scim.user_linked").after["scim_client"] == "entra"


def test_the_first_sso_sign_in_links_the_provisioned_account(idp, provider):
    GroupMapping.objects.create(provider=provider, group="attest-users", role="ml-engineer")
    created = idp.user("bob@corp.example")
    assertion = federation.SignInAssertion(
        provider=provider, subject="sub-bob", username="bob@corp.example", groups=("attest-users",)
    )
    user = federation.federated_sign_in(assertion)
    assert str(user.pk) == created["id"]
    assert FederatedIdentity.objects.filter(user=user, provider=provider, subject="sub-bob").exists()


def test_filters_and_pages(idp):
    for n in range(5):
        idp.user(f"user{n}@corp.example", externalId=f"ext-{n}", emails=[{"value": f"u{n}@corp.example"}])
    idp.patch(f"Users/{_id(idp, 'user4@corp.example')}", {"op": "replace", "path": "active", "value": False})

    def found(query: str) -> list[str]:
        body = idp.get(f"Users?{query}").json()
        assert body["itemsPerPage"] == len(body["Resources"])
        return [item["userName"] for item in body["Resources"]]

    assert found('filter=userName eq "USER1@corp.example"') == ["user1@corp.example"]
    assert found('filter=externalId eq "ext-2"') == ["user2@corp.example"]
    assert found('filter=emails.value eq "u3@corp.example"') == ["user3@corp.example"]
    assert found('filter=emails[value eq "u3@corp.example"]') == ["user3@corp.example"]
    assert found("filter=active eq false") == ["user4@corp.example"]
    assert found('filter=active eq true and externalId eq "ext-0"') == ["user0@corp.example"]
    assert found('filter=userName eq "nobody"') == []

    page = idp.get("Users?startIndex=2&count=2").json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (5, 2, 2)
    assert [item["userName"] for item in page["Resources"]] == ["user1@corp.example", "user2@corp.example"]
    last = idp.get("Users?startIndex=5&count=10").json()
    assert (last["totalResults"], last["itemsPerPage"]) == (5, 1)
    assert idp.get("Users?count=0").json()["itemsPerPage"] == 0
    assert idp.get("Users?startIndex=0&count=100000").json()["startIndex"] == 1  # capped, 1-based
    attributes = idp.get("Users?attributes=userName&count=1").json()["Resources"][0]
    assert set(attributes) == {"schemas", "id", "userName"}


def test_entra_and_okta_patch_forms(idp):
    user_id = idp.user("carol@corp.example", emails=[{"value": "carol@corp.example", "type": "work"}])["id"]
    response = idp.patch(
        f"Users/{user_id}",
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "carol.new@corp.example"},
        {"op": "Replace", "path": "name.givenName", "value": "Carol"},
        {"op": "Add", "path": "name.familyName", "value": "Danvers"},
        {"op": "Add", "path": "externalId", "value": "aad-carol"},
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+44 20 7946 0000"},
        {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Risk"},
    )
    assert response.status_code == 200, response.json()
    user = User.objects.get(pk=user_id)
    assert (user.email, user.first_name, user.last_name) == ("carol.new@corp.example", "Carol", "Danvers")
    assert response.json()["externalId"] == "aad-carol"

    # Entra ID on a user without a work address: the work address is set (not 400 noTarget)
    other = idp.user("dave@corp.example")["id"]
    idp.patch(
        f"Users/{other}", {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "d@corp.example"}
    )
    assert User.objects.get(pk=other).email == "d@corp.example"

    # attribute names are case-insensitive: a capitalised path deprovisions too
    idp.patch(f"Users/{other}", {"op": "Replace", "path": "Active", "value": "False"})
    assert not User.objects.get(pk=other).is_active

    # Okta: replace without a path; then reactivation
    idp.patch(f"Users/{user_id}", {"op": "replace", "value": {"active": False}})
    assert not User.objects.get(pk=user_id).is_active
    idp.patch(f"Users/{user_id}", {"op": "replace", "value": {"active": True}})
    assert User.objects.get(pk=user_id).is_active


def test_group_membership_grants_the_mapped_role_and_team(idp, provider, credit_risk):
    GroupMapping.objects.create(
        provider=provider, group="attest-validators", role="validator", team=credit_risk
    )
    erin = idp.user("erin@corp.example")["id"]
    frank = idp.user("frank@corp.example")["id"]
    group = idp.post(
        "Groups", {"schemas": [GROUP], "displayName": "attest-validators", "members": [{"value": erin}]}
    )
    assert group.status_code == 201, group.json()
    group_id = group.json()["id"]
    assert _roles(erin) == {"validator"}
    assert _in_team(erin, credit_risk)
    assert _roles(frank) == set()

    # Entra ID's member add and remove forms
    idp.patch(f"Groups/{group_id}", {"op": "Add", "path": "members", "value": [{"value": frank}]})
    assert _roles(frank) == {"validator"}
    assert _in_team(frank, credit_risk)
    idp.patch(f"Groups/{group_id}", {"op": "Remove", "path": "members", "value": [{"value": erin}]})
    assert _roles(erin) == set()
    assert not _in_team(erin, credit_risk)
    # RFC form, and removing someone already gone is harmless
    idp.patch(f"Groups/{group_id}", {"op": "remove", "path": f'members[value eq "{frank}"]'})
    idp.patch(f"Groups/{group_id}", {"op": "remove", "path": f'members[value eq "{frank}"]'})
    assert _roles(frank) == set()
    assert ScimGroup.objects.get(pk=group_id).members.count() == 0
    assert AuditEvent.objects.filter(action="user.roles_changed", auth_method="scim").count() == 4

    listed = idp.get('Groups?filter=displayName eq "Attest-Validators"').json()
    assert [item["id"] for item in listed["Resources"]] == [group_id]
    assert idp.delete(f"Groups/{group_id}").status_code == 204
    assert idp.get(f"Groups/{group_id}").status_code == 404


def test_a_deprovisioned_user_is_locked_out_at_once(idp):
    user_id = idp.user("gina@corp.example")["id"]
    user = User.objects.get(pk=user_id)
    accounts.user_password_set(actor=None, user=user, password=PASSWORD)  # to hold a real session
    browser = Client()
    assert browser.post("/login/", {"username": "gina@corp.example", "password": PASSWORD}).status_code == 302
    assert browser.get("/").status_code == 200
    _token, secret = accounts.token_create(actor=user, name="laptop")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/auth/tokens/").status_code == 200

    response = idp.patch(f"Users/{user_id}", {"op": "Replace", "path": "active", "value": False})

    assert response.status_code == 200
    assert response.json()["active"] is False
    assert api.get("/api/v1/auth/tokens/").status_code == 401
    signed_out = browser.get("/")
    assert signed_out.status_code == 302
    assert signed_out["Location"].startswith("/login/")
    assert not ApiToken.objects.filter(user_id=user_id).exists()
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user_id)]
    event = AuditEvent.objects.get(action="scim.user_deprovisioned")
    assert (event.after["tokens_revoked"], event.after["sessions_ended"]) == (1, 1)
    assert AuditEvent.objects.filter(action="token.revoked", auth_method="scim").count() == 1

    # reactivated: sign-in works again, the revoked token stays revoked
    idp.patch(f"Users/{user_id}", {"op": "Replace", "path": "active", "value": True})
    assert api.get("/api/v1/auth/tokens/").status_code == 401
    assert browser.post("/login/", {"username": "gina@corp.example", "password": PASSWORD}).status_code == 302


def test_delete_deactivates_and_the_client_lets_go(idp):
    user_id = idp.user("hank@corp.example")["id"]
    assert idp.delete(f"Users/{user_id}").status_code == 204
    assert not User.objects.get(pk=user_id).is_active
    _error(idp.get(f"Users/{user_id}"), 404)
    assert AuditEvent.objects.filter(action="scim.user_unlinked").count() == 1
    # provisioned again: the password-less account is adopted, not duplicated
    again = idp.user("hank@corp.example")
    assert again["id"] == user_id
    assert again["active"] is True


def test_accounts_with_a_password_are_never_taken_over(idp, admin_user, maya):
    for user in (admin_user, maya):
        _error(idp.post("Users", {"schemas": [USER], "userName": user.username}), 409, "uniqueness")
    _error(idp.post("Users", {"schemas": [USER], "userName": maya.username.upper()}), 409, "uniqueness")
    assert idp.get(f"Users/{maya.pk}").status_code == 404  # not managed by the client
    assert User.objects.get(pk=maya.pk).is_active


def test_only_a_scim_token_is_accepted(idp, client_and_token, admin_user, maya):
    _error(Client().get("/scim/v2/Users"), 401)
    _error(Client(HTTP_AUTHORIZATION="Bearer attest_scim_wrong").get("/scim/v2/Users"), 401)
    for person in (maya, admin_user):  # a person's API token, an administrator's included
        _token, personal = accounts.token_create(actor=person, name="mine")
        _error(Client(HTTP_AUTHORIZATION=f"Bearer {personal}").get("/scim/v2/Users"), 401)
    session = Client()
    session.force_login(admin_user)
    _error(session.get("/scim/v2/Users"), 401)
    scim.client_revoke(actor=admin_user, client=client_and_token[0])
    _error(idp.get("Users"), 401)


def test_bad_requests_are_scim_errors(idp):
    user_id = idp.user("ivy@corp.example")["id"]
    _error(idp.post("Users", raw="{not json"), 400, "invalidSyntax")
    _error(idp.post("Users", raw="[]"), 400, "invalidSyntax")
    _error(
        idp.post("Users", {"schemas": [USER], "userName": "x@corp.example", "shoeSize": 9}),
        400,
        "invalidSyntax",
    )
    _error(idp.post("Users", {"schemas": [USER], "userName": "has spaces"}), 400, "invalidValue")
    _error(idp.post("Users", {"schemas": [USER], "userName": "ivy@corp.example"}), 409, "uniqueness")
    _error(
        idp.post(
            "Users", {"schemas": [USER], "userName": "j@corp.example", "name": {"givenName": "x" * 151}}
        ),
        400,
    )
    _error(idp.get('Users?filter=userName co "ivy"'), 400, "invalidFilter")
    _error(idp.get('Users?filter=userName eq "a" or userName eq "b"'), 400, "invalidFilter")
    _error(idp.get('Users?filter=displayName eq "Ivy"'), 400, "invalidFilter")
    _error(idp.get("Users?filter=userName eq"), 400, "invalidFilter")
    _error(idp.get('Users?filter=userName eq "a%00b"'), 400, "invalidFilter")  # PostgreSQL cannot hold NUL
    _error(idp.post("Users", raw='{"userName": "ok@corp.example", "name": {"givenName": "a\\u0000b"}}'), 400)
    _error(idp.get('Users?filter=active eq "yes"'), 400, "invalidFilter")
    _error(idp.get("Users?startIndex=first"), 400, "invalidValue")
    _error(
        idp.patch(f"Users/{user_id}", {"op": "replace", "path": "shoeSize", "value": 9}), 400, "invalidPath"
    )
    _error(idp.patch(f"Users/{user_id}", {"op": "remove", "path": "active"}), 400, "mutability")
    _error(idp.patch(f"Users/{user_id}", {"op": "explode", "path": "active"}), 400)
    _error(idp.patch(f"Users/{user_id}", raw="{}"), 400)
    _error(idp.put(f"Users/{user_id}", {"schemas": [USER]}), 400)
    _error(idp.get("Users/999999"), 404)
    _error(idp.get("Users/not-a-number"), 404)
    _error(idp.get("Users/" + "9" * 30), 404)  # beyond a bigint: names nothing, no database error
    _error(idp.get("Users/²"), 404)
    assert idp.get("Users?startIndex=" + "9" * 30).json()["Resources"] == []
    assert idp.get(f'Users?filter=id eq "{"9" * 30}"').json()["totalResults"] == 0
    _error(
        idp.post("Groups", {"schemas": [GROUP], "displayName": "g", "members": [{"value": "999999"}]}), 400
    )
    _error(
        idp.post(
            "Groups",
            {"schemas": [GROUP], "displayName": "g", "members": [{"value": user_id, "type": "Group"}]},
        ),
        400,
    )
    _error(idp.post("Groups", {"schemas": [GROUP]}), 400)
    assert idp.get('Groups?filter=members.value eq "abc"').json()["totalResults"] == 0
    _error(idp.get("Groups/xyz"), 404)
    _error(idp.call("delete", "Users"), 405)
    _error(idp.get("Nothing/here"), 404)
    _error(idp.post(".search", {}), 501)


def test_the_service_declares_what_it_does_not_support(idp):
    config = idp.get("ServiceProviderConfig").json()
    assert config["patch"]["supported"]
    assert config["filter"]["supported"]
    assert not any(config[name]["supported"] for name in ("bulk", "changePassword", "sort", "etag"))
    assert {item["id"] for item in idp.get("ResourceTypes").json()["Resources"]} == {"User", "Group"}
    user_schema = idp.get(f"Schemas/{USER}").json()
    assert {attribute["name"] for attribute in user_schema["attributes"]} == {
        "userName",
        "name",
        "active",
        "emails",
    }


def test_the_token_command_prints_the_token_once(provider, capsys):
    from django.core.management import call_command

    call_command("scim_token", "create", "--name", "okta", "--provider", "corp")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert scim.client_for_token(token).name == "okta"
    call_command("scim_token", "revoke", "--name", "okta")
    assert scim.client_for_token(token) is None


def _id(idp: Scim, username: str) -> str:
    return idp.get(f'Users?filter=userName eq "{username}"').json()["Resources"][0]["id"]


def _roles(user_id) -> set[str]:
    return set(User.objects.get(pk=user_id).groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))


def _in_team(user_id, team) -> bool:
    return team.group.user_set.filter(pk=user_id).exists()


def test_the_admin_console_creates_a_client_showing_its_token_once_and_revokes_it(console, provider):
    response = console.post(
        "/admin/governance/scimclient/add/", {"name": "okta", "provider": provider.pk}, follow=True
    )
    shown = [str(message) for message in response.context["messages"]]
    token = next(message.rsplit(" ", 1)[-1] for message in shown if "shown this once" in message)
    client = scim.client_for_token(token)
    assert client.name == "okta"
    assert AuditEvent.objects.get(action="scim.client_created").actor_username == "admin"
    assert token not in console.get(f"/admin/governance/scimclient/{client.pk}/change/").content.decode()

    console.post(
        "/admin/governance/scimclient/",
        {"action": "revoke", "_selected_action": [client.pk]},
    )
    assert scim.client_for_token(token) is None
    assert AuditEvent.objects.filter(action="scim.client_revoked").count() == 1


def test_a_page_costs_a_fixed_number_of_queries(idp, django_assert_max_num_queries):
    ids = [idp.user(f"p{n}@corp.example", emails=[{"value": f"p{n}@corp.example"}])["id"] for n in range(6)]
    for n in range(3):
        members = [{"value": value} for value in ids[n::3]]
        idp.post("Groups", {"schemas": [GROUP], "displayName": f"group-{n}", "members": members})
    with django_assert_max_num_queries(8):
        assert idp.get("Users").json()["totalResults"] == 6
    with django_assert_max_num_queries(8):
        assert len(idp.get("Groups").json()["Resources"][0]["members"]) == 2
