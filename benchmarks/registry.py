"""Registry performance: artifact upload through the web process, dataset profiling, inventory API latency.

    .venv/bin/python benchmarks/registry.py                   # everything (about 5 minutes)
    .venv/bin/python benchmarks/registry.py --upload-mb 1024 --rows 1000000 --models 100,100000

Uses the database named by DATABASE_URL, or the embedded PostgreSQL under var/pg with a separate
``attest_bench`` database; blobs go to a temporary folder that is removed at the end.

1. Upload: a real gunicorn web process (one worker) receives multipart uploads of 100 MB and 1 GB from a
   streaming client; prints throughput and the worker's peak RSS after each (flat = streaming works).
2. Profiling: 1,000,000 rows x 20 columns as Parquet and as CSV; the upload check (``tabular``) and the
   profile (``profiling``) timed separately, median of 3.
3. API: p50/p95 of GET /api/v1/models/ (page of 50) and GET /api/v1/models/{name}/ with 100 and with
   100,000 models in the inventory, for an auditor (sees all) and a team-scoped ML engineer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import _common as common

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH_DATABASE = "attest_bench"
LATENCY_REQUESTS = 200


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--upload-mb", default="100,1024", help="comma-separated upload sizes in MiB")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--models", default="100,100000", help="comma-separated inventory sizes")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: upload,profile,api")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    media = Path(tempfile.mkdtemp(prefix="attest-bench-media-"))
    server = common.fresh_django_database(BENCH_DATABASE, media)
    try:
        if "profile" not in skip:
            bench_profiling(args.rows, args.columns)
        if "api" not in skip:
            bench_api([int(n) for n in args.models.split(",")])
        if "upload" not in skip:
            bench_upload([int(n) for n in args.upload_mb.split(",")], media)
    finally:
        shutil.rmtree(media, ignore_errors=True)
        if server is not None:
            server.cleanup()
    return 0


# ---------------------------------------------------------------------------------------------- people


def _personas():
    """An ML engineer of team bench-a, an auditor, and the model the engineer's uploads go to."""
    from django.contrib.auth.models import Group

    from accounts.models import Team
    from accounts.roles import ROLE_NAMES

    for role in ROLE_NAMES:
        Group.objects.get_or_create(name=role)
    teams = []
    for name in ("bench-a", "bench-b"):
        group, _ = Group.objects.get_or_create(name=f"team:{name}")
        teams.append(Team.objects.get_or_create(name=name, defaults={"group": group})[0])
    engineer = _user("bench-engineer", "ml-engineer", teams[0])
    auditor = _user("bench-auditor", "auditor", None)
    return engineer, auditor, teams


def _user(username: str, role: str, team):
    from django.contrib.auth.models import Group

    from accounts.models import User

    user, created = User.objects.get_or_create(username=username)
    if created:
        user.groups.add(Group.objects.get(name=role))
        if team is not None:
            team.group.user_set.add(user)
    return user


# ---------------------------------------------------------------------------------------------- profiling


def _frame(rows: int, columns: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    data = {}
    for index in range(columns):
        if index % 5 == 4:
            labels = np.array([f"c{k:02d}" for k in range(2 + index)], dtype=object)
            data[f"cat_{index:02d}"] = labels[rng.integers(0, len(labels), rows)]
        else:
            values = rng.normal(index, 1 + index / 10, rows)
            values[rng.random(rows) < 0.01] = np.nan
            data[f"num_{index:02d}"] = values
    return pd.DataFrame(data)


def bench_profiling(rows: int, columns: int) -> None:
    from registry import profiling, tabular

    frame = _frame(rows, columns)
    folder = Path(tempfile.mkdtemp(prefix="attest-bench-data-"))
    try:
        paths = {"parquet": folder / "data.parquet", "csv": folder / "data.csv"}
        frame.to_parquet(paths["parquet"], index=False)
        frame.to_csv(paths["csv"], index=False)
        print(f"\nDataset profiling, {rows:,} rows x {columns} columns (median of 3)")
        print(f"{'format':<8} {'size MiB':>9} {'upload check s':>15} {'profile s':>10}")
        for file_format, path in paths.items():
            check = _median_seconds(
                lambda p=path, f=file_format: _with_file(p, lambda fh: tabular.inspect_file(fh, f))
            )
            profile = _median_seconds(
                lambda p=path, f=file_format: _with_file(p, lambda fh: profiling.profile_file(fh, f))
            )
            size = path.stat().st_size / 2**20
            print(f"{file_format:<8} {size:>9.0f} {check:>15.2f} {profile:>10.2f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _with_file(path: Path, work):
    with path.open("rb") as handle:
        return work(handle)


def _median_seconds(work, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------- API latency


def bench_api(sizes: list[int]) -> None:
    from django.test import Client

    engineer, auditor, teams = _personas()
    print(f"\nInventory API latency, {LATENCY_REQUESTS} requests each (ms; list = page of 50)")
    print(
        f"{'models':>8} {'persona':<10} {'list p50':>9} {'list p95':>9} {'detail p50':>11} {'detail p95':>11}"
    )
    for size in sorted(sizes):
        _fill_inventory(size, engineer, teams)
        for persona in (auditor, engineer):
            client = Client()
            client.force_login(persona)
            names = _visible_names(persona)
            listing = _latencies(client, lambda i: "/api/v1/models/")
            detail = _latencies(client, lambda i, n=names: f"/api/v1/models/{n[(i * 7919) % len(n)]}/")
            label = "auditor" if persona is auditor else "engineer"
            print(
                f"{size:>8,} {label:<10} {_pct(listing, 50):>9.1f} {_pct(listing, 95):>9.1f} "
                f"{_pct(detail, 50):>11.1f} {_pct(detail, 95):>11.1f}"
            )


def _fill_inventory(size: int, owner, teams) -> None:
    """Bulk-insert models (half per team) until there are ``size``; setup only, so no services or audit."""
    from registry.models import RegisteredModel, TieringRule
    from registry.tiering import DEFAULT_RULE

    rule, _ = TieringRule.objects.get_or_create(version=1, defaults=DEFAULT_RULE)
    existing = RegisteredModel.objects.count()
    answers = {"materiality": "low", "complexity": "low", "reliance": "low", "regulatory_exposure": "low"}
    batch = []
    for index in range(existing, size):
        batch.append(
            RegisteredModel(
                name=f"bench-model-{index:06d}",
                title=f"Benchmark model {index}",
                team=teams[index % 2],
                owner=owner,
                tier_answers=answers,
                tier_rule=rule,
                computed_tier=3 - index % 3,
                risk_tier=3 - index % 3,
                lineage_job=f"bench-model-{index:06d}",
                tags={"bench": "yes", "bucket": str(index % 10)},
            )
        )
        if len(batch) == 5000:
            RegisteredModel.objects.bulk_create(batch)
            batch = []
    RegisteredModel.objects.bulk_create(batch)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE registry_registeredmodel")


def _visible_names(persona) -> list[str]:
    from accounts import access
    from registry.models import RegisteredModel

    return list(
        access.scope(persona, RegisteredModel.objects.order_by("?")).values_list("name", flat=True)[:500]
    )


def _latencies(client, url_for) -> list[float]:
    for index in range(10):  # warm up connections and caches
        client.get(url_for(index))
    timings = []
    for index in range(LATENCY_REQUESTS):
        start = time.perf_counter()
        response = client.get(url_for(index))
        timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url_for(index)} answered {response.status_code}")
    return timings


def _pct(values: list[float], percentile: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percentile / 100 * (len(ordered) - 1)))]


# ---------------------------------------------------------------------------------------------- upload


def bench_upload(sizes_mb: list[int], media: Path) -> None:
    import psutil

    from accounts.services.accounts import token_create
    from registry.models import RegisteredModel

    engineer, _, teams = _personas()
    RegisteredModel.objects.get_or_create(
        name="bench-upload",
        defaults={
            "title": "Upload benchmark",
            "team": teams[0],
            "owner": engineer,
            "computed_tier": 3,
            "risk_tier": 3,
            "lineage_job": "bench-upload",
        },
    )
    _, secret = token_create(actor=engineer, name=f"bench-{uuid.uuid4().hex[:8]}")
    port = _free_port()
    web = _start_gunicorn(port, media)
    try:
        _wait_until_up(port)
        worker = psutil.Process(web.pid).children()[0]
        print(
            f"\nArtifact upload through gunicorn (1 worker), web worker RSS at start {worker.memory_info().rss / 2**20:.0f} MiB"
        )
        print(f"{'size MiB':>9} {'seconds':>8} {'MiB/s':>7} {'status':>7} {'worker peak RSS MiB':>20}")
        for size_mb in sizes_mb:
            status, seconds, peak = _upload(port, secret, size_mb, worker)
            print(
                f"{size_mb:>9,} {seconds:>8.1f} {size_mb / seconds:>7.0f} {status:>7} {peak / 2**20:>20.0f}"
            )
    finally:
        web.terminate()
        web.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(port: int, media: Path) -> subprocess.Popen:
    env = {**os.environ, "ATTEST_MEDIA_ROOT": str(media), "ATTEST_MAX_ARTIFACT_BYTES": str(8 * 2**30)}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--timeout", "900", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=REPO, env=env)


def _wait_until_up(port: int) -> None:
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


class StreamedBody:
    """A request body of ``count`` copies of ``block`` between a head and a tail, produced on demand.

    requests sends an object with ``read`` and ``__len__`` with a Content-Length, in pieces.
    """

    def __init__(self, head: list[bytes], block: bytes, count: int, tail: list[bytes]):
        self.parts = iter([*head, *(block for _ in range(count)), *tail])
        self.length = sum(map(len, head)) + len(block) * count + sum(map(len, tail))
        self.current = b""
        self.offset = 0

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the current part (a short read is fine); b"" at the end."""
        if self.offset >= len(self.current):
            self.current, self.offset = next(self.parts, b""), 0
        end = len(self.current) if size < 0 else self.offset + size
        chunk = self.current[self.offset : end]
        self.offset += len(chunk)
        return chunk


def _upload(port: int, secret: str, size_mb: int, worker) -> tuple[int, float, int]:
    """POST ``size_mb`` MiB of fresh bytes as field ``artifact``; returns (status, seconds, peak worker RSS)."""
    import requests

    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    # fresh content every run (the marker), so the idempotent short cut never answers instead
    body = StreamedBody([head, uuid.uuid4().bytes], os.urandom(2**20), size_mb, [tail])
    peak = [worker.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], worker.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    response = requests.post(
        f"http://127.0.0.1:{port}/api/v1/models/bench-upload/versions/",
        data=body,
        headers={
            "Authorization": f"Bearer {secret}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(body)),
        },
        timeout=900,
    )
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    if response.status_code not in (200, 201):
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:500]}")
    return response.status_code, seconds, peak[0]


if __name__ == "__main__":
    sys.exit(main())
