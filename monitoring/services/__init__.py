"""Monitoring writes. Each service is one transaction that checks permission and writes its audit event.

``runs`` queues, executes and reaps check runs; ``leases`` is how a worker holds a run; ``plans``
manages monitoring plans and their schedules; ``alerts`` records breaches. Services raise
``ValidationError`` (400, naming the field) and ``PermissionDenied`` (403); callers fetch objects
through ``monitoring.selectors`` / ``registry.selectors`` first, so invisible objects are 404s.
"""
