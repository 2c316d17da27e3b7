"""The worker process side of background work: a prefork pool that survives losing its children, per-task
memory limits, and liveness (heartbeats per worker and queue, read by /healthz and ``manage.py worker_health``).

Job records and their claims live with each job (``jobs``); this app only knows processes and queues.
"""
