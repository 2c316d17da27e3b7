"""One durable-job mechanism for every background job (see docs/ARCHITECTURE.md, "Background jobs").

A leaf app: it imports only ``audit`` (to record its events) and Django/Celery; the apps
that own job models declare their kinds here (``jobs.kinds.register``) and call ``jobs.leases``.
"""
