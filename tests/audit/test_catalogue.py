"""Every action in the audit catalogue is written by some code path, and nothing writes an action outside it.

An action nothing writes is a promise: an auditor filtering for ``user.deleted`` would conclude that no
account was ever deleted, when the truth is that deletions were never recorded. The writers are found in
the source: a string literal equal to the action (``record(action="model.created", …)``, or a name chosen
by a condition and passed on), and for background jobs the f-strings of ``jobs.leases`` and
``jobs.reaper`` that write ``<kind>.<event>`` for every registered job kind.
"""

from __future__ import annotations

import ast
from pathlib import Path

from audit.actions import ACTIONS, JOB_EVENTS, JOB_KINDS
from jobs import kinds

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "accounts",
    "audit",
    "config",
    "integrations",
    "jobs",
    "monitoring",
    "registry",
    "reports",
    "workers",
    "workflow",
)
CATALOGUE = ROOT / "audit" / "actions.py"


def _source_files() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and path != CATALOGUE
    ]


def _string_literals() -> set[str]:
    found = set()
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def _job_event_suffixes() -> set[str]:
    """``f"{kind.name}.started"`` and the like, as written by the job lease and the reaper."""
    suffixes = set()
    for name in ("leases.py", "reaper.py"):
        tree = ast.parse((ROOT / "jobs" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr) and isinstance(node.values[-1], ast.Constant):
                suffixes.add(str(node.values[-1].value))
    return suffixes


def _job_actions() -> set[str]:
    return {f"{kind}.{event}" for kind in JOB_KINDS for event in JOB_EVENTS}


def test_every_job_event_of_the_catalogue_is_written_by_the_lease_or_the_reaper():
    assert {f".{event}" for event in JOB_EVENTS} <= _job_event_suffixes()


def test_the_catalogue_names_exactly_the_registered_job_kinds():
    assert set(JOB_KINDS) == set(kinds.KINDS)


def test_every_other_action_of_the_catalogue_has_a_writer_in_the_source():
    literals = _string_literals()
    unwritten = sorted(action for action in set(ACTIONS) - _job_actions() if action not in literals)
    assert unwritten == []


def test_the_retired_actions_nothing_wrote_are_gone():
    # the gate's answer is a read (CI asks it at will); accounts and teams are deactivated, never deleted
    assert not {"gate.evaluated", "user.deleted", "team.deleted"} & set(ACTIONS)
