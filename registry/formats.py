"""Artifact format detection from the bytes, never from the client's file name.

Recognised formats are those that can be loaded without running code from the file: ONNX, skops
(whose object types are listed without loading), XGBoost JSON/UBJSON and LightGBM text models. Pickle,
joblib and anything unrecognised is stored as an opaque blob and marked not executable: no Attest
process ever unpickles an upload. ONNX files that point at external tensor data are refused, because
the data they reference would come from a path the uploader chose; ONNX is read by protobuf's own parser
(``registry.onnx_scan``), which reads field tags as ONNX Runtime does, without loading external data.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from registry import archives, onnx_scan
from registry.models import ArtifactFormat

HEAD_BYTES = 64 * 1024
# skops object types outside skops' default trust list that plain scikit-learn models need; loading
# them constructs these classes from arrays, it does not run code from the file.
SKOPS_ACCEPTED_TYPES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.IdentityLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfSquaredError",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn.ensemble._gb.GradientBoostingClassifier",
        "sklearn.ensemble._gb.GradientBoostingRegressor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "numpy.dtype",
    }
)


class ArtifactRejected(ValueError):
    """The artifact is recognised but not acceptable (e.g. ONNX with external data)."""


@dataclass(frozen=True)
class Detected:
    format: str
    executable: bool
    details: dict[str, Any] = field(default_factory=dict)


def detect(fileobj: BinaryIO, *, path: str | None = None) -> Detected:
    """The format of the artifact in ``fileobj`` (read from its start; position restored to 0)."""
    fileobj.seek(0)
    head = fileobj.read(HEAD_BYTES)
    fileobj.seek(0)
    try:
        for probe in (_lightgbm, _xgboost_json, _xgboost_ubj, _pickle, _skops, _onnx):
            found = probe(head, fileobj, path)
            if found is not None:
                return found
    finally:
        fileobj.seek(0)
    return Detected(ArtifactFormat.OTHER, executable=False)


def _lightgbm(head: bytes, fileobj: BinaryIO, path: str | None) -> Detected | None:
    if head.startswith(b"tree\nversion=") or head.startswith(b"tree\r\nversion="):
        version = head.split(b"\n", 2)[1].partition(b"=")[2].strip().decode("ascii", "replace")
        return Detected(ArtifactFormat.LIGHTGBM_TXT, executable=True, details={"lightgbm_format": version})
    return None


def _xgboost_json(head: bytes, fileobj: BinaryIO, path: str | None) -> Detected | None:
    stripped = head.lstrip()
    if not stripped.startswith(b"{") or b'"learner"' not in head:
        return None
    try:
        document = json.load(fileobj)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(document, dict) or "learner" not in document:
        return None
    version = document.get("version")
    details = (
        {"xgboost_version": ".".join(str(part) for part in version)} if isinstance(version, list) else {}
    )
    return Detected(ArtifactFormat.XGBOOST_JSON, executable=True, details=details)


def _xgboost_ubj(head: bytes, fileobj: BinaryIO, path: str | None) -> Detected | None:
    # UBJSON object: '{', then a length-prefixed key; XGBoost writes "learner" (and "version") first.
    if head[:1] == b"{" and head[1:2] in {b"i", b"U", b"I", b"l", b"L"} and b"learner" in head[:24]:
        return Detected(ArtifactFormat.XGBOOST_UBJ, executable=True)
    return None


def _pickle(head: bytes, fileobj: BinaryIO, path: str | None) -> Detected | None:
    # Protocol 2+ starts with PROTO (0x80) and the protocol number; joblib's default is plain pickle.
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return Detected(ArtifactFormat.PICKLE, executable=False, details={"pickle_protocol": head[1]})
    return None


def _skops(head: bytes, fileobj: BinaryIO, path: str | None) -> Detected | None:
    """A zip holding ``schema.json`` is a skops file; one skops cannot read is refused, not stored opaque
    (its name says skops, its content would fail the first check run). Every zip is inspected against
    the archive caps before any member is read (``registry.archives``)."""
    if not archives.is_zip(head):
        return None
    try:
        summary = archives.inspect_zip(fileobj, _size_of(fileobj))
    except archives.NotAZip:
        return None
    except archives.ArchiveRefused as exc:
        raise ArtifactRejected(str(exc)) from None
    if "schema.json" not in summary.names:
        return None
    schema, untrusted = _skops_contents(fileobj, path)
    unexpected = sorted(set(untrusted) - SKOPS_ACCEPTED_TYPES)
    details = {
        "skops_protocol": schema.get("protocol"),
        "untrusted_types": untrusted,
        "unaccepted_types": unexpected,
    }
    return Detected(ArtifactFormat.SKOPS, executable=not unexpected, details=details)


def _size_of(fileobj: BinaryIO) -> int:
    fileobj.seek(0, 2)
    size = fileobj.tell()
    fileobj.seek(0)
    return size


def _skops_contents(fileobj: BinaryIO, path: str | None) -> tuple[dict[str, Any], list[str]]:
    """The schema and the untrusted types of a skops file; ArtifactRejected when skops cannot read it.

    skops raises whatever its walk of the schema meets first (KeyError, TypeError, AttributeError,
    ValueError...) on a hand-made ``schema.json``, so every exception from it is a refusal of the file.
    """
    try:
        with zipfile.ZipFile(fileobj) as archive:
            schema = json.loads(archive.read("schema.json"))
        if not isinstance(schema, dict):
            raise TypeError("schema.json is not a JSON object")
        return schema, _skops_untrusted_types(fileobj, path)
    except Exception as exc:  # any failure of skops on this file (see the docstring)
        raise ArtifactRejected(
            f"The zip holds a schema.json, so it is read as a skops file, and skops cannot read it "
            f"({type(exc).__name__}: {str(exc)[:200]}). Save the model with skops.io.dump."
        ) from None
    finally:
        fileobj.seek(0)


def _skops_untrusted_types(fileobj: BinaryIO, path: str | None) -> list[str]:
    import skops.io

    fileobj.seek(0)
    if path is not None:
        return sorted(skops.io.get_untrusted_types(file=path))
    return sorted(skops.io.get_untrusted_types(data=fileobj.read()))


def _onnx(head: bytes, fileobj: BinaryIO, path: str | None) -> Detected | None:
    # A ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
    if head[:1] != b"\x08":
        return None
    fileobj.seek(0, 2)
    size = fileobj.tell()
    try:
        summary = onnx_scan.scan(fileobj, size)
    except (onnx_scan.NotOnnx, OSError):
        return None
    if summary.ir_version <= 0 or not summary.has_graph or summary.nodes == 0:
        return None
    if summary.external_tensors:
        raise ArtifactRejected(
            f"ONNX models that reference external data are not accepted (tensor {summary.external_tensors[0]!r}); "
            "save the model with all tensors inside the file."
        )
    details = {"ir_version": summary.ir_version, "opsets": summary.opsets, "producer": summary.producer}
    return Detected(ArtifactFormat.ONNX, executable=True, details=details)
