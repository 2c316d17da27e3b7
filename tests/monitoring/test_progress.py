"""Progress that means something: a long stage reports units done of a step with an estimate of the time left
(jobs.progress), the API returns it as stored, and the run page words it ('about 9 min left')."""

from __future__ import annotations

import datetime as dt

import pytest

from jobs.progress import eta_seconds, eta_text
from monitoring import views
from monitoring.services import leases
from tests.factories.records import CheckRunFactory, ModelVersionFactory, RegisteredModelFactory


@pytest.mark.parametrize(
    ("elapsed", "done", "total", "expected"),
    [
        (10.0, 25, 100, 30.0),  # the rest at the pace so far
        (10.0, 100, 100, 0.0),
        (10.0, 4, 100, None),  # under 5 % done: too early to tell
        (1.0, 50, 100, None),  # under 2 s measured: too early to tell
        (10.0, 0, 0, None),
    ],
)
def test_the_estimate_is_the_pace_so_far_and_only_after_some_progress(elapsed, done, total, expected):
    assert eta_seconds(elapsed, done, total) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, ""),
        (4, "a few seconds left"),
        (38, "about 40 s left"),
        (150, "about 2 min left"),
        (7500, "about 2 h 5 min left"),
    ],
)
def test_the_estimate_is_worded_for_people(seconds, text):
    assert eta_text(seconds) == text


def test_a_step_writes_rows_done_and_the_estimate_which_the_api_returns_and_the_page_words(
    api, maya, credit_risk, monkeypatch
):
    version = ModelVersionFactory(model=RegisteredModelFactory(owner=maya, team=credit_risk))
    run = CheckRunFactory(model_version=version, kind="explainability")
    _, token = leases.claim(run.pk)
    clock = iter([100.0, 160.0])  # the step starts at 100 s; 10 of 100 rows are done at 160 s
    monkeypatch.setattr(leases.Progress, "clock", staticmethod(lambda: next(clock)))
    progress = leases.Progress(run.pk, token, 4)
    progress.stage("reading data")
    progress.stage("computing")
    progress.start_step("explaining the current rows")
    progress.step(10, 100)

    run.refresh_from_db()
    step = {"label": "explaining the current rows", "done": 10, "total": 100, "unit": "rows"}
    assert run.progress["step"] == step
    assert run.progress["eta_seconds"] == 540.0
    assert (run.progress["stage"], run.progress["current"], run.progress["total"]) == ("computing", 2, 4)
    body = api.as_user(maya).get(f"/api/v1/checks/{run.pk}/").json()
    assert body["progress"] == run.progress
    html = api.get(f"/checks/{run.pk}/progress/").content.decode()
    assert "explaining the current rows: 10 / 100 rows" in html
    assert 'aria-valuenow="10"' in html

    # the page counts the estimate down from when it was written
    written = dt.datetime.fromisoformat(run.progress["updated_at"])
    monkeypatch.setattr(views.timezone, "now", lambda: written + dt.timedelta(seconds=120))
    assert views.shown_progress(run.progress)["eta_text"] == "about 7 min left"
