"""Per-task memory limits for pool children of workers on the heavy queues (checks, reports).

Each pool child of a worker that consumes one of ``ATTEST_WORKER_MEMORY_QUEUES`` caps its own address space
(``RLIMIT_AS``, soft limit) at ``ATTEST_WORKER_MEMORY_MB``: an allocation past it raises ``MemoryError`` in
that task, which fails with that reason, instead of the kernel's OOM killer choosing a process on the host.
The hard limit stays where it was, so a sandbox child started from the task may set its own limit (higher or
lower, see monitoring.sandbox). ``worker_max_memory_per_child`` replaces a child whose resident memory grew
past its bound after a task (leaks, fragmentation).
"""

from __future__ import annotations

import logging
import resource

MIB = 1024 * 1024
logger = logging.getLogger(__name__)


def applies_to(queues: set[str], limited_queues: list[str], limit_mb: int) -> bool:
    return bool(limit_mb) and bool(queues & set(limited_queues))


def cap_address_space(limit_mb: int) -> None:
    """Set this process's soft RLIMIT_AS (never above the hard limit it inherited)."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = limit_mb * MIB
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
