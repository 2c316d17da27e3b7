"""The architecture contracts (pyproject.toml ``[tool.importlinter]``) hold, and break on an upward import.

Each case copies the source to a scratch folder, adds one forbidden import there and runs ``lint-imports``
on the copy, as ``make lint`` runs it: the unchanged copy passes, every changed one fails naming its
contract. The checkout itself is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}


def scratch_copy(folder: Path) -> Path:
    """The root packages and pyproject.toml, copied without caches."""
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    # The copy comes first on the path: the editable install's finder would otherwise find the checkout.
    env = {**os.environ, "PYTHONPATH": str(folder)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_unchanged_source_keeps_every_contract(tmp_path):
    result = lint_imports(scratch_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


# (contract id, file to change, what to add): one upward or forbidden import per contract
UPWARD_IMPORTS = [
    ("layers", "registry/selectors.py", "import reports.models  # noqa"),
    (
        "layers",
        "monitoring/services/plans.py",
        "def _late():\n    from workflow.services import findings  # noqa",
    ),
    ("layers", "accounts/access.py", "import registry.models  # noqa"),
    ("layers", "registry/selectors.py", "import workflow.selectors  # noqa"),  # the workflow sits above
    ("accounts-classified", "accounts/roles.py", "import accounts.services  # noqa"),
    ("layers", "reports/views.py", "import web.views.inventory  # noqa"),  # web composes: nothing imports it
    ("jobs-classified", "jobs/models.py", "import jobs.leases  # noqa"),
    ("config-imports-no-app", "config/urls.py", "import accounts.access  # noqa"),
    ("metrics-no-django", "monitoring/metrics/drift.py", "from django.conf import settings  # noqa"),
    ("audit-no-other-app", "audit/chain.py", "import monitoring.models  # noqa"),
    ("audit-no-other-app", "audit/verifier.py", "import accounts.access  # noqa"),
    ("charts-neutral", "charts/__init__.py", "import monitoring.metrics.catalogue  # noqa"),
    (
        "services-do-not-import-tasks",
        "reports/services/reports.py",
        "def _queue_now():\n    from reports import tasks  # noqa",
    ),
]


@pytest.mark.parametrize(
    ("contract", "path", "line"), UPWARD_IMPORTS, ids=[f"{c}:{p}" for c, p, _ in UPWARD_IMPORTS]
)
def test_an_upward_import_fails_the_lint(tmp_path, contract, path, line):
    folder = scratch_copy(tmp_path)
    add_line(folder / path, line)

    result = lint_imports(folder)

    assert result.returncode != 0, result.stdout
    broken = " ".join(result.stdout.split())  # the report wraps long contract names
    assert f"{' '.join(CONTRACTS[contract].split())} BROKEN" in broken


def test_an_accounts_module_nobody_placed_fails_the_lint(tmp_path):
    """A new top-level accounts module must be placed in a layer, or nothing would check it."""
    folder = scratch_copy(tmp_path)
    (folder / "accounts" / "unplaced.py").write_text('"""A module the contracts do not name yet."""\n')

    result = lint_imports(folder)

    assert result.returncode != 0
    assert "accounts.unplaced" in result.stdout


def test_each_dispatch_name_is_a_registered_task():
    """Services queue tasks by name (never importing the tasks module): a typo would fail only at run time."""
    from config.celery_app import task_named
    from monitoring import dispatch as monitoring_dispatch
    from registry import dispatch as registry_dispatch
    from reports import dispatch as reports_dispatch
    from workflow import dispatch as workflow_dispatch

    modules = [workflow_dispatch, monitoring_dispatch, registry_dispatch, reports_dispatch]
    names = [
        value
        for module in modules
        for key, value in vars(module).items()
        if key.isupper() and isinstance(value, str)
    ]
    assert len(names) == 10
    assert all(task_named(name).name == name for name in names)
