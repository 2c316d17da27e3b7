"""Shared pieces of the benchmark scripts: synthetic data, a fresh-process runner, peak memory, tables.

Only the standard library and NumPy are imported at module level, because the Evidently worker runs this
code in its own virtualenv (pandas < 3) where the project is not installed.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def parse_rows(text: str) -> list[int]:
    """``"100000,1000000"`` or ``"1e6"`` -> a list of row counts."""
    return [int(float(part)) for part in text.split(",") if part.strip()]


# ---------------------------------------------------------------------------------------------- data


NUMERIC_SHAPES = (
    "normal",
    "lognormal",
    "exponential",
    "uniform",
    "student_t",
    "bimodal",
    "poisson",
    "rounded",
)


def numeric_column(rng: np.random.Generator, shape: str, n: int, shift: float) -> np.ndarray:
    """One of eight numeric shapes; ``shift`` moves the location by that many standard units."""
    if shape == "normal":
        values = rng.normal(0.0, 1.0, n)
    elif shape == "lognormal":
        values = rng.lognormal(0.0, 0.6, n)
    elif shape == "exponential":
        values = rng.exponential(1.0, n)
    elif shape == "uniform":
        values = rng.uniform(0.0, 1.0, n) * 3.4
    elif shape == "student_t":
        values = rng.standard_t(3, n)
    elif shape == "bimodal":
        values = np.where(rng.random(n) < 0.4, rng.normal(-2, 0.7, n), rng.normal(1.5, 1.0, n))
    elif shape == "poisson":
        values = rng.poisson(4.0, n).astype(np.float64)
    else:  # rounded: many ties
        values = np.round(rng.normal(50.0, 10.0, n), 0) / 10.0
    return values + shift


def categorical_column(rng: np.random.Generator, k: int, n: int, tilt: float) -> np.ndarray:
    """``k`` categories named c00.. with Zipf-like shares; ``tilt`` moves weight towards the rare ones."""
    weights = 1.0 / np.arange(1, k + 1) ** (1.0 - tilt)
    labels = np.array([f"c{i:02d}" for i in range(k)], dtype=object)
    return labels[rng.choice(k, size=n, p=weights / weights.sum())]


def make_frames(rows: int, columns: int = 20, seed: int = 7) -> tuple[Any, Any]:
    """Reference and current DataFrames: 80 % numeric of eight shapes, 20 % categorical of 2-40 categories.

    Every third numeric column and every second categorical column is shifted in the current data; two
    numeric columns have 1 % missing values.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_categorical = max(1, columns // 5)
    n_numeric = columns - n_categorical
    category_sizes = np.linspace(2, 40, n_categorical).round().astype(int)
    reference, current = {}, {}
    for i in range(n_numeric):
        shape = NUMERIC_SHAPES[i % len(NUMERIC_SHAPES)]
        name = f"num_{i:02d}_{shape}"
        reference[name] = numeric_column(rng, shape, rows, 0.0)
        current[name] = numeric_column(rng, shape, rows, 0.15 if i % 3 == 0 else 0.0)
    for name in list(reference)[1:3]:
        for frame in (reference, current):
            frame[name][rng.random(rows) < 0.01] = np.nan
    for i, k in enumerate(category_sizes):
        name = f"cat_{i:02d}_k{k}"
        reference[name] = categorical_column(rng, int(k), rows, 0.0)
        current[name] = categorical_column(rng, int(k), rows, 0.3 if i % 2 == 0 else 0.0)
    return pd.DataFrame(reference), pd.DataFrame(current)


# ---------------------------------------------------------------------------------------------- memory


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    return _status_field("VmRSS")


def reset_peak_rss() -> None:
    """Make the kernel's peak-RSS mark equal to the current RSS (Linux: write 5 to clear_refs)."""
    # Not Linux or not permitted: the peak then includes loading the data.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_bytes() -> int:
    """Peak resident set size since the last :func:`reset_peak_rss`."""
    return _status_field("VmHWM")


def _status_field(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def measure(work: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """Median wall time of ``repeats`` runs and the peak RSS growth of the first, plus the first's output."""
    import gc

    gc.collect()
    baseline = rss_bytes()
    reset_peak_rss()
    times = []
    output = None
    peak_growth = 0
    for attempt in range(repeats):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
        if attempt == 0:
            output = result
            peak_growth = max(0, peak_rss_bytes() - baseline)
    return {
        "seconds": statistics.median(times),
        "runs": times,
        "peak_growth_bytes": peak_growth,
        "output": output,
    }


# ---------------------------------------------------------------------------------------------- processes


def run_worker(python: str, script: Path, args: Sequence[str], *, env: dict[str, str] | None = None) -> dict:
    """Run ``script --worker ...`` in a fresh interpreter and return the JSON it prints last."""
    completed = subprocess.run(
        [python, str(script), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def emit(payload: dict) -> None:
    """Print the worker's result as the last line of stdout."""
    sys.stdout.write(json.dumps(payload, default=float) + "\n")


# ---------------------------------------------------------------------------------------------- output


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain-text table with right-aligned numeric cells."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) < 1e-3:
            return f"{value:.1e}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def megabytes(n_bytes: float) -> float:
    """Bytes as MiB."""
    return n_bytes / 2**20


def machine_note() -> str:
    """The load on the machine right now, printed beside results because other work skews them."""
    one, five, fifteen = os.getloadavg()
    return f"machine: {os.cpu_count()} cores, load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min)"


def admin_sql(url: str, sql: str) -> None:
    """Run one statement outside a transaction on the server of ``url`` (a database URL): the benchmarks'
    throwaway databases are created and dropped with it."""
    import psycopg2

    from config.env import parse_database_url

    settings = parse_database_url("bench", url)
    connection = psycopg2.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(sql)
    connection.close()


def fresh_django_database(name: str, media: Path):
    """Settings pointed at an empty database ``name`` (dropped and created again, on the server of
    DATABASE_URL or an embedded one) and ``media``, Django set up and migrated. Returns the embedded server
    to clean up, or None."""
    from config import devstack

    os.environ["ATTEST_MEDIA_ROOT"] = str(media)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    server = None
    if os.environ.get("DATABASE_URL"):
        base = os.environ["DATABASE_URL"].split("?")[0].rsplit("/", 1)[0]
        os.environ["DATABASE_URL"] = f"{base}/{name}"
    else:
        server = devstack.ensure_database(name)
    head, separator, query = os.environ["DATABASE_URL"].partition("?")  # keep an embedded server's socket
    maintenance = f"{head.rsplit('/', 1)[0]}/postgres{separator}{query}"
    admin_sql(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(maintenance, f'CREATE DATABASE "{name}"')
    devstack.ensure_folders()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return server
