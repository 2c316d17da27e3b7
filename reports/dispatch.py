"""Queue the reports app's tasks, by name: services call these and never import ``reports.tasks``.

The tasks module calls the services (tasks take ids and call a service), so the services reach the tasks
through here, where each is looked up by its registered name when it is sent.
"""

from __future__ import annotations

from config.celery_app import task_named

RENDER_REPORT = "reports.tasks.render_report"
BUILD_BUNDLE = "reports.tasks.build_bundle"
DELIVER = "reports.tasks.deliver"


def render_report(report_id: int) -> None:
    task_named(RENDER_REPORT).delay(report_id)


def build_bundle(bundle_id: int) -> None:
    task_named(BUILD_BUNDLE).delay(bundle_id)


def deliver(delivery_id: int) -> None:
    task_named(DELIVER).delay(delivery_id)
