"""The permission matrix of every governance endpoint, persona by persona.

maya owns the model and made the request; carl is her colleague (same team, same role); victor the team's
validator; olga the outsider (fraud team: 404, as if nothing existed); aaron the auditor and rita the
risk officer read everything; admin administers; anonymous callers get 401.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Grant
from accounts.services import grants as grant_services
from tests.factories import PASSWORD, UserFactory
from tests.monitoring.factories import make_model, make_version
from tests.workflow.helpers import TO_PRODUCTION, move_model, request_approval
from workflow.models import Policy
from workflow.services import findings as finding_services
from workflow.services import gate as gate_services

pytestmark = pytest.mark.django_db
READERS = ("maya", "carl", "victor", "aaron", "rita", "admin")
EVERYONE = (*READERS, "olga", "anonymous")


@pytest.fixture
def personas(maya, victor, olga, aaron, rita, admin_user, credit_risk):
    carl = UserFactory(username="carl", role="ml-engineer", teams=[credit_risk])
    return {
        "maya": maya,
        "carl": carl,
        "victor": victor,
        "olga": olga,
        "aaron": aaron,
        "rita": rita,
        "admin": admin_user,
        "anonymous": None,
    }


@pytest.fixture
def world(api, personas, quick_ready_version):
    """One of everything on the credit-risk model: evidence, a pending request, a finding, a deployment."""
    maya, victor = personas["maya"], personas["victor"]
    approval = request_approval(api, maya, quick_ready_version).json()
    finding = finding_services.finding_raise(
        actor=victor, model=quick_ready_version.model, severity="low", title="Style"
    )
    deployment = gate_services.deployment_record(actor=maya, version=quick_ready_version, environment="dev")
    return {
        "version": quick_ready_version,
        "evidence": quick_ready_version.evidence.first().pk,
        "approval": approval["id"],
        "finding": finding.pk,
        "deployment": deployment.pk,
        "policy": Policy.objects.get(tier=1, is_active=True).pk,
    }


def statuses(api, personas, names, method: str, url: str, body=None, **kwargs) -> dict[str, int]:
    """``{persona: status}`` for the same call made by each persona in ``names``, in that order."""
    answers = {}
    for name in names:
        client = api.as_user(personas[name])
        payload = body(name) if callable(body) else body
        answers[name] = getattr(client, method)(url, payload, **kwargs).status_code
    return answers


def listed(api, personas, url: str, **query) -> dict[str, int | str]:
    """How many rows each persona sees in a list (401 for anonymous callers)."""
    counts = {}
    for name in EVERYONE:
        response = api.as_user(personas[name]).get(url, query)
        counts[name] = response.json()["count"] if response.status_code == 200 else response.status_code
    return counts


def everyone_but_outsider(status: int = 200) -> dict[str, int]:
    return {**dict.fromkeys(READERS, status), "olga": 404, "anonymous": 401}


def test_policies_and_controls_are_read_by_every_role_and_written_by_administrators(api, personas, world):
    reference_data = {**dict.fromkeys((*READERS, "olga"), 200), "anonymous": 401}
    policy = reverse("api:policy-detail", args=[world["policy"]])
    for url in (reverse("api:policy-list"), policy, reverse("api:control-list")):
        assert statuses(api, personas, EVERYONE, "get", url) == reference_data, url

    body = api.as_user(personas["admin"]).get(policy).json()
    body = {key: body[key] for key in ("tier", "name", "required_checks", "stages", "gated_environments")}
    writers = ("maya", "carl", "victor", "aaron", "rita", "olga", "anonymous", "admin")
    assert statuses(api, personas, writers, "post", reverse("api:policy-list"), body, format="json") == {
        **dict.fromkeys(("maya", "carl", "victor", "aaron", "rita", "olga"), 403),
        "anonymous": 401,
        "admin": 201,
    }


def test_the_gap_report_and_the_gate_follow_the_model_s_visibility(api, personas, world):
    query = {"model": "credit-scoring", "version": 1}
    coverage = reverse("api:control-coverage")
    assert statuses(api, personas, EVERYONE, "get", coverage, query) == everyone_but_outsider()
    gate = reverse("api:gate")
    assert statuses(api, personas, EVERYONE, "get", gate, {**query, "environment": "production"}) == (
        everyone_but_outsider()
    )


def test_evidence_is_read_by_the_team_and_readers_and_added_by_its_engineers_and_validators(
    api, personas, world
):
    detail = reverse("api:evidence-detail", args=[world["evidence"]])
    download = reverse("api:evidence-download", args=[world["evidence"]])
    assert listed(api, personas, reverse("api:evidence-list")) == {
        **dict.fromkeys(READERS, 3),
        "olga": 0,
        "anonymous": 401,
    }
    assert statuses(api, personas, EVERYONE, "get", detail) == everyone_but_outsider()
    assert statuses(api, personas, EVERYONE, "get", download) == everyone_but_outsider()

    def upload(name):
        content = f"memo by {name}".encode()
        file = SimpleUploadedFile("memo.txt", content)
        return {"model": "credit-scoring", "version": 1, "evidence_type": "other", "file": file}

    order = ("victor", "aaron", "rita", "olga", "anonymous", "maya", "carl", "admin")
    answers = statuses(api, personas, order, "post", reverse("api:evidence-list"), upload, format="multipart")
    assert answers == {
        **dict.fromkeys(("aaron", "rita"), 403),
        "olga": 404,
        "anonymous": 401,
        **dict.fromkeys(("victor", "maya", "carl", "admin"), 201),
    }


def test_approvals_are_requested_by_engineers_and_withdrawn_by_their_requester(api, personas, world):
    detail = reverse("api:approval-detail", args=[world["approval"]])
    assert listed(api, personas, reverse("api:approval-list")) == {
        **dict.fromkeys(READERS, 1),
        "olga": 0,
        "anonymous": 401,
    }
    assert statuses(api, personas, EVERYONE, "get", detail) == everyone_but_outsider()

    staging = {"model": "credit-scoring", "version": 1, "environment": "staging"}
    order = ("victor", "aaron", "rita", "olga", "anonymous", "carl", "admin")
    assert statuses(api, personas, order, "post", reverse("api:approval-list"), staging, format="json") == {
        **dict.fromkeys(("victor", "aaron", "rita"), 403),
        "olga": 404,
        "anonymous": 401,
        "carl": 201,
        "admin": 409,  # allowed to request, but carl's staging request is already pending
    }

    cancel = reverse("api:approval-cancel", args=[world["approval"]])
    order = ("carl", "victor", "aaron", "rita", "olga", "anonymous", "maya")
    assert statuses(api, personas, order, "post", cancel, {"reason": "Withdrawn."}, format="json") == {
        **dict.fromkeys(("carl", "victor", "aaron", "rita"), 403),
        "olga": 404,
        "anonymous": 401,
        "maya": 200,
    }


def test_an_administrator_may_withdraw_anyone_s_request(api, personas, world):
    cancel = reverse("api:approval-cancel", args=[world["approval"]])
    response = api.as_user(personas["admin"]).post(cancel, {"reason": "Superseded."}, format="json")

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")


def test_signatures_are_listed_with_their_request_and_made_by_the_stage_s_role(api, personas, world):
    url = reverse("api:signature-list", args=[world["approval"]])
    assert statuses(api, personas, EVERYONE, "get", url) == everyone_but_outsider()

    def body(name):
        return {"decision": "approve", "meaning": "review", "password": PASSWORD}

    order = ("maya", "carl", "aaron", "rita", "olga", "anonymous", "victor")
    assert statuses(api, personas, order, "post", url, body, format="json") == {
        **dict.fromkeys(("maya", "carl", "aaron", "rita"), 403),
        "olga": 404,
        "anonymous": 401,
        "victor": 201,
    }


def test_findings_are_raised_by_second_line_roles_and_moved_by_the_team(api, personas, world):
    detail = reverse("api:finding-detail", args=[world["finding"]])
    assert listed(api, personas, reverse("api:finding-list")) == {
        **dict.fromkeys(READERS, 1),
        "olga": 0,
        "anonymous": 401,
    }
    assert statuses(api, personas, EVERYONE, "get", detail) == everyone_but_outsider()

    finding = {"model": "credit-scoring", "severity": "low", "title": "Naming"}
    order = ("maya", "carl", "aaron", "olga", "anonymous", "victor", "rita", "admin")
    assert statuses(api, personas, order, "post", reverse("api:finding-list"), finding, format="json") == {
        **dict.fromkeys(("maya", "carl", "aaron"), 403),
        "olga": 404,
        "anonymous": 401,
        **dict.fromkeys(("victor", "rita", "admin"), 201),
    }

    move = reverse("api:finding-change-status", args=[world["finding"]])
    remediated = {"status": "remediated", "resolution": "Renamed."}
    order = ("aaron", "olga", "anonymous", "carl")
    assert statuses(api, personas, order, "post", move, remediated, format="json") == {
        "aaron": 403,
        "olga": 404,
        "anonymous": 401,
        "carl": 200,
    }


def test_deployments_are_recorded_and_rolled_back_by_the_team_s_engineers(api, personas, world):
    detail = reverse("api:deployment-detail", args=[world["deployment"]])
    assert listed(api, personas, reverse("api:deployment-list")) == {
        **dict.fromkeys(READERS, 1),
        "olga": 0,
        "anonymous": 401,
    }
    assert statuses(api, personas, EVERYONE, "get", detail) == everyone_but_outsider()

    dev = {"model": "credit-scoring", "version": 1, "environment": "dev", "strategy": "shadow"}
    order = ("victor", "aaron", "rita", "olga", "anonymous", "maya", "carl", "admin")
    assert statuses(api, personas, order, "post", reverse("api:deployment-list"), dev, format="json") == {
        **dict.fromkeys(("victor", "aaron", "rita"), 403),
        "olga": 404,
        "anonymous": 401,
        **dict.fromkeys(("maya", "carl", "admin"), 201),
    }

    rollback = reverse("api:deployment-rollback", args=[world["deployment"]])
    order = ("victor", "aaron", "rita", "olga", "anonymous", "carl")
    assert statuses(api, personas, order, "post", rollback, {"reason": "Noisy."}, format="json") == {
        **dict.fromkeys(("victor", "aaron", "rita"), 403),
        "olga": 404,
        "anonymous": 401,
        "carl": 200,
    }


def test_a_review_is_cleared_by_the_team_s_validator_or_an_administrator(api, personas, world):
    move_model(personas["admin"], world["version"].model, *TO_PRODUCTION, "under_review")
    url = reverse("api:review-clear")
    body = {"model": "credit-scoring", "reason": "Investigated."}

    order = ("maya", "carl", "aaron", "rita", "olga", "anonymous", "victor")
    assert statuses(api, personas, order, "post", url, body, format="json") == {
        **dict.fromkeys(("maya", "carl", "aaron", "rita"), 403),
        "olga": 404,
        "anonymous": 401,
        "victor": 200,
    }
    move_model(personas["admin"], world["version"].model, "under_review")
    assert api.as_user(personas["admin"]).post(url, body, format="json").status_code == 200


def test_webhooks_are_for_administrators_only(api, personas, world):
    url = reverse("api:webhook-list")
    assert statuses(api, personas, EVERYONE, "get", url) == {
        **dict.fromkeys(("maya", "carl", "victor", "aaron", "rita", "olga"), 403),
        "admin": 200,
        "anonymous": 401,
    }
    body = {"url": "https://hooks.example.com/"}
    order = ("maya", "carl", "victor", "aaron", "rita", "olga", "anonymous", "admin")
    assert statuses(api, personas, order, "post", url, body, format="json") == {
        **dict.fromkeys(("maya", "carl", "victor", "aaron", "rita", "olga"), 403),
        "anonymous": 401,
        "admin": 201,
    }


def test_totp_enrolment_is_for_every_signed_in_user(api, personas, world):
    url = reverse("api:auth-totp")
    assert statuses(api, personas, EVERYONE, "get", url) == {
        **dict.fromkeys((*READERS, "olga"), 200),
        "anonymous": 401,
    }
    assert statuses(api, personas, ("anonymous", "olga"), "post", url, {}, format="json") == {
        "anonymous": 401,
        "olga": 201,
    }


# --- grantees: gita (ML engineer, team fraud) holds a grant on credit-scoring only ----------------------


@pytest.fixture
def gita(personas, world, fraud):
    """An ML engineer of another team with a view grant on credit-scoring, none on the team's other models."""
    gita = UserFactory(username="gita", role="ml-engineer", teams=[fraud])
    grant_services.grant_create(
        actor=personas["admin"], subject=gita, obj=world["version"].model, level="view", reason="Peer review."
    )
    personas["gita"] = gita
    return gita


def regrant(personas, user, model, level: str) -> None:
    for held in Grant.objects.filter(user=user, model=model):
        grant_services.grant_revoke(actor=personas["admin"], grant=held, reason="Level changes.")
    grant_services.grant_create(
        actor=personas["admin"], subject=user, obj=model, level=level, reason=f"{level} for the release."
    )


def test_a_grantee_reads_every_governance_record_of_the_granted_model(
    api, personas, world, gita, maya, victor
):
    other = make_model(maya, world["version"].model.team, name="pd-retail")
    make_version(maya, other, b"pd artifact", filename="model.bin")
    finding_services.finding_raise(actor=victor, model=other, severity="low", title="Not hers")
    client = api.as_user(gita)
    counts = {
        name: client.get(reverse(f"api:{name}-list")).json()["count"]
        for name in ("evidence", "approval", "finding", "deployment")
    }
    assert counts == {"evidence": 3, "approval": 1, "finding": 1, "deployment": 1}
    urls = [
        reverse("api:evidence-detail", args=[world["evidence"]]),
        reverse("api:evidence-download", args=[world["evidence"]]),
        reverse("api:approval-detail", args=[world["approval"]]),
        reverse("api:signature-list", args=[world["approval"]]),
        reverse("api:finding-detail", args=[world["finding"]]),
        reverse("api:deployment-detail", args=[world["deployment"]]),
    ]
    assert [client.get(url).status_code for url in urls] == [200] * len(urls)
    query = {"model": "credit-scoring", "version": 1}
    assert client.get(reverse("api:control-coverage"), query).status_code == 200
    assert client.get(reverse("api:gate"), {**query, "environment": "production"}).status_code == 200
    other_gate = {"model": "pd-retail", "version": 1, "environment": "dev"}
    assert client.get(reverse("api:gate"), other_gate).status_code == 404
    assert api.as_user(maya).get(reverse("api:gate"), other_gate).status_code == 200


def test_a_view_grant_conveys_no_write(api, personas, world, gita):
    version = {"model": "credit-scoring", "version": 1}
    memo = {**version, "evidence_type": "other", "file": SimpleUploadedFile("memo.txt", b"gita's memo")}
    client = api.as_user(gita)
    calls = {
        "evidence": client.post(reverse("api:evidence-list"), memo, format="multipart"),
        "approval": client.post(
            reverse("api:approval-list"), {**version, "environment": "staging"}, format="json"
        ),
        "deployment": client.post(
            reverse("api:deployment-list"), {**version, "environment": "dev"}, format="json"
        ),
        "cancel": client.post(
            reverse("api:approval-cancel", args=[world["approval"]]), {"reason": "No."}, format="json"
        ),
        "sign": client.post(
            reverse("api:signature-list", args=[world["approval"]]),
            {"decision": "approve", "meaning": "review", "password": PASSWORD},
            format="json",
        ),
    }
    assert {name: response.status_code for name, response in calls.items()} == dict.fromkeys(calls, 403)


def test_a_change_grant_lets_the_grantee_work_as_the_team_but_never_sign(api, personas, world, gita):
    regrant(personas, gita, world["version"].model, "change")
    version = {"model": "credit-scoring", "version": 1}
    memo = {**version, "evidence_type": "other", "file": SimpleUploadedFile("memo.txt", b"gita's memo")}
    client = api.as_user(gita)
    answers = {
        "evidence": client.post(reverse("api:evidence-list"), memo, format="multipart").status_code,
        "approval": client.post(
            reverse("api:approval-list"), {**version, "environment": "staging"}, format="json"
        ).status_code,
        "deployment": client.post(
            reverse("api:deployment-list"), {**version, "environment": "dev"}, format="json"
        ).status_code,
        "finding": client.post(
            reverse("api:finding-list"),
            {"model": "credit-scoring", "severity": "low", "title": "x"},
            format="json",
        ).status_code,
        "sign": client.post(
            reverse("api:signature-list", args=[world["approval"]]),
            {"decision": "approve", "meaning": "review", "password": PASSWORD},
            format="json",
        ).status_code,
    }
    # Findings are raised by the second line and signatures by the stage's role: not an ML engineer's.
    assert answers == {"evidence": 201, "approval": 201, "deployment": 201, "finding": 403, "sign": 403}


def test_a_validator_of_another_team_may_not_sign_through_a_grant(api, personas, world, fraud):
    vera = UserFactory(username="vera", role="validator", teams=[fraud])
    regrant(personas, vera, world["version"].model, "change")
    url = reverse("api:signature-list", args=[world["approval"]])
    body = {"decision": "approve", "meaning": "review", "password": PASSWORD}

    assert api.as_user(vera).get(url).status_code == 200
    response = api.as_user(vera).post(url, body, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_team_signer"
