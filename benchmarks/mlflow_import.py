"""MLflow import: Attest importing a registry of N model versions from a local ``mlflow server``.

    .venv/bin/python benchmarks/mlflow_import.py                    # 1,000 versions (a few minutes)
    .venv/bin/python benchmarks/mlflow_import.py --versions 50      # a quick check
    .venv/bin/python benchmarks/mlflow_import.py --profile          # and where the import's time goes
    .venv/bin/python benchmarks/mlflow_import.py --write-back-off   # and an import without write-back

One run, one registry, in this order:

1. ``populate``: a real ``mlflow server`` (tests/integrations/mlflow/server.py: sqlite backend, artifact
   proxy, one worker, from var/mlflow-venv) filled by ``populate.py bulk``: N versions of one registered
   model, each its own small ONNX model folder (``MLmodel`` + ``model.onnx``) with three tags.
2. ``mlflow client`` (the baseline: the least a team's own copy script, or mlflow-export-import, does):
   MLflow's own client in the MLflow venv searches every version, gets each version's run and downloads
   each version's model folder with ``mlflow.artifacts.download_artifacts("models:/NAME/V")``.
3. ``attest import``: ``registry_create`` (write-back on, the default) then ``mlflow_sync.sync_request
   (queue=False)`` + ``sync_run`` in this process, as ``manage.py mlflow_import`` does: every version
   read (run, MLmodel, model file), stored, linked and audited, then Attest's three ``attest.*`` tags
   written back to each MLflow version. Checked: N Attest versions, N links, no problems.
4. ``attest re-import``: the same again; nothing changed in MLflow, so nothing changes in Attest (the cost
   of a poll).

Works in a throwaway database ``attest_bench_mlflow`` on the configured server (the embedded one when
DATABASE_URL is unset), migrated from scratch and dropped at the end; the MLflow server, its artifacts,
Attest's blobs, broker folder and keys live in a temporary folder that is removed at the end.
``--write-back-off`` also imports a second registered model of the same size with write-back off (the
cost of the three tags per version). ``--profile`` imports a second registered model of the same size under cProfile (so the timed import is
not slowed by it) and prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as common

sys.path.insert(0, str(common.REPO))
BENCH_DB = "attest_bench_mlflow"
MODEL = "bench-bulk"
MIN_VERSIONS, MAX_VERSIONS = 1, 10_000
PROFILE_TOP = 10

# The baseline, run by MlflowServer.run_script inside the MLflow venv: argv = model name, download folder.
MLFLOW_CLIENT_READ = """
import json, sys, time
from pathlib import Path
import mlflow
from mlflow import MlflowClient

name, into = sys.argv[1], Path(sys.argv[2])
client = MlflowClient()
started = time.perf_counter()
found, token = [], None
while True:
    page = client.search_model_versions(f"name='{name}'", max_results=1000, page_token=token)
    found.extend(page)
    token = page.token
    if not token:
        break
searched = time.perf_counter()
runs = downloads = 0.0
for version in found:
    began = time.perf_counter()
    client.get_run(version.run_id)
    fetched = time.perf_counter()
    mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{version.version}", dst_path=str(into / version.version)
    )
    runs += fetched - began
    downloads += time.perf_counter() - fetched
finished = time.perf_counter()
files = [path for path in into.rglob("*") if path.is_file()]
print(json.dumps({
    "versions": len(found),
    "files": len(files),
    "bytes": sum(path.stat().st_size for path in files),
    "seconds": finished - started,
    "seconds_search": searched - started,
    "seconds_runs": runs,
    "seconds_downloads": downloads,
}))
"""


# ---------------------------------------------------------------------------------------------- setup


def create_database(tmp: Path) -> object | None:
    """Point DATABASE_URL at a fresh benchmark database and this run's folders; returns the embedded server."""
    from config import devstack

    server = devstack.ensure_database(BENCH_DB) if not os.environ.get("DATABASE_URL") else None
    base, _, query = os.environ["DATABASE_URL"].partition("?")
    admin = base.rpartition("/")[0]
    query = f"?{query}" if query else ""
    os.environ["DATABASE_URL"] = f"{admin}/{BENCH_DB}{query}"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "ATTEST_MEDIA_ROOT": str(tmp / "media"),
            "ATTEST_BROKER_DIR": str(tmp / "broker"),
            "ATTEST_AUDIT_SIGNING_KEY": str(tmp / "keys" / "audit.pem"),
            "ATTEST_AUDIT_EXPORT_DIR": str(tmp / "audit-export"),
            "ATTEST_OUTBOUND_ALLOW_HOSTS": "127.0.0.1",
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    common.admin_sql(f"{admin}/postgres{query}", f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    common.admin_sql(f"{admin}/postgres{query}", f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run(
        [sys.executable, str(common.REPO / "manage.py"), "migrate", "-v", "0"], check=True, cwd=common.REPO
    )
    import django

    django.setup()
    return server


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    base, _, query = os.environ["DATABASE_URL"].partition("?")
    query = f"?{query}" if query else ""
    common.admin_sql(
        f"{base.rpartition('/')[0]}/postgres{query}", f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'
    )


def engineer():
    """An ML engineer of team bench-credit, who may change the team's models (and so run the import)."""
    from django.contrib.auth.models import Group

    from accounts.models import Team, User
    from accounts.roles import ROLE_NAMES

    for role in ROLE_NAMES:
        Group.objects.get_or_create(name=role)
    group, _ = Group.objects.get_or_create(name="team:bench-credit")
    team, _ = Team.objects.get_or_create(name="bench-credit", defaults={"group": group})
    user, _ = User.objects.get_or_create(username="bench-engineer")
    user.groups.add(Group.objects.get(name="ml-engineer"), group)
    return user, team


# ---------------------------------------------------------------------------------------------- measurements


def populate(server, name: str, count: int) -> dict:
    started = time.perf_counter()
    made = server.populate("bulk", name, str(count), timeout=3600)
    return {**made, "seconds": time.perf_counter() - started}


def mlflow_client_read(server, name: str, into: Path) -> dict:
    return server.run_script(MLFLOW_CLIENT_READ, name, str(into), timeout=3600)


def attest_import(registry, actor, *, profiler: cProfile.Profile | None = None) -> dict:
    """One sync of ``registry`` as ``manage.py mlflow_import`` runs it; wall time and the job's counts."""
    from integrations.services import mlflow_sync

    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    try:
        job, _ = mlflow_sync.sync_request(actor=actor, registry=registry, queue=False)
        finished = mlflow_sync.sync_run(sync_id=job.pk)
    finally:
        if profiler is not None:
            profiler.disable()
    seconds = time.perf_counter() - started
    if finished is None or finished.status != "succeeded":
        raise RuntimeError(f"the sync did not succeed: {finished and (finished.error, finished.result)}")
    counts = finished.result["counts"]
    return {"seconds": seconds, "counts": counts, "problems": finished.result["problems"]}


def check_import(registry, name: str, count: int, first: dict, again: dict) -> list[str]:
    """What is wrong with the import, if anything (empty: N versions, N links, no problems, idempotent)."""
    from integrations.models import MlflowVersionLink
    from integrations.services import mlflow_sync
    from registry.models import ModelVersion

    links = MlflowVersionLink.objects.filter(registry=registry, mlflow_name=name).count()
    stored = ModelVersion.objects.filter(model__name=mlflow_sync.attest_name(name)).count()
    wrong = []
    if (stored, links) != (count, count):
        wrong.append(f"{stored} Attest versions and {links} links for {count} MLflow versions")
    for label, result in (("import", first), ("re-import", again)):
        if result["counts"].get("problems", 0):
            wrong.append(f"{label}: {result['counts']['problems']} problems, e.g. {result['problems'][:3]}")
    if first["counts"].get("versions_imported", 0) != count:
        wrong.append(f"import: {first['counts']}")
    if again["counts"].get("versions_unchanged", 0) != count or again["counts"].get("tags_written", 0):
        wrong.append(f"re-import changed something: {again['counts']}")
    return wrong


def connect(server, actor, team, name: str, *, write_back: bool = True):
    from integrations.services import registries

    return registries.registry_create(
        actor=actor, name=name, tracking_uri=server.url, team=team, model_names=[name], write_back=write_back
    )


def import_without_write_back(server, actor, team, count: int) -> dict:
    """A second model of the same size imported by a registry with write-back off (what the tags cost)."""
    name = f"{MODEL}-no-write-back"
    populate(server, name, count)
    return attest_import(connect(server, actor, team, name, write_back=False), actor)


def profile_import(server, actor, team, count: int) -> str:
    """A second model of the same size, imported under cProfile; the top functions by cumulative time."""
    name = f"{MODEL}-profiled"
    populate(server, name, count)
    profiler = cProfile.Profile()
    attest_import(connect(server, actor, team, name), actor, profiler=profiler)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(PROFILE_TOP)
    # Attest's own functions (by cumulative time) say which step of a version's import the time is in
    stats.print_stats(r"(integrations|registry|workflow|audit|config)/.*\.py", PROFILE_TOP * 2)
    stats.sort_stats("tottime").print_stats(PROFILE_TOP)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- report


def report(count: int, made: dict, baseline: dict, first: dict, again: dict, bare: dict | None) -> None:
    rate = lambda seconds: count / seconds if seconds else None  # noqa: E731 (a table helper)
    print(f"\nMLflow import, one registered model of {count:,} versions (one ONNX model folder each)")
    common.print_table(
        ["step", "seconds", "versions/s", "note"],
        [
            [
                "populate (MLflow client, bulk)",
                made["seconds"],
                rate(made["seconds"]),
                f"artifacts {made['seconds_setup']:.1f} s, create_model_version {made['seconds_versions']:.1f} s",
            ],
            [
                "MLflow client read (baseline)",
                baseline["seconds"],
                rate(baseline["seconds"]),
                f"search {baseline['seconds_search']:.2f} s, get_run {baseline['seconds_runs']:.1f} s, "
                f"download_artifacts {baseline['seconds_downloads']:.1f} s ({baseline['files']:,} files)",
            ],
            [
                "Attest import",
                first["seconds"],
                rate(first["seconds"]),
                f"imported {first['counts'].get('versions_imported', 0):,}, "
                f"tags written back {first['counts'].get('tags_written', 0):,}",
            ],
            [
                "Attest re-import (poll)",
                again["seconds"],
                rate(again["seconds"]),
                f"unchanged {again['counts'].get('versions_unchanged', 0):,}, "
                f"tags written {again['counts'].get('tags_written', 0)}",
            ],
        ]
        + (
            [
                [
                    "Attest import, write-back off",
                    bare["seconds"],
                    rate(bare["seconds"]),
                    f"another model; imported {bare['counts'].get('versions_imported', 0):,}, "
                    f"problems {bare['counts'].get('problems', 0)}",
                ]
            ]
            if bare
            else []
        ),
    )
    print()
    ratios = [
        ["Attest import / MLflow client read", first["seconds"] / baseline["seconds"]],
        ["Attest re-import / Attest import", again["seconds"] / first["seconds"]],
    ]
    if bare:
        ratios.append(
            ["Attest import, write-back off / MLflow client read", bare["seconds"] / baseline["seconds"]]
        )
    common.print_table(["ratio", "value"], ratios)


# ---------------------------------------------------------------------------------------------- main


def versions_count(text: str) -> int:
    value = int(text)
    if not MIN_VERSIONS <= value <= MAX_VERSIONS:
        raise argparse.ArgumentTypeError(f"between {MIN_VERSIONS} and {MAX_VERSIONS:,}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--versions", type=versions_count, default=1000, help="versions in the registry")
    parser.add_argument("--profile", action="store_true", help="profile a second import (top functions)")
    parser.add_argument(
        "--write-back-off", action="store_true", help="also import another model with write-back off"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and temporary folder")
    args = parser.parse_args()
    print(common.machine_note())
    tmp = Path(tempfile.mkdtemp(prefix="attest-bench-mlflow-"))
    embedded = create_database(tmp)
    from tests.integrations.mlflow.server import MlflowServer

    server = MlflowServer(tmp / "mlflow").start()
    try:
        made = populate(server, MODEL, args.versions)
        print(f"populated {args.versions:,} versions in {made['seconds']:.1f} s")
        baseline = mlflow_client_read(server, MODEL, tmp / "mlflow-client-copy")
        print(f"MLflow client read {baseline['versions']:,} versions in {baseline['seconds']:.1f} s")
        actor, team = engineer()
        registry = connect(server, actor, team, MODEL)
        first = attest_import(registry, actor)
        print(f"Attest import {first['seconds']:.1f} s: {first['counts']}")
        again = attest_import(registry, actor)
        print(f"Attest re-import {again['seconds']:.1f} s: {again['counts']}")
        wrong = check_import(registry, MODEL, args.versions, first, again)
        bare = import_without_write_back(server, actor, team, args.versions) if args.write_back_off else None
        report(args.versions, made, baseline, first, again, bare)
        print(
            "\ncorrectness: "
            + ("; ".join(wrong) if wrong else f"OK ({args.versions:,} versions, links, 0 problems)")
        )
        if args.profile:
            print(f"\ncProfile of a second import ({args.versions:,} versions, another model):")
            print(profile_import(server, actor, team, args.versions))
        print(common.machine_note())
        return 1 if wrong else 0
    finally:
        server.stop()
        if args.keep:
            print(f"kept {tmp} and database {BENCH_DB}")
        else:
            drop_database()
            shutil.rmtree(tmp, ignore_errors=True)
        if embedded is not None:
            embedded.cleanup()


if __name__ == "__main__":
    sys.exit(main())
