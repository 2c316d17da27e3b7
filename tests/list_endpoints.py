"""Every list endpoint of the API and every list page of the UI, declared once for tests/test_endpoint_matrix.py.

Each declaration says how to make one row of the listed kind for a team (``seed``), how to find that row in
what the endpoint answers, and who may see it (an ``Audience``, the roles in accounts/access.py put in
test form). The routes themselves are read from the URL resolver, so a new list endpoint fails the matrix
until it is declared here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Team
from audit import checkpoints, record
from audit.models import AuditVerification
from integrations.models import MlflowRegistry, MlflowSync, SiemDestination
from tests.factories import TeamFactory, UserFactory
from tests.factories import records as rows

PERSONAS = ("maya", "victor", "rita", "aaron", "admin_user", "olga")
# The persona each team's rows are made by (and, for the caller's own things, belong to).
TEAM_OWNERS = {"credit-risk": "maya", "fraud": "olga"}
PERSONA_TEAMS = {name: "fraud" if name == "olga" else "credit-risk" for name in PERSONAS}
READ_EVERYTHING = frozenset({"rita", "aaron", "admin_user"})  # risk officer, auditor, administrator
AUDITORS = READ_EVERYTHING  # access.ACTION_ROLES["audit"]
ADMINS = frozenset({"admin_user"})


@dataclass(frozen=True)
class Audience:
    """Who gets which status, and which rows a persona given 200 sees (``sees(persona, row_team)``).

    ``counted_as`` is the persona whose request the query-count check measures: the one whose scope
    takes the most work to compute among those who see credit-risk's rows."""

    sees: Callable[[str, str], bool]
    counted_as: str
    refused: frozenset[str] = frozenset()  # answered 403
    hidden_parent: frozenset[str] = frozenset()  # the URL names an object they may not see: 404


def _team_rows(persona: str, row_team: str) -> bool:
    return persona in READ_EVERYTHING or PERSONA_TEAMS[persona] == row_team


TEAM = Audience(sees=_team_rows, counted_as="maya")
# Nested under a credit-risk object: its rows for whoever may see it (a fraud object's rows are at another
# URL); the outsider is told it does not exist.
TEAM_NESTED = Audience(
    sees=lambda persona, row_team: row_team == "credit-risk",
    counted_as="maya",
    hidden_parent=frozenset({"olga"}),
)
EVERY_ROLE = Audience(sees=lambda persona, row_team: True, counted_as="maya")
OWN = Audience(sees=lambda persona, row_team: TEAM_OWNERS[row_team] == persona, counted_as="maya")
AUDIT = Audience(
    sees=lambda persona, row_team: True, counted_as="aaron", refused=frozenset(PERSONAS) - AUDITORS
)
AUDIT_ROWS = Audience(sees=lambda persona, row_team: persona in AUDITORS, counted_as="aaron")
ADMIN = Audience(
    sees=lambda persona, row_team: True, counted_as="admin_user", refused=frozenset(PERSONAS) - ADMINS
)


class World:
    """Per team: its owner and a model, version, dataset, dataset version and approval request to hang
    rows on (made on first use)."""

    def __init__(self, users: dict[str, object]):
        self.users = users
        self._made: dict[tuple[str, str], object] = {}

    def owner(self, team: str):
        return self.users[TEAM_OWNERS[team]]

    def team(self, team: str) -> Team:
        return Team.objects.get(name=team)

    def _once(self, team: str, what: str, make):
        if (team, what) not in self._made:
            self._made[(team, what)] = make()
        return self._made[(team, what)]

    def model(self, team: str):
        prefix = "cr" if team == "credit-risk" else "fr"
        return self._once(
            team,
            "model",
            lambda: rows.RegisteredModelFactory(
                name=f"{prefix}-scoring", team=self.team(team), owner=self.owner(team)
            ),
        )

    def version(self, team: str):
        return self._once(team, "version", lambda: rows.ModelVersionFactory(model=self.model(team)))

    def dataset(self, team: str):
        prefix = "cr" if team == "credit-risk" else "fr"
        return self._once(
            team,
            "dataset",
            lambda: rows.DatasetFactory(
                name=f"{prefix}-applications", team=self.team(team), owner=self.owner(team)
            ),
        )

    def dataset_version(self, team: str):
        return self._once(
            team, "dataset_version", lambda: rows.DatasetVersionFactory(dataset=self.dataset(team))
        )

    def approval(self, team: str):
        return self._once(
            team, "approval", lambda: rows.ApprovalRequestFactory(model_version=self.version(team))
        )

    def finding(self, team: str):
        return self._once(
            team,
            "finding",
            lambda: rows.FindingFactory(model=self.model(team), model_version=self.version(team)),
        )


Seed = Callable[[World, str], object]


@dataclass(frozen=True)
class Listed:
    """One list endpoint: ``seed(world, team)`` makes a row for ``team``; the row's ``attr`` is the
    ``key`` of its item in the answer (the API) or ``marker(row)`` is a text only its line shows (a page)."""

    seed: Seed
    audience: Audience
    key: str = "id"
    attr: str | None = None
    kwargs: Callable[[World], dict] | None = None
    marker: Callable[[object], str] | None = None
    # a page's query string that shows every row (not a default tab); an API list's, when it is not
    # paginated (its operation refuses page_size, as every undocumented query parameter)
    query: dict[str, str] | None = None

    def ident(self, row) -> object:
        return getattr(row, self.attr or self.key)

    def url(self, name: str, world: World) -> str:
        return reverse(name, kwargs=self.kwargs(world) if self.kwargs else {})


def _team_of_members(world: World, team: str):
    made = TeamFactory()
    made.group.user_set.add(*world.team(team).group.user_set.all())
    return made


def _audit_event(world: World, team: str):
    return record(action="system.worker_ping", actor=world.owner(team), after={"team": team})


def _checkpoint(world: World, team: str):
    _audit_event(world, team)
    return checkpoints.create(force=True)


def _signature(world: World, team: str):
    return rows.SignatureFactory(request=world.approval(team), signer=UserFactory(role="validator"))


# Rows with their optional relations filled, so that a list reading them without select_related or
# prefetch_related shows in the query count.


def _approval(world: World, team: str):
    request = rows.ApprovalRequestFactory(model_version=rows.ModelVersionFactory(model=world.model(team)))
    rows.SignatureFactory(request=request, signer=UserFactory(role="validator"))
    return request


def _check_run(world: World, team: str):
    data = world.dataset_version(team)
    return rows.CheckRunFactory(
        model_version=world.version(team), reference_dataset=data, current_dataset=data
    )


def _red_team_run(world: World, team: str):
    return rows.RedTeamRunFactory(model_version=world.version(team), imported_by=world.owner(team))


def _judged_evaluation(world: World, team: str):
    return rows.JudgedEvaluationFactory(model_version=world.version(team), imported_by=world.owner(team))


def _in_credit_risk_version(world: World) -> dict:
    version = world.version("credit-risk")
    return {"model_name": version.model.name, "version": version.version}


def _plan(world: World, team: str):
    return rows.MonitoringPlanFactory(
        model_version=world.version(team),
        dataset=world.dataset(team),
        reference_dataset=world.dataset_version(team),
    )


def _alert(world: World, team: str):
    return rows.MonitoringAlertFactory(plan=_plan(world, team))


def _review(world: World, team: str):
    review = rows.PeriodicReviewFactory(model=world.model(team))
    review.documents.add(rows.EvidenceDocumentFactory(model_version=world.version(team)))
    return review


def _bundle(world: World, team: str):
    bundle = rows.EvidenceBundleFactory(model_version=world.version(team))
    rows.ReportFactory(model_version=world.version(team), bundle=bundle)
    return bundle


def _finding_plan(world: World, team: str):
    owner = world.owner(team)
    plan = rows.ActionPlanFactory(finding=world.finding(team), owner=owner, created_by=owner)
    rows.MilestoneFactory(plan=plan, done_by=owner)
    return plan


def _finding_extension(world: World, team: str):
    # decided, so that any number of them may exist for one finding (one pending at a time)
    return rows.ExtensionRequestFactory(
        finding=world.finding(team), requested_by=world.owner(team), decided_by=world.users["rita"]
    )


def _in_finding(world: World) -> dict:
    return {"finding_pk": world.finding("credit-risk").pk}


# Keyed by URL name (``api:<basename>-list``). Every router list route must appear here.
def _siem_destination(world: World, team: str) -> SiemDestination:
    return SiemDestination.objects.create(
        name=f"siem-{team}-{SiemDestination.objects.count()}",
        kind=SiemDestination.Kind.SYSLOG,
        host="siem.example.com",
        port=6514,
        created_by=world.users["admin_user"],
    )


def _mlflow_registry(world: World, team: str) -> MlflowRegistry:
    return MlflowRegistry.objects.create(
        name=f"mlflow-{team}-{MlflowRegistry.objects.count()}",
        tracking_uri="https://mlflow.example.com",
        team=world.team(team),
        run_as=world.owner(team),
        secret="not-used-here",
        created_by=world.owner(team),
    )


API: dict[str, Listed] = {
    "api:team-list": Listed(_team_of_members, TEAM, key="name"),
    "api:token-list": Listed(
        lambda world, team: rows.ApiTokenFactory(user=world.owner(team)), OWN, key="token_key"
    ),
    "api:model-list": Listed(
        lambda world, team: rows.RegisteredModelFactory(team=world.team(team), owner=world.owner(team)),
        TEAM,
        key="name",
    ),
    "api:model-version-list": Listed(
        lambda world, team: rows.ModelVersionFactory(model=world.model(team)),
        TEAM_NESTED,
        key="version",
        kwargs=lambda world: {"model_name": world.model("credit-risk").name},
    ),
    "api:model-alias-list": Listed(
        lambda world, team: rows.ModelAliasFactory(version=world.version(team)),
        TEAM_NESTED,
        key="alias",
        attr="name",
        kwargs=lambda world: {"model_name": world.model("credit-risk").name},
        query={},
    ),
    "api:dataset-list": Listed(
        lambda world, team: rows.DatasetFactory(team=world.team(team), owner=world.owner(team)),
        TEAM,
        key="name",
    ),
    "api:dataset-version-list": Listed(
        lambda world, team: rows.DatasetVersionFactory(dataset=world.dataset(team)),
        TEAM_NESTED,
        key="version",
        kwargs=lambda world: {"dataset_name": world.dataset("credit-risk").name},
    ),
    "api:tiering-rule-list": Listed(lambda world, team: rows.TieringRuleFactory(), EVERY_ROLE, key="version"),
    "api:tier-change-list": Listed(
        # one pending change per model: each on a model of its own
        lambda world, team: rows.TierChangeFactory(
            model=rows.RegisteredModelFactory(team=world.team(team), owner=world.owner(team))
        ),
        TEAM,
    ),
    "api:check-run-list": Listed(_check_run, TEAM),
    "api:red-team-run-list": Listed(_red_team_run, TEAM_NESTED, kwargs=_in_credit_risk_version),
    "api:judged-evaluation-list": Listed(_judged_evaluation, TEAM_NESTED, kwargs=_in_credit_risk_version),
    "api:monitoring-plan-list": Listed(_plan, TEAM),
    "api:monitoring-alert-list": Listed(_alert, TEAM),
    "api:policy-list": Listed(lambda world, team: rows.PolicyFactory(), EVERY_ROLE),
    "api:control-list": Listed(lambda world, team: rows.ControlFactory(), EVERY_ROLE),
    "api:evidence-list": Listed(
        lambda world, team: rows.EvidenceDocumentFactory(model_version=world.version(team)), TEAM
    ),
    "api:approval-list": Listed(_approval, TEAM),
    "api:signature-list": Listed(
        _signature,
        TEAM_NESTED,
        kwargs=lambda world: {"approval_pk": world.approval("credit-risk").pk},
        query={},
    ),
    "api:finding-list": Listed(
        lambda world, team: rows.FindingFactory(model=world.model(team), model_version=world.version(team)),
        TEAM,
    ),
    "api:finding-comment-list": Listed(
        lambda world, team: rows.FindingCommentFactory(finding=world.finding(team), author=world.owner(team)),
        TEAM_NESTED,
        kwargs=_in_finding,
    ),
    "api:finding-action-plan-list": Listed(_finding_plan, TEAM_NESTED, kwargs=_in_finding),
    "api:finding-extension-list": Listed(_finding_extension, TEAM_NESTED, kwargs=_in_finding),
    "api:finding-attachment-list": Listed(
        lambda world, team: rows.FindingAttachmentFactory(
            finding=world.finding(team), uploaded_by=world.owner(team)
        ),
        TEAM_NESTED,
        kwargs=_in_finding,
    ),
    "api:deployment-list": Listed(
        lambda world, team: rows.DeploymentFactory(
            model_version=world.version(team), approval=world.approval(team)
        ),
        TEAM,
    ),
    "api:review-list": Listed(_review, TEAM),
    "api:grant-list": Listed(
        lambda world, team: rows.GrantFactory(
            user=UserFactory(), model=world.model(team), granted_by=world.users["admin_user"]
        ),
        ADMIN,
    ),
    "api:webhook-list": Listed(
        lambda world, team: rows.WebhookEndpointFactory(created_by=world.owner(team), team=world.team(team)),
        ADMIN,
    ),
    "api:grc-connector-list": Listed(
        lambda world, team: rows.GrcConnectorFactory(created_by=world.owner(team)), ADMIN
    ),
    "api:audit-event-list": Listed(_audit_event, AUDIT, key="seq"),
    "api:audit-checkpoint-list": Listed(_checkpoint, AUDIT, key="number"),
    "api:audit-verification-list": Listed(
        lambda world, team: AuditVerification.objects.create(requested_by=world.owner(team)), AUDIT
    ),
    "api:report-list": Listed(
        lambda world, team: rows.ReportFactory(model_version=world.version(team)), TEAM
    ),
    "api:evidence-bundle-list": Listed(_bundle, AUDIT_ROWS),
    "api:mlflow-registry-list": Listed(_mlflow_registry, TEAM, key="name"),
    "api:siem-destination-list": Listed(_siem_destination, ADMIN, key="name"),
    "api:notification-list": Listed(
        lambda world, team: rows.NotificationFactory(recipient=world.owner(team)), OWN
    ),
    "api:mlflow-sync-list": Listed(
        lambda world, team: MlflowSync.objects.create(
            registry=_mlflow_registry(world, team), requested_by=world.owner(team)
        ),
        TEAM,
    ),
}


def _link(name: str, *attrs: str) -> Callable[[object], str]:
    return lambda row: reverse(name, args=[getattr(row, attr) for attr in attrs])


# UI list pages, keyed by URL name; a row's marker is the link to its detail page.
PAGES: dict[str, Listed] = {
    "model-list": Listed(API["api:model-list"].seed, TEAM, marker=_link("model-detail", "name")),
    "dataset-list": Listed(API["api:dataset-list"].seed, TEAM, marker=_link("dataset-detail", "name")),
    "check-list": Listed(API["api:check-run-list"].seed, TEAM, marker=_link("check-detail", "pk")),
    "report-list": Listed(API["api:report-list"].seed, TEAM, marker=_link("report-detail", "pk")),
    "approval-list": Listed(
        API["api:approval-list"].seed, TEAM, marker=_link("approval-detail", "pk"), query={"tab": "all"}
    ),
    "finding-list": Listed(API["api:finding-list"].seed, TEAM, marker=_link("finding-detail", "pk")),
    "monitoring-alert-list": Listed(_alert, TEAM, marker=_link("monitoring-alert-detail", "pk")),
    "monitoring-plan-list": Listed(_plan, TEAM, marker=_link("monitoring-plan-detail", "pk")),
    "token-list": Listed(API["api:token-list"].seed, OWN, marker=_link("token-revoke", "token_key")),
    "notification-list": Listed(
        API["api:notification-list"].seed,
        OWN,
        marker=lambda row: f'id="notification-{row.pk}"',
        query={"show": "all"},
    ),
    "audit-log": Listed(_audit_event, AUDIT, marker=lambda event: f"of event #{event.seq}</span>"),
}
# UI list pages not named ``*-list`` (the resolver cannot tell them apart from other pages).
EXTRA_PAGES = frozenset({"audit-log"})
# List routes no test can seed, with the reason (route name → why). Empty: every listed kind has a factory
# in tests/factories/records.py; keep it that way rather than growing this.
NOT_SEEDED: dict[str, str] = {}


def list_route_names() -> tuple[set[str], set[str]]:
    """(API list route names, UI list page names) as the URL resolver has them."""
    api: set[str] = set()
    pages: set[str] = set()
    for name, prefix in _walk(get_resolver()):
        if name.endswith("-list") and prefix.startswith("api/v1/"):
            api.add(f"api:{name}")
        elif name.endswith("-list") and not prefix.startswith(("api/", "admin/")):
            pages.add(name)
    return api, pages | EXTRA_PAGES


def _walk(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern, route)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name, route
