"""The Celery application: configured from Django settings (``CELERY_*``), tasks found by autodiscovery."""

import importlib
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("attest")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# the worker's heartbeat and liveness probe (workers.bootsteps; read by /healthz)
app.steps["consumer"].add("workers.bootsteps:LivenessStep")


def task_named(name: str):
    """The task registered as ``name`` (``package.module.function``), its module imported first.

    Services queue their app's tasks by name through the app's ``dispatch`` module: a tasks module calls
    services, so a service importing it would make an import cycle. The task object itself (not
    ``send_task``) is returned, so eager mode and a test's patched ``delay`` still apply.
    """
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(module), function)
