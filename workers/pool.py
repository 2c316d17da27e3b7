"""A prefork pool whose children may be killed at any moment without stopping the worker.

Why the stock pool stops: a transport that cannot run in Celery's event loop (kombu's filesystem broker,
which ``make run`` uses without a ``CELERY_BROKER_URL``) makes the worker fall back to billiard's classic
``Pool``. Its children share one job pipe guarded by a POSIX semaphore, and an idle child holds that
semaphore *while it blocks reading the pipe*. ``kill -9`` of that child leaves the semaphore taken for ever:
every later child, the replacements included, waits on it (``futex_wait``), the worker keeps receiving tasks
and executes none. (With Redis or RabbitMQ the worker uses ``AsynPool``, one pipe per child, and recovers.)

Here the pipe locks are ``fcntl`` record locks, which the kernel drops when their holder dies.
"""

from __future__ import annotations

import fcntl
import tempfile
import time

from billiard.pool import Pool as BlockingPool
from celery.concurrency import prefork

RETRY_SECONDS = 0.01


class ProcessLock:
    """A lock between processes that is released when the process holding it dies, however it dies.

    POSIX record locks belong to a process (not a file descriptor), so children that inherit the file at fork
    exclude each other; the kernel removes a dead process's locks. One thread per process uses it.
    """

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="attest-pool-lock-")  # noqa: SIM115 (lives with the pool)

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        if block and timeout is None:
            fcntl.lockf(self._file, fcntl.LOCK_EX)
            return True
        deadline = time.monotonic() + (timeout or 0.0)
        while True:
            try:
                fcntl.lockf(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except OSError:
                if not block or time.monotonic() >= deadline:
                    return False
                time.sleep(RETRY_SECONDS)

    def release(self) -> None:
        fcntl.lockf(self._file, fcntl.LOCK_UN)

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()


class DeathSafePool(BlockingPool):
    """billiard's classic pool with the locks its children take replaced by ``ProcessLock``s."""

    def _setup_queues(self) -> None:
        super()._setup_queues()
        self._inqueue._rlock = ProcessLock()  # taken by a child while it waits for its next job
        self._outqueue._wlock = ProcessLock()  # taken by a child while it writes a result


class TaskPool(prefork.TaskPool):
    """Celery's prefork pool (``worker_pool`` setting); unchanged with event-loop transports."""

    BlockingPool = DeathSafePool
