"""The audit log's single write path and its catalogue of actions.

Every service in every app calls ``record(...)`` inside its own transaction, so a change and the
event describing it commit or roll back together.

``record`` and ``ACTIONS`` are loaded on first use, so that the pure byte-format module
``audit.chain`` can be imported (by benchmarks, or an auditor's own script) without Django.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audit.actions import ACTIONS
    from audit.recorder import record

__all__ = ["ACTIONS", "record"]


def __getattr__(name: str) -> Any:
    if name == "record":
        from audit.recorder import record

        return record
    if name == "ACTIONS":
        from audit.actions import ACTIONS

        return ACTIONS
    raise AttributeError(f"module 'audit' has no attribute {name!r}")
