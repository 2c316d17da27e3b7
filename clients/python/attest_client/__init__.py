"""A small client for the Attest API and the ``attest`` command line built on it."""

from attest_client.client import Client, Page
from attest_client.errors import ApiError, TransportError, WaitTimeout
from attest_client.resources import (
    Approval,
    Bundle,
    CheckRun,
    DatasetVersion,
    Deployment,
    GateDecision,
    MlflowRegistry,
    MlflowSync,
    Model,
    Report,
    Version,
)

__all__ = [
    "ApiError",
    "Approval",
    "Bundle",
    "CheckRun",
    "Client",
    "DatasetVersion",
    "Deployment",
    "GateDecision",
    "MlflowRegistry",
    "MlflowSync",
    "Model",
    "Page",
    "Report",
    "TransportError",
    "Version",
    "WaitTimeout",
]
