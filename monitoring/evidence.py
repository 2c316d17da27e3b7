"""A check's stored results: their canonical digest and the library versions behind them (their typed
form and format version: ``monitoring.results``)."""

from __future__ import annotations

import hashlib
import importlib.metadata
from typing import Any

import rfc8785

LIBRARIES = {
    "numpy": "numpy",
    "scipy": "scipy",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "numba": "numba",
    "shap": "shap",
    "sklearn": "scikit-learn",
    "attest": "attest",
}


def canonical_sha256(results: dict[str, Any]) -> str:
    """SHA-256 of the RFC 8785 (JSON Canonicalization Scheme) bytes of ``results``.

    The governance evidence digest includes this value, so it must depend only on the numbers: results
    hold no timings and no NaN (the metrics package guarantees JSON-safe output).
    """
    return hashlib.sha256(rfc8785.dumps(results)).hexdigest()


def library_versions(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Installed versions of the libraries a check's numbers depend on (plus the sandbox's, if any)."""
    versions = {}
    for name, distribution in LIBRARIES.items():
        try:
            versions[name] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions | dict(extra or {})
