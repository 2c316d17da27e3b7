"""Monitoring settings: read from Django settings when set there, else from the environment, typed.

Each value can be overridden in tests with ``settings.NAME = ...``; in deployments set the environment
variable of the same name. A malformed value stops the process naming the variable (config.env).
"""

from __future__ import annotations

from django.conf import settings

from config.env import env_int, env_str

DEFAULT_ALERT_TASK = "governance.tasks.process_monitoring_alert"

_DEFAULTS = {
    # a running run's lease; the worker renews it every third of this while it works
    "ATTEST_CHECK_LEASE_SECONDS": lambda: env_int("ATTEST_CHECK_LEASE_SECONDS", 120, minimum=2),
    # a run waiting (never claimed) this long has its task sent again: a broker may have lost it
    "ATTEST_CHECK_RESEND_SECONDS": lambda: env_int("ATTEST_CHECK_RESEND_SECONDS", 1800, minimum=1),
    # claims per run before it is failed for good (worker crashes, time-outs)
    "ATTEST_CHECK_MAX_ATTEMPTS": lambda: env_int("ATTEST_CHECK_MAX_ATTEMPTS", 3, minimum=1),
    # sandboxed model execution (scoring, SHAP): address-space cap and wall-clock limit of the child
    "ATTEST_SANDBOX_MEMORY_MB": lambda: env_int("ATTEST_SANDBOX_MEMORY_MB", 4096, minimum=256),
    "ATTEST_SANDBOX_SECONDS": lambda: env_int("ATTEST_SANDBOX_SECONDS", 900, minimum=1),
    # largest file a sandbox child may write (its outputs), in MB
    "ATTEST_SANDBOX_FILE_MB": lambda: env_int("ATTEST_SANDBOX_FILE_MB", 1024, minimum=1),
    # Celery task name told about each new alert; empty turns the notification off
    "ATTEST_ALERT_TASK": lambda: env_str("ATTEST_ALERT_TASK", DEFAULT_ALERT_TASK),
    # test hook: seconds a check sleeps (with its lease renewed) before computing; 0 in production
    "ATTEST_TEST_CHECK_DELAY": lambda: env_int("ATTEST_TEST_CHECK_DELAY", 0, minimum=0),
    # dotted paths of threshold providers (see monitoring.thresholds)
    "ATTEST_THRESHOLD_PROVIDERS": lambda: [
        item.strip() for item in env_str("ATTEST_THRESHOLD_PROVIDERS", "").split(",") if item.strip()
    ],
}


def get(name: str):
    """The setting ``name``: Django settings first, then the environment, then the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    return _DEFAULTS[name]()
