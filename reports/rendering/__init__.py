"""PDF reports: deterministic SVG charts, Django templates, WeasyPrint in a fenced worker process.

Builders: :mod:`.validation`, :mod:`.documentation` (EU AI Act Annex IV), :mod:`.monitoring`,
:mod:`.audit_evidence`; each takes a plain input dataclass and returns a
:class:`~reports.rendering.common.RenderedReport`. See docs/REPORTS.md.

Nothing is imported here: the render worker imports this package and must stay free of Django.
"""
