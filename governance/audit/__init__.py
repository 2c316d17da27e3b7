"""The audit log's single write path and its catalogue of actions.

Every service in every app calls ``record(...)`` inside its own transaction, so a change and the
event describing it commit or roll back together.
"""

from governance.audit.actions import ACTIONS
from governance.audit.recorder import record

__all__ = ["ACTIONS", "record"]
