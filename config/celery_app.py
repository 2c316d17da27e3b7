"""The Celery application: configured from Django settings (``CELERY_*``), tasks found by autodiscovery."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("attest")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# the worker's heartbeat and liveness probe (workers.bootsteps; read by /healthz)
app.steps["consumer"].add("workers.bootsteps:LivenessStep")
