"""The Celery application: configured from Django settings (``CELERY_*``), tasks found by autodiscovery."""

import os

from celery import Celery
from celery.signals import beat_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("attest")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# the worker's heartbeat and liveness probe (workers.bootsteps; read by /healthz)
app.steps["consumer"].add("workers.bootsteps:LivenessStep")


@worker_process_init.connect(weak=False)
def _trace_pool_child(**kwargs) -> None:
    """Tracing (when on) starts in each pool child, where tasks run: export threads do not survive a fork."""
    from config import tracing

    tracing.setup("attest-worker")


@beat_init.connect(weak=False)
def _trace_beat(**kwargs) -> None:
    from config import tracing

    tracing.setup("attest-beat")


def task_named(name: str):
    """The task registered as ``name``, every app's tasks module imported first (autodiscovery).

    Looked up by name, not by importing the module the name spells: the workflow's and the accounts'
    tasks keep the ``governance.tasks.`` names they were registered under (beat schedules stored in the
    database and queued messages name them) though they live in ``workflow.tasks`` and ``accounts.tasks``.

    Services queue their app's tasks by name through the app's ``dispatch`` module: a tasks module calls
    services, so a service importing it would make an import cycle. The task object itself (not
    ``send_task``) is returned, so eager mode and a test's patched ``delay`` still apply.
    """
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]
