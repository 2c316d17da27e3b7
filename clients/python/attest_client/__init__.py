"""A small client for the Attest API and the ``attest`` command line built on it."""

from attest_client.client import Client, Page
from attest_client.errors import ApiError, TransportError, WaitTimeout
from attest_client.resources import Approval, CheckRun, DatasetVersion, GateDecision, Model, Report, Version

__all__ = [
    "ApiError",
    "Approval",
    "CheckRun",
    "Client",
    "DatasetVersion",
    "GateDecision",
    "Model",
    "Page",
    "Report",
    "TransportError",
    "Version",
    "WaitTimeout",
]
