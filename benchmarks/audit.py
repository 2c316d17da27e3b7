"""Audit log: append rate through ``record()`` and the verifier's rate and peak memory.

    .venv/bin/python benchmarks/audit.py                 # 1,000,000 events (a few minutes to load)
    .venv/bin/python benchmarks/audit.py --events 200000

Works in a throwaway database ``attest_bench_audit`` on the configured server (the embedded one when
DATABASE_URL is unset), migrated from scratch and dropped at the end. Every measurement runs in a fresh
interpreter so that peak memory is the verifier's own:

* append, 1 writer: N events through ``record()``, each in its own transaction, as a service writes them;
* append, 8 writers: 8 processes doing the same at once (the advisory lock serialises them);
* verify at 100,000 and at the full count: ``audit.verifier.verify`` over the whole chain with
  two signed checkpoints, events/s and the growth of the process's peak RSS while it ran.

The bulk of the chain is loaded with COPY, not ``record()`` (1M round trips would take an hour): rows
are built with the same ``audit.chain`` functions, canonical bytes from ``json.dumps`` in the
RFC 8785-equivalent form (ASCII keys, no floats), checked against ``rfc8785`` every 1,000th row.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _common as common

sys.path.insert(0, str(common.REPO))
BENCH_DB = "attest_bench_audit"
SCRIPT = Path(__file__).resolve()
KEPT = common.REPO / "var" / "bench-audit"  # the signing key of a database kept with --keep
COLUMNS = (
    "seq,event_id,occurred_at,actor_id,actor_pk,actor_username,actor_roles,auth_method,request_id,client_ip,"
    "user_agent,action,object_type,object_id,object_repr,before,after,reason,schema_version,canonical,prev_hash,hash"
)
HEADERS = [
    "measurement",
    "rate (wall clock)",
    "verifier peak RSS growth",
    "CPU: client + server -> 2 free cores",
]
_CPU_NOTE = (
    "CPU per event is the verifier process's (Python) and its PostgreSQL backend's; they run in parallel, so on\n"
    "two otherwise idle cores the rate is bounded by the busier of the two."
)
TEXT_COLUMNS = "actor_username, request_id, user_agent, object_type, object_id, object_repr, reason"


# ---------------------------------------------------------------------------------------------- setup


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def bench_env(tmp: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "ATTEST_AUDIT_SIGNING_KEY": str(tmp / "keys" / "audit.pem"),
        "ATTEST_AUDIT_EXPORT_DIR": str(tmp / "export"),
        "LOG_LEVEL": "WARNING",
    }


def create_database(*, fresh: bool = True) -> object | None:
    """Point DATABASE_URL at the benchmark database (fresh unless told); returns the embedded server."""
    from config import devstack

    server = None
    if not os.environ.get("DATABASE_URL"):
        server = devstack.ensure_database(BENCH_DB)
    base = os.environ["DATABASE_URL"]
    admin_url, _, _ = base.rpartition("/")
    query = ""
    if "?" in base:
        query = "?" + base.split("?", 1)[1]
        admin_url = base.split("?", 1)[0].rpartition("/")[0]
    os.environ["DATABASE_URL"] = f"{admin_url}/{BENCH_DB}{query}"
    if not fresh:
        return server
    common.admin_sql(f"{admin_url}/postgres{query}", f'DROP DATABASE IF EXISTS "{BENCH_DB}"')
    common.admin_sql(f"{admin_url}/postgres{query}", f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run(
        [sys.executable, str(common.REPO / "manage.py"), "migrate", "-v", "0"], check=True, cwd=common.REPO
    )
    return server


def drop_database() -> None:
    base = os.environ["DATABASE_URL"]
    query = "?" + base.split("?", 1)[1] if "?" in base else ""
    admin_url = base.split("?", 1)[0].rpartition("/")[0]
    common.admin_sql(f"{admin_url}/postgres{query}", f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------- workers


def worker_append(count: int, start_at: float) -> dict:
    """``count`` events through record(), each in its own transaction, starting at ``start_at``."""
    django_setup()
    from django.db import connection, transaction

    from accounts import context
    from audit import record

    connection.ensure_connection()
    ctx = context.RequestContext(
        request_id=uuid.uuid4().hex, auth_method="token", client_ip="10.0.0.7", user_agent="bench/1.0"
    )
    while time.time() < start_at:
        time.sleep(0.001)
    began = time.time()
    with context.bound(ctx):
        for index in range(count):
            with transaction.atomic():
                record(
                    action="model.changed", actor=None, after={"index": index, "tier": 1, "tags": ["a", "b"]}
                )
    return {"began": began, "ended": time.time(), "events": count}


def worker_load(target: int) -> dict:
    """COPY events up to seq ``target``, chained onto the current head."""
    django_setup()
    import rfc8785
    from django.db import connection

    from audit.chain import GENESIS_HASH, chain_hash, event_payload, format_time

    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, hash, occurred_at FROM governance_auditevent ORDER BY seq DESC LIMIT 1")
        row = cursor.fetchone()
    seq, head, when = row if row else (0, GENESIS_HASH, datetime(2026, 1, 1, tzinfo=UTC))
    started = time.perf_counter()
    while seq < target:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for seq in range(seq + 1, min(seq + 50_000, target) + 1):  # noqa: B020 (the loop carries seq on)
            when += timedelta(milliseconds=3)
            head = _write_row(writer, seq, when, head, rfc8785, chain_hash, event_payload, format_time)
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY governance_auditevent ({COLUMNS}) FROM STDIN WITH (FORMAT csv, FORCE_NOT_NULL ({TEXT_COLUMNS}))",
                buffer,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE governance_auditevent")
    return {"seconds": time.perf_counter() - started, "last_seq": seq}


def _fast_canonical(value) -> str:
    # RFC 8785 for values with ASCII keys, no floats and safe integers, at C speed.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _write_row(writer, seq, when, head, rfc8785, chain_hash, event_payload, format_time) -> str:
    actor = {"id": 1 + seq % 6, "username": f"user{seq % 6}", "roles": ["ml-engineer"]}
    obj = {"type": "registry.registeredmodel", "id": str(seq % 997), "repr": f"model-{seq % 997}"}
    after = {
        "name": f"model-{seq % 997}",
        "tier": 1 + seq % 3,
        "tags": ["credit", "scorecard"],
        "note": "x" * (seq % 40),
    }
    payload = event_payload(
        seq=seq,
        event_id=str(uuid.UUID(int=seq, version=4)),
        occurred_at=format_time(when),
        actor=actor,
        auth_method="token",
        request_id=f"{seq:032x}",
        client_ip="10.0.0.7",
        user_agent="attest-cli/1.0 (bench)",
        action="model.changed",
        obj=obj,
        before=None,
        after=after,
        reason="",
    )
    canonical = _fast_canonical(payload).encode()
    if seq % 1000 == 0:
        assert canonical == rfc8785.dumps(payload), "the fast path drifted from RFC 8785"
    digest = chain_hash(head, canonical)
    writer.writerow(
        [
            seq,
            payload["event_id"],
            payload["occurred_at"],
            "",
            actor["id"],
            actor["username"],
            _fast_canonical(actor["roles"]),
            "token",
            payload["request_id"],
            "10.0.0.7",
            payload["user_agent"],
            "model.changed",
            obj["type"],
            obj["id"],
            obj["repr"],
            "",
            _fast_canonical(after),
            "",
            1,
            "\\x" + canonical.hex(),
            head,
            digest,
        ]
    )
    return digest


def worker_checkpoint() -> dict:
    django_setup()
    from audit import checkpoints

    checkpoint = checkpoints.create(force=True)
    return {"number": checkpoint.number, "last_seq": checkpoint.last_seq}


def worker_verify() -> dict:
    """One verification in a fresh process: rate and the growth of peak RSS while it ran."""
    django_setup()
    from django.db import connection

    from audit import keys, verifier

    public_keys = keys.public_keys()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    server_cpu, client_cpu = _process_cpu(backend), time.process_time()
    result = common.measure(lambda: verifier.verify(public_keys=public_keys), repeats=1)
    server_cpu, client_cpu = _process_cpu(backend) - server_cpu, time.process_time() - client_cpu
    report = result["output"]
    if not report.intact:
        raise SystemExit(f"the benchmark chain does not verify: {report.problems[:3]}")
    return {
        "events": report.events_checked,
        "seconds": result["seconds"],
        "rate": report.events_checked / result["seconds"],
        "peak_growth_bytes": result["peak_growth_bytes"],
        "checkpoints": report.checkpoints_checked,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
    }


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process on this machine, e.g. our PostgreSQL backend.

    The shared benchmark machine is often busy: CPU time per event says what the verifier costs whatever
    else runs, and the rate two free cores would give (client and server work in parallel) follows from it.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")  # a remote database server: its CPU is not visible from here
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------- driver


def run(worker: str, *args: str, env: dict[str, str]) -> dict:
    return common.run_worker(sys.executable, SCRIPT, ["--worker", worker, *args], env=env)


def append_rates(env: dict[str, str], single: int, per_writer: int, writers: int) -> tuple[float, float]:
    one = run("append", str(single), str(time.time() + 1), env=env)
    single_rate = one["events"] / (one["ended"] - one["began"])
    start_at = time.time() + 25  # every writer has imported Django and connected by then
    processes = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "--worker", "append", str(per_writer), str(start_at)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=common.REPO,
            env={**os.environ, **env},
        )
        for _ in range(writers)
    ]
    results = [json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError("an append writer failed")
    span = max(r["ended"] for r in results) - min(r["began"] for r in results)
    return single_rate, sum(r["events"] for r in results) / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--append", type=int, default=3000, help="events for the single-writer append run")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    parser.add_argument(
        "--verify-only", action="store_true", help="re-run the verification of a database kept with --keep"
    )
    args = parser.parse_args()
    tmp = KEPT if args.verify_only or args.keep else Path(tempfile.mkdtemp(prefix="attest-audit-bench-"))
    server = create_database(fresh=not args.verify_only)
    env = bench_env(tmp)
    if args.verify_only:
        try:
            verified = run("verify", env=env)
            common.print_table(HEADERS, [_verify_row(verified)])
            print(_CPU_NOTE)
        finally:
            if server is not None:
                server.cleanup()
        return
    try:
        print(f"[bench] database {BENCH_DB}; appending through record() …", flush=True)
        single, concurrent = append_rates(env, args.append, args.append // 8 + 1, 8)
        rows = [
            ("append, 1 writer", f"{single:,.0f} events/s", "-", "-"),
            ("append, 8 writers", f"{concurrent:,.0f} events/s", "-", "-"),
        ]
        for size in sorted({min(100_000, args.events), args.events}):
            print(f"[bench] loading to {size:,} events …", flush=True)
            loaded = run("load", str(size), env=env)
            print(
                f"[bench]   loaded in {loaded['seconds']:.0f} s; signing a checkpoint, verifying …",
                flush=True,
            )
            run("checkpoint", env=env)
            rows.append(_verify_row(run("verify", env=env)))
        print()
        common.print_table(HEADERS, rows)
        print(_CPU_NOTE)
    finally:
        if not args.keep:
            drop_database()
        if server is not None:
            server.cleanup()


def _verify_row(verified: dict) -> tuple[str, str, str, str]:
    events = verified["events"]
    client, server = verified["client_cpu"], verified["server_cpu"]
    busiest = max(client, server)
    return (
        f"verify {events:,} events",
        f"{verified['rate']:,.0f} events/s ({verified['seconds']:.1f} s)",
        f"{common.megabytes(verified['peak_growth_bytes']):.1f} MiB",
        f"{client / events * 1e6:.1f} + {server / events * 1e6:.1f} us/event -> {events / busiest:,.0f} events/s",
    )


def worker_main(argv: list[str]) -> None:
    name, *rest = argv
    if name == "append":
        common.emit(worker_append(int(rest[0]), float(rest[1])))
    elif name == "load":
        common.emit(worker_load(int(rest[0])))
    elif name == "checkpoint":
        common.emit(worker_checkpoint())
    elif name == "verify":
        common.emit(worker_verify())
    else:
        raise SystemExit(f"unknown worker {name}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2:])
    else:
        main()
