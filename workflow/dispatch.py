"""Queue governance's tasks, by name: services call these and never import ``governance.tasks``.

The tasks module calls the services (tasks take ids and call a service), so the services reach the tasks
through here, where each is looked up by its registered name when it is sent.
"""

from __future__ import annotations

from typing import Any

from config.celery_app import task_named

AUDIT_VERIFY = "governance.tasks.audit_verify"
DELIVER_WEBHOOK = "governance.tasks.deliver_webhook"
SEND_NOTIFICATION_EMAIL = "governance.tasks.send_notification_email"


def audit_verify(verification_id: int) -> None:
    task_named(AUDIT_VERIFY).delay(verification_id)


def deliver_webhook(delivery_id: int) -> None:
    task_named(DELIVER_WEBHOOK).delay(delivery_id)


def send_notification_email(event_type: str, body: dict[str, Any], emails: list[str]) -> None:
    task_named(SEND_NOTIFICATION_EMAIL).delay(event_type, body, emails)
