"""A validator compares the challenger with the champion in the browser, and the result tables read on a phone.

Screenshots under var/screenshots/ (``compare-*``, ``phone-*``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, screenshot, sign_in
from tests.factories import PASSWORD, TeamFactory, UserFactory
from tests.factories.records import ApprovalRequestFactory, CheckRunFactory, FindingFactory
from tests.monitoring import comparison_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# One stored run of each kind, as a release wrote them (tests/monitoring/test_typed_results.py reads them too).
STORED = json.loads(
    (Path(__file__).parents[1] / "monitoring" / "data" / "stored_results_v1.json").read_text()
)

# Elements that stick out of the viewport (right of it, or left of it) with no horizontally scrollable
# ancestor to hold them: what a phone user could not reach. And the stacked tables (table.responsive, one card
# per row on a phone) that still need a sideways scroll: their cells must wrap instead.
CLIPPED = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const overflow = getComputedStyle(up).overflowX;
      if ((overflow === 'auto' || overflow === 'scroll') && up.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  const clipped = [];
  for (const el of document.querySelectorAll('main *')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if ((box.right > width + 1 || box.left < -1) && !scrolls(el)) {
      clipped.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${el.className} right=${Math.round(box.right)}`);
    }
  }
  for (const table of document.querySelectorAll('main table.responsive')) {
    const wrap = table.closest('.table-wrap') || table;
    for (const cell of table.querySelectorAll('td')) {
      if (cell.scrollWidth > cell.clientWidth + 1 || cell.getBoundingClientRect().right > wrap.getBoundingClientRect().right + 1) {
        clipped.push(`stacked cell ${cell.dataset.label || ''}: ${cell.textContent.trim().slice(0, 40)}`);
      }
    }
  }
  return {clipped: clipped.slice(0, 10), pageWidth: document.documentElement.scrollWidth, width};
}"""


@pytest.fixture
def team(shared_media):
    return TeamFactory(name="credit-risk", title="Credit Risk Modelling")


@pytest.fixture
def victor(team):
    return UserFactory(username="victor", role="validator", teams=[team], first_name="Victor")


def test_a_validator_compares_champion_and_challenger_and_tables_fit_a_phone(page, team, victor):
    maya = UserFactory(username="maya", role="ml-engineer", teams=[team])
    compared = comparison_data.seed(maya, team)
    ApprovalRequestFactory(model_version=compared.v2)
    finding = FindingFactory(
        model=compared.model, title="PSI of age above the warning band on the March batch"
    )
    stored_runs = {
        kind: CheckRunFactory(
            model_version=compared.v1,
            kind=kind,
            status="succeeded",
            outcome="warn",
            results=stored["results"],
            evaluations=stored["evaluations"],
            result_sha256=stored["result_sha256"],
        )
        for kind, stored in STORED.items()
    }
    sign_in(page, "victor", PASSWORD)

    # From the version page, "Compare with…" opens the champion against this version.
    page.goto(f"/models/{compared.model.name}/versions/2/")
    page.get_by_role("link", name="Compare with…").click()
    expect(page.locator("h1")).to_contain_text("Compare versions")
    expect(page.get_by_label("Version A (baseline)")).to_have_value("champion")
    expect(page.get_by_label("Version B (candidate)")).to_have_value("2")
    auc = page.locator("#compare-check-metrics tr[data-metric=roc_auc]")
    expect(auc).to_contain_text("0.8")
    expect(auc.locator("td.delta.worse")).to_contain_text("worse")
    expect(page.locator("#compare-drift")).to_contain_text(
        f"Both against {compared.reference.dataset.name}:3"
    )
    expect(page.locator("#compare-shap-ranks tr[data-feature=age]")).to_contain_text("up 1")
    screenshot(page, "compare-champion-challenger")

    # The picker: a version against itself is allowed; an alias names its version.
    page.get_by_label("Version A (baseline)").select_option("challenger")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".message.warn").first).to_contain_text("A and B are the same version")

    # A long explainability check says how many rows are explained and about how long the rest will take.
    running = CheckRunFactory(
        model_version=compared.v2,
        kind="explainability",
        status="running",
        progress={
            "stage": "computing",
            "current": 2,
            "total": 4,
            "step": {"label": "explaining the current rows", "done": 300, "total": 1000, "unit": "rows"},
            "eta_seconds": 600,
            "updated_at": timezone.now().isoformat(),
        },
    )
    page.goto(f"/checks/{running.pk}/")
    expect(page.locator("#run-state")).to_contain_text("explaining the current rows: 300 / 1000 rows")
    expect(page.locator("#run-state .progress-eta")).to_contain_text("min left")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "300")
    screenshot(page, "compare-check-progress", full_page=False)

    # On a phone, nothing in the result tables is out of reach.
    page.set_viewport_size(PHONE)
    pages = [
        ("compare", f"/models/{compared.model.name}/compare/?a=1&b=2"),
        *((f"check-{kind}", f"/checks/{run.pk}/") for kind, run in stored_runs.items()),
        ("approvals", "/approvals/?tab=all"),
        ("findings", "/findings/"),
        ("finding", f"/findings/{finding.pk}/"),
        ("inventory", "/models/"),
    ]
    for name, url in pages:
        page.goto(url)
        found = page.evaluate(CLIPPED)
        screenshot(page, f"phone-{name}")
        assert found["clipped"] == [], (name, found)
        assert found["pageWidth"] <= found["width"], (name, found)
