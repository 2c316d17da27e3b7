"""One way to name a model version or a dataset version, in every request field and query parameter.

A model version: ``name`` (its newest version), ``name:version``, or MLflow's ``models:/name/version`` and
``models:/name@alias`` (an alias such as ``champion``, moved with PUT …/aliases/{alias}/). A dataset
version: ``name`` (its newest version) or ``name:version``. Parsing is pure; resolving within the user's
scope is ``registry.selectors.model_version_by_reference`` / ``dataset_version_by_reference``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MODEL_FORMS = "`name` (its newest version), `name:version`, `models:/name/version` or `models:/name@alias`"
DATASET_FORMS = "`name` (its newest version) or `name:version`"
MODEL_REFERENCE_HELP = f"A model version: {MODEL_FORMS}."
DATASET_REFERENCE_HELP = f"A dataset version: {DATASET_FORMS}."

_NAME = r"[A-Za-z0-9_-]{1,100}"
_NUMBER = r"[1-9][0-9]{0,8}"  # below 2^31: a version column is a 32-bit integer
_ALIAS = r"[A-Za-z0-9_-]{1,64}"
_PLAIN = rf"(?P<name>{_NAME})(?::(?P<version>{_NUMBER}))?"
_MLFLOW = rf"models:/(?P<name>{_NAME})(?:/(?P<version>{_NUMBER})|@(?P<alias>{_ALIAS}))"
# The same grammar as JSON-schema patterns (no named groups), for the OpenAPI descriptions.


def _unnamed(grammar: str) -> str:
    return re.sub(r"\?P<\w+>", "?:", grammar)


DATASET_PATTERN = f"^{_unnamed(_PLAIN)}$"
MODEL_PATTERN = f"^(?:{_unnamed(_PLAIN)}|{_unnamed(_MLFLOW)})$"
_PLAIN_RE = re.compile(_PLAIN)
_MLFLOW_RE = re.compile(_MLFLOW)


class InvalidReference(ValueError):
    """The text names no version in an accepted form; the message lists the forms."""


@dataclass(frozen=True)
class Reference:
    name: str
    version: int | None = None  # neither version nor alias: the newest version
    alias: str | None = None

    @property
    def is_bare_name(self) -> bool:
        return self.version is None and self.alias is None


def parse_model_reference(text: str) -> Reference:
    match = _PLAIN_RE.fullmatch(text.strip()) or _MLFLOW_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidReference(f"Not a model version reference: give {MODEL_FORMS}.")
    return _reference(match)


def parse_dataset_reference(text: str) -> Reference:
    match = _PLAIN_RE.fullmatch(text.strip())
    if match is None:
        raise InvalidReference(f"Not a dataset version reference: give {DATASET_FORMS}.")
    return _reference(match)


def _reference(match: re.Match) -> Reference:
    groups = match.groupdict()
    version = groups.get("version")
    return Reference(
        name=groups["name"], version=int(version) if version else None, alias=groups.get("alias")
    )
