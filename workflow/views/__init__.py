"""Governance pages (server-rendered, htmx where it helps), one module per topic: accounts, approvals,
findings and the audit log (the dashboard composes every app: web/views/dashboard.py).

Every page reads through ``workflow.selectors`` — the API's permission scoping — and writes through the
services, so a page shows and does exactly what the API would for the same user.
"""
