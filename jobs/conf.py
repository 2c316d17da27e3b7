"""Settings of the job mechanism: Django settings first, then the environment, then the default.

Each can be overridden per kind by the kind's declaration (``jobs.kinds.JobKind``); a test sets
``settings.NAME = ...``; a deployment sets the environment variable of the same name.
"""

from __future__ import annotations

from django.conf import settings

from config.env import env_int

_DEFAULTS = {
    # a claimed job's lease; its worker renews it every third of this while it works
    "ATTEST_JOB_LEASE_SECONDS": lambda: env_int("ATTEST_JOB_LEASE_SECONDS", 120, minimum=2),
    # claims (attempts) per job before it is failed for good
    "ATTEST_JOB_MAX_ATTEMPTS": lambda: env_int("ATTEST_JOB_MAX_ATTEMPTS", 3, minimum=1),
    # the first retry waits this long, each next one twice as long, up to the maximum
    "ATTEST_JOB_BACKOFF_SECONDS": lambda: env_int("ATTEST_JOB_BACKOFF_SECONDS", 30, minimum=1),
    "ATTEST_JOB_BACKOFF_MAX_SECONDS": lambda: env_int("ATTEST_JOB_BACKOFF_MAX_SECONDS", 3600, minimum=1),
    # a job waiting (queued, or due for a retry) this long without a claim has its task sent again
    "ATTEST_JOB_RESEND_SECONDS": lambda: env_int("ATTEST_JOB_RESEND_SECONDS", 600, minimum=1),
    # how often beat runs the reaper
    "ATTEST_JOB_REAP_EVERY_SECONDS": lambda: env_int("ATTEST_JOB_REAP_EVERY_SECONDS", 60, minimum=1),
    # test hook: seconds a claimed job sleeps (its lease renewed) before working; 0 in production
    "ATTEST_TEST_JOB_DELAY": lambda: env_int("ATTEST_TEST_JOB_DELAY", 0, minimum=0),
}


def get(name: str):
    """The setting ``name``: Django settings first, then the environment, then the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    return _DEFAULTS[name]()
