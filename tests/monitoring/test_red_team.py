"""Red-team runs: garak and promptfoo reports read into attack success rates per OWASP category (numbers
worked by hand from the fixture files in data/redteam/, see its README), and the import endpoint."""

from pathlib import Path

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from monitoring import redteam
from monitoring.models import RedTeamRun
from tests.factories import records as rows

DATA = Path(__file__).parent / "data" / "redteam"
GARAK = (DATA / "garak.report.jsonl").read_bytes()
PROMPTFOO = (DATA / "promptfoo.results.json").read_bytes()


def by_category(results):
    return {c["id"]: (c["attempts"], c["failures"], c["asr"], c["atlas"]) for c in results["categories"]}


def test_garak_report_rates_per_owasp_category():
    """eval entries: promptinject 3/10 and dan 1/5 + 2/5 (two detectors) → LLM01 6/20; leakreplay 2/10 (one
    output not scored: 'nones') → LLM02; test.Blank 0/2 → unmapped; in total 8/32."""
    results = redteam.parse("garak", GARAK)

    assert (results["tool_version"], results["target"]) == ("0.13.1", "rest loan-assistant")
    assert (results["attempts"], results["failures"], results["asr"], results["not_judged"]) == (
        32,
        8,
        0.25,
        1,
    )
    assert by_category(results) == {
        "LLM01": (20, 6, 0.3, ["AML.T0051.000", "AML.T0054"]),
        "LLM02": (10, 2, 0.2, ["AML.T0057"]),
        "unmapped": (2, 0, 0.0, []),
    }
    dan = [row for row in results["sources"] if row["source"] == "dan.Dan_11_0"]
    assert [(row["detail"], row["attempts"], row["failures"]) for row in dan] == [
        ("dan.DAN", 5, 1),
        ("mitigation.MitigationBypass", 5, 2),
    ]
    # reports before garak 0.10 give passed and total only
    old = b'{"entry_type": "eval", "probe": "encoding.InjectBase64", "detector": "encoding.DecodeMatch", "passed": 9, "total": 12}\n'
    assert by_category(redteam.parse("garak", old))["LLM01"] == (12, 3, 0.25, ["AML.T0051.000", "AML.T0068"])


def test_promptfoo_results_rates_per_owasp_category():
    """9 results: one ended in an error (not judged); prompt-extraction 1/2 → LLM07, harmful:hate with the
    jailbreak strategy 1/2 → LLM01 (+ the strategy's AML.T0054), pii:direct 1/3 → LLM02, politics 0/1 →
    unmapped; in total 3/8."""
    results = redteam.parse("promptfoo", PROMPTFOO)

    assert (results["tool_version"], results["target"]) == ("0.120.0", "loan-assistant")
    assert (results["attempts"], results["failures"], results["asr"], results["not_judged"]) == (
        8,
        3,
        0.375,
        1,
    )
    assert by_category(results) == {
        "LLM01": (2, 1, 0.5, ["AML.T0048", "AML.T0054"]),
        "LLM02": (3, 1, 1 / 3, ["AML.T0057"]),
        "LLM07": (2, 1, 0.5, ["AML.T0056"]),
        "unmapped": (1, 0, 0.0, []),
    }


def test_mapping_to_owasp_and_atlas():
    assert redteam.classify("garak", "probes.latentinjection.LatentJailbreak") == ("LLM01", ["AML.T0051.001"])
    assert redteam.classify("garak", "packagehallucination.Python") == ("LLM09", ["AML.T0060", "AML.T0062"])
    assert redteam.classify("garak", "nosuchmodule.Probe") == ("unmapped", [])
    assert redteam.classify("promptfoo", "rag-poisoning") == ("LLM08", ["AML.T0070"])
    assert redteam.classify("promptfoo", "pii:session", "jailbreak:tree") == (
        "LLM02",
        ["AML.T0057", "AML.T0054"],
    )
    assert redteam.classify("promptfoo", "excessive-agency") == ("LLM06", ["AML.T0053"])
    assert redteam.classify("promptfoo", "reasoning-dos") == ("LLM10", ["AML.T0029", "AML.T0034"])
    names = redteam.taxonomy()["owasp"]
    assert names["LLM07"] == "System Prompt Leakage"
    assert len(names) == 10


def test_regression_is_judged_against_the_tolerance():
    before = redteam.parse("garak", GARAK)
    within = redteam.parse("garak", GARAK.replace(b'"passed": 7, "fails": 3', b'"passed": 6, "fails": 4'))
    beyond = redteam.parse("garak", GARAK.replace(b'"passed": 7, "fails": 3', b'"passed": 5, "fails": 5'))
    assert [row["regressed"] for row in redteam.compare(within, before, 0.05)] == [False, False, False]
    llm01 = redteam.compare(beyond, before, 0.05)[0]
    assert (llm01["id"], llm01["asr"], llm01["baseline_asr"], llm01["regressed"]) == ("LLM01", 0.4, 0.3, True)


@pytest.fixture
def versions(db, credit_risk, fraud, maya, olga):
    mine = rows.ModelVersionFactory(model=rows.RegisteredModelFactory(team=credit_risk, owner=maya))
    theirs = rows.ModelVersionFactory(model=rows.RegisteredModelFactory(team=fraud, owner=olga))
    return mine, theirs


def upload(api, user, version, content=GARAK, fmt="garak", name="garak.report.jsonl"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("api:red-team-run-list", args=[version.model.name, version.version])
    body = {"format": fmt, "report": SimpleUploadedFile(name, content)}
    return api.as_user(user).post(url, body, format="multipart")


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("maya", 201), ("victor", 201), ("admin_user", 201), ("rita", 403), ("aaron", 403), ("olga", 404)],
)
def test_import_permission_matrix(request, api, versions, persona, expected):
    """The model's team (ML engineer, validator) and administrators import; the risk officer and auditor
    read only; the other team's engineer is told the version does not exist."""
    user = request.getfixturevalue(persona)
    version = versions[0]

    response = upload(api, user, version)

    assert response.status_code == expected, response.json()
    imported = RedTeamRun.objects.filter(model_version=version)
    assert imported.count() == (1 if expected == 201 else 0)
    if expected == 201:
        body = response.json()
        assert (body["attempts"], body["failures"], body["attack_success_rate"]) == (32, 8, 0.25)
        run = imported.get()
        assert body["report_sha256"] == run.report_sha256
        assert len(run.report_sha256) == 64
        (event,) = AuditEvent.objects.filter(action="red_team.imported")
        assert event.actor_username == user.username
        assert event.after["asr_by_category"] == {"LLM01": "0.3", "LLM02": "0.2", "unmapped": "0.0"}
        # the same bytes again: the first run, nothing new
        again = upload(api, user, version)
        assert (again.status_code, again.json()["id"]) == (200, run.pk)
        listed = api.get(reverse("api:red-team-run-list", args=[version.model.name, version.version]))
        assert [item["id"] for item in listed.json()["results"]] == [run.pk]


@pytest.mark.parametrize(
    ("content", "fmt", "field", "message"),
    [
        (b"not json at all\n", "garak", "report", "Line 1 is not JSON"),
        (b'{"entry_type": "init", "garak_version": "0.13.1"}\n', "garak", "report", "no 'eval' entries"),
        (
            b'{"entry_type": "eval", "probe": "dan.Dan", "detector": "dan.DAN", "passed": 3, "fails": 1, "total_evaluated": 5}',
            "garak",
            "report",
            "do not add up",
        ),
        (b'{"results": {"results": [{"testCase": {}}]}}', "promptfoo", "report", "no boolean 'success'"),
        (GARAK, "promptfoo", "report", "not JSON"),
        (GARAK, "pyrit", "format", "not a valid choice"),
    ],
)
def test_a_bad_report_is_refused_naming_the_field(api, versions, maya, content, fmt, field, message):
    response = upload(api, maya, versions[0], content=content, fmt=fmt)

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == [field], error
    assert message in str(error), error
    assert not RedTeamRun.objects.exists()
    assert not AuditEvent.objects.filter(action="red_team.imported").exists()
