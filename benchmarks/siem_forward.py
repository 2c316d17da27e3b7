"""SIEM export: the forwarder's rate, and the lag from an event's commit to its arrival at the SIEM.

    .venv/bin/python benchmarks/siem_forward.py                  # 20,000 events
    .venv/bin/python benchmarks/siem_forward.py --events 5000 --rate 300 --seconds 10

Works in a throwaway database ``attest_bench_siem`` on the configured server, migrated from scratch and
dropped at the end. The receivers (``tests/integrations/siem_receivers.py``: syslog over TCP with RFC 6587
framing, and a Splunk HEC collector) run in a child process, so they do not share this one's interpreter:

* rate: N events written with ``record()``, then forwarded from seq 1 to a syslog and a HEC destination
  (``integrations.services.siem.forward``, batches of ``--batch``), events/s until acknowledged;
* lag: a forwarder process (``manage.py siem_forward``, its default 1 s pause when caught up) runs while
  this process writes ``--rate`` events/s for ``--seconds``, one transaction each; the lag of an event is
  its arrival time at the receiver minus its ``occurred_at`` (the database clock at ``record``, just
  before commit), p50/p95/max over every event written meanwhile, for each destination.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as common

sys.path.insert(0, str(common.REPO))
BENCH_DB = "attest_bench_siem"
TOKEN = "bench-token"  # noqa: S105 (the local collector's)


# ---------------------------------------------------------------------------------------------- database


def _urls() -> tuple[str, str]:
    base = os.environ["DATABASE_URL"]
    query = "?" + base.split("?", 1)[1] if "?" in base else ""
    return base.split("?", 1)[0].rpartition("/")[0], query


def _admin_sql(sql: str) -> None:
    admin_url, query = _urls()
    common.admin_sql(f"{admin_url}/postgres{query}", sql)


def create_database() -> None:
    admin_url, query = _urls()
    _admin_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    _admin_sql(f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = f"{admin_url}/{BENCH_DB}{query}"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], check=True, cwd=common.REPO)


def drop_database() -> None:
    _admin_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


# ---------------------------------------------------------------------------------------------- receivers


def receivers_main(ports, commands, answers) -> None:
    """The child process: a syslog receiver and a HEC collector; answers (seq, arrival) lists on request."""
    import json

    from tests.integrations.siem_receivers import HttpCollector, SyslogReceiver

    syslog, hec = SyslogReceiver(), HttpCollector(token=TOKEN)
    ports.put((syslog.port, hec.url))
    while commands.get() != "stop":
        syslog_seen = [
            (int(line.split("cn1=", 1)[1].split(" ", 1)[0]), at)
            for line, at in zip(list(syslog.lines), list(syslog.arrivals), strict=False)
        ]
        hec_seen = []
        for at, body in list(hec.arrivals):
            for line in body.decode().split("\n"):
                hec_seen.append((json.loads(line)["event"]["seq"], at))
        answers.put((syslog_seen, hec_seen))


class Receivers:
    def __init__(self):
        context = multiprocessing.get_context("fork")
        ports, self.commands, self.answers = context.Queue(), context.Queue(), context.Queue()
        self.process = context.Process(target=receivers_main, args=(ports, self.commands, self.answers))
        self.process.start()
        self.syslog_port, self.hec_url = ports.get(timeout=30)

    def seen(self) -> tuple[dict[int, float], dict[int, float]]:
        """First arrival time of each seq, at each receiver."""
        self.commands.put("seen")
        syslog, hec = self.answers.get(timeout=120)
        return dict(reversed(syslog)), dict(reversed(hec))

    def stop(self) -> None:
        self.commands.put("stop")
        self.process.join(10)


# ---------------------------------------------------------------------------------------------- work


def write_events(actor, count: int, *, rate: float | None = None) -> float:
    """``count`` events through ``record()``, one transaction each (at ``rate``/s when given); seconds taken."""
    from django.db import transaction

    from audit import record

    started = time.perf_counter()
    for number in range(count):
        if rate:
            pause = started + number / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        with transaction.atomic():
            record(action="system.worker_ping", actor=actor, obj=actor, after={"n": number, "bench": True})
    return time.perf_counter() - started


def forward_rate(pk: int, events: int) -> float:
    from integrations.services import siem

    started = time.perf_counter()
    outcome = siem.forward(pk, max_seconds=3600)
    elapsed = time.perf_counter() - started
    if outcome.status != "caught_up":
        raise SystemExit(f"forwarding stopped: {outcome}")
    return events / elapsed


def wait_for_arrival(receivers: Receivers, seq: int) -> tuple[dict[int, float], dict[int, float]]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen_syslog, seen_hec = receivers.seen()
        if seq in seen_syslog and seq in seen_hec:
            return seen_syslog, seen_hec
        time.sleep(0.2)
    raise SystemExit(f"seq {seq} did not arrive within two minutes")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rate", type=float, default=200.0, help="Events/s written during the lag run.")
    parser.add_argument("--seconds", type=float, default=15.0, help="Length of the lag run.")
    parser.add_argument("--keep", action="store_true", help="Keep the database.")
    args = parser.parse_args()
    os.chdir(common.REPO)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ATTEST_OUTBOUND_ALLOW_HOSTS"] = "127.0.0.1"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    tmp = Path(tempfile.mkdtemp(prefix="bench-siem-"))
    os.environ["ATTEST_AUDIT_SIGNING_KEY"] = str(tmp / "audit.pem")
    os.environ["ATTEST_AUDIT_EXPORT_DIR"] = str(tmp / "export")
    create_database()
    receivers = Receivers()
    forwarder = None
    try:
        import django

        django.setup()
        from accounts.models import User
        from audit.models import AuditEvent
        from integrations.models import SiemDestination
        from integrations.services import siem

        actor = User.objects.create(username="bench", is_superuser=True, is_staff=True)
        print(f"[bench] writing {args.events:,} events …", flush=True)
        wrote = write_events(actor, args.events)
        head = siem.head_seq()
        syslog = siem.destination_create(
            actor=actor,
            name="bench-syslog",
            kind="syslog",
            host="127.0.0.1",
            port=receivers.syslog_port,
            batch_size=args.batch,
        )
        hec = siem.destination_create(
            actor=actor,
            name="bench-hec",
            kind="splunk_hec",
            url=receivers.hec_url,
            token=TOKEN,
            batch_size=args.batch,
        )
        head = siem.head_seq()
        print(f"[bench] forwarding {head:,} events to each destination …", flush=True)
        rates = {"syslog (TCP, CEF)": forward_rate(syslog.pk, head), "Splunk HEC": forward_rate(hec.pk, head)}
        seen_syslog, seen_hec = receivers.seen()
        if len(seen_syslog) != head or len(seen_hec) != head:
            raise SystemExit(f"lost events: syslog {len(seen_syslog)}, HEC {len(seen_hec)} of {head}")

        forwarder = subprocess.Popen(
            [sys.executable, "manage.py", "siem_forward"], cwd=common.REPO, stdout=subprocess.DEVNULL
        )
        write_events(actor, 1)  # warm-up: measure once the forwarder process is up and caught up
        wait_for_arrival(receivers, siem.head_seq())
        count = int(args.rate * args.seconds)
        print(
            f"[bench] lag: writing {count:,} events at {args.rate:.0f}/s with a forwarder running …",
            flush=True,
        )
        first_new = siem.head_seq() + 1
        took = write_events(actor, count, rate=args.rate)
        last = siem.head_seq()
        seen_syslog, seen_hec = wait_for_arrival(receivers, last)
        committed = {
            seq: at.timestamp()
            for seq, at in AuditEvent.objects.filter(seq__gte=first_new, seq__lte=last).values_list(
                "seq", "occurred_at"
            )
        }
        rows = []
        for label, seen in (("syslog (TCP, CEF)", seen_syslog), ("Splunk HEC", seen_hec)):
            lags = [seen[seq] - at for seq, at in committed.items() if seq in seen]
            missing = len(committed) - len(lags)
            rows.append(
                [
                    label,
                    f"{rates[label]:,.0f}",
                    f"{1000 * statistics.median(lags):,.0f}",
                    f"{1000 * percentile(lags, 0.95):,.0f}",
                    f"{1000 * max(lags):,.0f}",
                    missing,
                ]
            )
        print(
            f"\nwrote {args.events:,} events in {wrote:.1f} s ({args.events / wrote:,.0f}/s); batch {args.batch}"
        )
        common.print_table(
            ["destination", "forwarded events/s", "lag p50 ms", "lag p95 ms", "lag max ms", "missing"], rows
        )
        print(
            f"lag run: {len(committed):,} events written at {count / took:.0f}/s (asked {args.rate:.0f}/s); "
            "forwarder: manage.py siem_forward (idle 1 s)"
        )
        print(common.machine_note())
        for destination in SiemDestination.objects.all():
            assert destination.last_seq_sent >= last, destination
    finally:
        if forwarder is not None:
            forwarder.terminate()
            forwarder.wait(10)
        receivers.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
