"""The pages that compose several layers: the dashboard, a model's page and a version's page.

Each reads through the selectors of the apps below it (registry, monitoring, governance), so it sits above
every app (the import-linter ``layers`` contract in pyproject.toml). It has no models. Pages of one app's own
records stay in that app (``registry/views.py``, ``workflow/views/`` …).
"""
