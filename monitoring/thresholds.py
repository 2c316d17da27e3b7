"""Which thresholds a check run is judged against, and where each one comes from.

``resolve_thresholds(run)`` starts from the defaults below, lets each configured provider add or replace
values (the governance issue will register one that reads the model's policy), and finally applies the
thresholds given in the request. A provider can mark a value ``binding``; a binding value is not
replaced by the request. Every resolved value carries its ``source`` so a report can say why it applied.

Providers are dotted paths in ``ATTEST_THRESHOLD_PROVIDERS`` (setting or environment) to callables
``provider(run) -> dict[str, Threshold] | None``; they receive the unsaved or saved CheckRun and must not
write anything. Monitoring never imports the governance workflow: the dependency points the other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from monitoring.metrics import catalogue


@dataclass(frozen=True)
class Threshold:
    """A threshold value, where it came from, and whether a later source may replace it."""

    value: float | None
    source: str
    binding: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "binding": self.binding}


def known_names(kind: str) -> list[str]:
    return sorted(band.name for band in catalogue.thresholds_of(kind))


def defaults(kind: str) -> dict[str, Threshold]:
    """The declared default of every threshold of ``kind`` (None: not judged unless set)."""
    return {band.name: Threshold(band.default, band.source) for band in catalogue.thresholds_of(kind)}


def providers() -> list:
    return [import_string(path) for path in settings.ATTEST_THRESHOLD_PROVIDERS]


def resolve_thresholds(run, requested: dict[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """The thresholds that apply to ``run``: defaults, then providers (policy), then the request.

    ``requested`` defaults to ``run.config["thresholds"]``. The answer is JSON (stored on the run).
    """
    resolved = defaults(run.kind)
    for provider in providers():
        for name, threshold in (provider(run) or {}).items():
            resolved[name] = threshold
    requested = run.config.get("thresholds", {}) if requested is None else requested
    for name, value in requested.items():
        current = resolved.get(name)
        if current is not None and current.binding:
            continue
        resolved[name] = Threshold(value, "request")
    return {name: threshold.as_dict() for name, threshold in sorted(resolved.items())}
