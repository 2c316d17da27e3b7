"""The admin console's policy editor: rows instead of JSON, the change in words before it is saved, the
service's errors on the row they name, and every save a new audited version through the service.

Personas (tests/conftest.py): admin (administrator, staff); maya (ml-engineer, no console access); a
staff validator stands for someone let into the console without the administrator role.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils.text import capfirst

from audit.models import AuditEvent
from tests.factories import UserFactory
from workflow.admin_policy_changes import describe_changes
from workflow.admin_policy_forms import KIND_LABELS, metric_label, rules_of
from workflow.models import Policy
from workflow.services.policies import policy_create_version

pytestmark = pytest.mark.django_db


def change_url(policy: Policy) -> str:
    return reverse("admin:workflow_policy_change", args=[policy.pk])


def form_data(editor) -> dict:
    """What the browser would post for the editor as shown (every row, the blank ones included)."""
    formsets = (editor.stages, editor.checks, editor.environments)
    forms = [
        editor.scalar,
        *(fs.management_form for fs in formsets),
        *(f for fs in formsets for f in fs.forms),
    ]
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False or value == []:
                continue
            data[field.html_name] = "on" if value is True else value
    return data


def shown_editor(console, url: str):
    response = console.get(url)
    assert response.status_code == 200
    return response.context["editor"]


def preview(console, url: str, data: dict):
    return console.post(url, {**data, "_preview": "Preview the change"})


def change_lines(response) -> list[str]:
    return [text for topic in response.context["topics"] for _, text in topic.lines]


def test_it_saves_an_added_check_as_a_new_active_version_after_the_preview(console, admin_user):
    """GIVEN the tier 3 policy (one ROC AUC check)
    WHEN the administrator adds a fairness bound in the blank row, previews and confirms
    THEN version 2 is active with the new check, version 1 is kept, and the change is audited."""
    old = Policy.objects.get(tier=3, is_active=True)
    editor = shown_editor(console, change_url(old))
    data = form_data(editor)
    blank = len(editor.checks.forms) - 1
    data.update(
        {
            f"check-{blank}-kind": "fairness",
            f"check-{blank}-metric": "demographic_parity_ratio",
            f"check-{blank}-min": "0.8",
            "approval_valid_months": "6",
        }
    )

    shown = preview(console, change_url(old), data)

    assert shown.status_code == 200
    assert shown.templates[0].name == "governance/admin/policy_preview.html"
    assert change_lines(shown) == [
        "Approval will need a fairness check with demographic parity ratio at least 0.8.",
        "Approvals last 6 months (was 36).",
    ]
    assert Policy.objects.filter(tier=3).count() == 1  # nothing saved by a preview
    assert b"Save as version 2" in shown.content

    saved = console.post(
        change_url(old),
        {"rules_json": shown.context["rules_json"], "active_version": "1", "_confirm": "Save as version 2"},
    )

    new = Policy.objects.get(tier=3, is_active=True)
    assert saved.status_code == 302
    assert saved["Location"] == change_url(new)
    assert (new.version, new.created_by, new.approval_valid_months) == (2, admin_user, 6)
    assert new.required_checks == [
        *old.required_checks,
        {"kind": "fairness", "metric": "demographic_parity_ratio", "min": 0.8},
    ]
    assert (new.stages, new.gated_environments) == (old.stages, old.gated_environments)
    kept = Policy.objects.get(pk=old.pk)
    assert (kept.is_active, kept.approval_valid_months) == (False, 36)
    actions = set(AuditEvent.objects.filter(object_id=str(new.pk)).values_list("action", flat=True))
    # the service's actions, no generic admin.changed
    assert actions == {"policy.created", "policy.activated"}


def test_it_shows_the_new_version_in_the_editor_after_saving(console):
    old = Policy.objects.get(tier=3, is_active=True)
    data = form_data(shown_editor(console, change_url(old)))
    shown = preview(console, change_url(old), {**data, "name": "Tier 3, renamed"})
    saved = console.post(
        change_url(old), {"rules_json": shown.context["rules_json"], "active_version": "1", "_confirm": "1"}
    )
    page = console.get(saved["Location"])
    assert b"Saved as" in page.content
    assert page.context["editor"].scalar["name"].value() == "Tier 3, renamed"


def test_it_puts_a_repeated_stage_key_on_the_row_that_repeats_it(console):
    old = Policy.objects.get(tier=3, is_active=True)
    editor = shown_editor(console, change_url(old))
    data = form_data(editor)
    blank = len(editor.stages.forms) - 1
    data.update(
        {
            f"stage-{blank}-key": "validation",
            f"stage-{blank}-title": "Second validation",
            f"stage-{blank}-role": "validator",
            f"stage-{blank}-quorum": "1",
            f"stage-{blank}-meaning": "review",
            f"stage-{blank}-ORDER": "2",
        }
    )

    response = preview(console, change_url(old), data)

    assert response.status_code == 200
    rows = response.context["editor"].stages.forms
    assert rows[blank].errors["key"] == ["A unique, non-empty key."]  # the service's words, on row 2
    assert not rows[0].errors
    assert b'id="id_stage-1-key-errors"' in response.content
    assert Policy.objects.filter(tier=3).count() == 1


def test_it_puts_an_unknown_stage_on_the_environment_that_names_it(console):
    old = Policy.objects.get(tier=3, is_active=True)
    data = form_data(shown_editor(console, change_url(old)))
    data["env-0-stages"] = ["validation", "risk"]  # tier 3 has no "risk" stage

    response = preview(console, change_url(old), data)

    environments = response.context["editor"].environments.forms
    assert environments[0].cleaned_data["name"] == "production"
    assert environments[0].errors["stages"] == ["A list of stage keys defined in 'stages'."]


def test_it_refuses_a_bound_the_check_does_not_judge_on_its_field(console):
    old = Policy.objects.get(tier=2, is_active=True)
    editor = shown_editor(console, change_url(old))
    data = form_data(editor)
    psi = next(i for i, form in enumerate(editor.checks.forms) if form.initial.get("metric") == "psi")
    data[f"check-{psi}-min"] = "0.1"

    response = preview(console, change_url(old), data)

    row = response.context["editor"].checks.forms[psi]
    assert row.errors["min"] == ["A population stability index is only judged at most."]
    assert Policy.objects.filter(tier=2).count() == 1


def test_it_refuses_a_bound_without_a_metric_and_a_check_listed_twice(console):
    old = Policy.objects.get(tier=3, is_active=True)
    editor = shown_editor(console, change_url(old))
    data = form_data(editor)
    blank = len(editor.checks.forms) - 1
    data.update({f"check-{blank}-kind": "performance", f"check-{blank}-max": "3"})
    response = preview(console, change_url(old), data)
    assert response.context["editor"].checks.forms[blank].errors["metric"] == [
        "Choose the metric the bound applies to."
    ]

    data.update({f"check-{blank}-metric": "roc_auc", f"check-{blank}-min": "0.9"})
    data.pop(f"check-{blank}-max")
    response = preview(console, change_url(old), data)
    assert response.context["editor"].checks.forms[blank].non_field_errors() == [
        "This check is listed twice; keep one row."
    ]


def test_it_says_when_nothing_would_change(console):
    old = Policy.objects.get(tier=1, is_active=True)
    response = preview(console, change_url(old), form_data(shown_editor(console, change_url(old))))
    assert response.status_code == 200
    assert response.context["editor"].general_errors[0].startswith("Nothing changed")


def test_it_describes_a_removed_stage_and_what_the_environment_then_needs(console):
    old = Policy.objects.get(tier=2, is_active=True)
    editor = shown_editor(console, change_url(old))
    data = form_data(editor)
    risk = next(i for i, form in enumerate(editor.stages.forms) if form.initial.get("key") == "risk")
    production = next(
        i for i, f in enumerate(editor.environments.forms) if f.initial.get("name") == "production"
    )
    data[f"stage-{risk}-DELETE"] = "on"
    data[f"env-{production}-stages"] = ["validation"]

    lines = change_lines(preview(console, change_url(old), data))

    assert (
        "Stage removed: “Model risk management approval” (risk): 1 risk officer signs for approval." in lines
    )
    assert "Approvals for production will need validation (was validation, risk)." in lines


def test_it_shows_the_preview_again_when_another_version_was_saved_meanwhile(console, admin_user):
    old = Policy.objects.get(tier=3, is_active=True)
    data = form_data(shown_editor(console, change_url(old)))
    shown = preview(console, change_url(old), {**data, "approval_valid_months": "6"})
    policy_create_version(actor=admin_user, tier=3, rules={**_rules(old), "approval_valid_months": 24})

    again = console.post(
        change_url(old), {"rules_json": shown.context["rules_json"], "active_version": "1", "_confirm": "1"}
    )

    assert again.status_code == 200
    assert again.templates[0].name == "governance/admin/policy_preview.html"
    assert "Approvals last 6 months (was 24)." in change_lines(again)
    assert Policy.objects.filter(tier=3).count() == 2  # the stale confirmation saved nothing


def test_it_edits_the_json_for_experts_through_the_same_preview(console):
    policy = Policy.objects.get(tier=3, is_active=True)
    url = reverse("admin:workflow_policy_json", args=[policy.pk])
    page = console.get(url)
    assert json.loads(page.context["rules_json"])["stages"] == policy.stages

    broken = console.post(url, {"rules_json": "{not json"})
    assert broken.context["errors"][0].startswith("This is not valid JSON")
    wrong = console.post(url, {"rules_json": json.dumps({**_rules(policy), "stages": []})})
    assert "stages: At least one approval stage is required." in wrong.context["errors"]
    extra = console.post(url, {"rules_json": json.dumps({**_rules(policy), "tier": 1})})
    assert extra.context["errors"][0].startswith("tier: not a policy rule")

    shown = console.post(url, {"rules_json": json.dumps({**_rules(policy), "review_frequency_months": 24})})
    assert shown.templates[0].name == "governance/admin/policy_preview.html"
    assert change_lines(shown) == [
        "Periodic review every 24 months (was 36) (next review dates are recomputed)."
    ]


def test_it_starts_a_new_version_from_the_tiers_active_policy(console):
    chooser = console.get(reverse("admin:workflow_policy_add"))
    assert chooser.templates[0].name == "governance/admin/policy_tier.html"
    editor = shown_editor(console, reverse("admin:workflow_policy_add") + "?tier=2")
    assert editor.tier == 2
    assert editor.scalar["name"].value() == Policy.objects.get(tier=2, is_active=True).name


def test_it_lists_policies_by_tier_and_version_with_readable_names(console):
    page = console.get(reverse("admin:workflow_policy_changelist"))
    assert page.status_code == 200
    assert b"Policies" in page.content
    assert b"Policys" not in page.content
    assert b"tier 1 policy v1" in page.content


@pytest.mark.parametrize("page", ["change", "add", "json"])
def test_it_sends_people_without_console_access_to_the_login_page(client, maya, page):
    policy = Policy.objects.get(tier=3, is_active=True)
    urls = {
        "change": change_url(policy),
        "add": reverse("admin:workflow_policy_add") + "?tier=3",
        "json": reverse("admin:workflow_policy_json", args=[policy.pk]),
    }
    client.force_login(maya)
    response = client.get(urls[page])
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("page", ["change", "add", "json"])
def test_it_refuses_staff_who_are_not_administrators(client, credit_risk, page):
    staff = UserFactory(username="stella", role="validator", teams=[credit_risk], is_staff=True)
    policy = Policy.objects.get(tier=3, is_active=True)
    urls = {
        "change": change_url(policy),
        "add": reverse("admin:workflow_policy_add") + "?tier=3",
        "json": reverse("admin:workflow_policy_json", args=[policy.pk]),
    }
    client.force_login(staff)
    assert client.get(urls[page]).status_code == 403
    assert client.post(urls[page], {"rules_json": "{}", "_confirm": "1"}).status_code == 403


def test_it_never_deletes_a_policy_version(console):
    policy = Policy.objects.get(tier=1, is_active=True)
    assert console.get(reverse("admin:workflow_policy_delete", args=[policy.pk])).status_code == 403


# --- the change in words ------------------------------------------------------------------------------


def _rules(policy: Policy) -> dict:
    from workflow.admin_policy_forms import rules_of

    return rules_of(policy)


def test_it_says_whether_a_changed_bound_is_stricter_or_looser():
    old = {
        "required_checks": [
            {"kind": "drift", "metric": "psi", "max": 0.25},
            {"kind": "performance", "metric": "roc_auc", "min": 0.7},
        ]
    }
    new = {
        "required_checks": [
            {"kind": "drift", "metric": "psi", "max": 0.2},
            {"kind": "performance", "metric": "roc_auc", "min": 0.6},
        ]
    }
    (topic,) = describe_changes(old, new)
    assert [text for _, text in topic.lines] == [
        "Drift check, population stability index: at most 0.25 becomes at most 0.2 (stricter).",
        "Performance check, ROC AUC: at least 0.7 becomes at least 0.6 (looser).",
    ]


def test_it_says_what_an_ungated_environment_and_a_signer_allowed_mean():
    old = {"gated_environments": {"staging": ["validation"]}, "segregation": ["requester", "owner"]}
    new = {"gated_environments": {}, "segregation": ["requester"]}
    lines = [text for topic in describe_changes(old, new) for _, text in topic.lines]
    assert lines == [
        "staging will no longer be gated: deployments to it will need no approval.",
        "The model's owner may now sign.",
    ]


def test_a_policy_from_before_the_llm_track_is_flagged_and_adopts_the_shipped_track_through_the_preview(
    console, admin_user
):
    """GIVEN the active tier 2 policy as an installation from before the LLM track has it (its checks bind
    every model)
    WHEN the administrator opens the list, follows the flag, and confirms the preview
    THEN version 3 scopes the scoring checks to ml_model and adds the shipped llm_evaluation entry; the flag
    is gone; the change is audited as any save is."""
    shipped = Policy.objects.get(tier=2, is_active=True)
    old_rules = [{k: v for k, v in check.items() if k != "model_kinds"} for check in shipped.required_checks]
    old_rules = [check for check in old_rules if check["kind"] != "llm_evaluation"]
    old = policy_create_version(
        actor=admin_user, tier=2, rules=rules_of(shipped) | {"required_checks": old_rules}
    )
    adopt = reverse("admin:workflow_policy_adopt_llm_track", args=[2])

    listed = console.get(reverse("admin:workflow_policy_changelist"))
    flags = [str(message) for message in listed.context["messages"]]
    flagged = capfirst(str(old))
    assert flagged.startswith("Tier 2 policy v")
    assert [flag for flag in flags if flag.startswith(flagged)] == [
        f"{flagged} predates the LLM application track: it holds LLM applications to the scoring checks, which "
        f'a bundle cannot run. <a href="{adopt}">Preview adopting the shipped track</a>.'
    ]

    shown = console.get(adopt)
    assert shown.templates[0].name == "governance/admin/policy_preview.html"
    scoped = [
        f"{KIND_LABELS[check['kind']]} check, {metric_label(check['metric'])}: will bind machine-learning "
        "models (was every model)."
        for check in old_rules
    ]
    assert change_lines(shown) == [
        "Approval of LLM applications will need an LLM evaluation check with PII leakage rate at most 0.",
        *scoped,
    ]
    assert len(scoped) >= 1  # the shipped tier 2 scores with performance (and fairness, drift)
    saved = console.post(
        change_url(old),
        {"rules_json": shown.context["rules_json"], "active_version": str(old.version), "_confirm": "1"},
    )

    assert saved.status_code == 302
    new = Policy.objects.get(tier=2, is_active=True)
    assert new.version == old.version + 1
    assert new.required_checks == [check | {"model_kinds": ["ml_model"]} for check in old_rules] + [
        check for check in shipped.required_checks if check.get("model_kinds") == ["llm_application"]
    ]
    assert {"policy.created", "policy.activated"} <= set(
        AuditEvent.objects.filter(object_id=str(new.pk)).values_list("action", flat=True)
    )
    relisted = console.get(reverse("admin:workflow_policy_changelist"))
    assert not [m for m in relisted.context["messages"] if str(m).startswith("Tier 2 policy v")]
    # a policy with the track has nothing to adopt: back to the list, told so
    again = console.get(adopt)
    assert again.status_code == 302


def test_only_an_administrator_may_preview_adopting_the_track(client, maya):
    versions = Policy.objects.filter(tier=2).count()
    client.force_login(maya)
    response = client.get(reverse("admin:workflow_policy_adopt_llm_track", args=[2]))
    assert response.status_code in (302, 403)  # the console sends a non-staff user to its sign-in
    assert response.status_code == 403 or response["Location"].startswith("/admin/login/")
    assert Policy.objects.filter(tier=2).count() == versions
