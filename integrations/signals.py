"""Write back to MLflow when Attest announces an approval or gate event about a linked version."""

from __future__ import annotations

from django.dispatch import receiver

from integrations import dispatch
from integrations.services import writeback
from workflow.signals import announced

EVENT_PREFIXES = ("approval.", "gate.", "deployment.")


@receiver(announced, dispatch_uid="integrations.mlflow_write_back")
def write_back_on_announcement(sender, event_type: str, payload: dict, **kwargs) -> None:
    if not event_type.startswith(EVENT_PREFIXES):
        return
    for version_id in writeback.versions_announced(event_type, payload):
        dispatch.mlflow_write_back(version_id)
