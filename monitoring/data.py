"""Reading a check's inputs from storage, each verified against the SHA-256 the registry recorded.

A check's evidence is only worth something if it was computed on the registered bytes, so every file is
hashed as it is read and a mismatch stops the run instead of measuring something else.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from registry import profiling, storage
from registry.models import DatasetVersion, ModelVersion

CHUNK = 1024 * 1024


class InputIntegrityError(RuntimeError):
    """A stored file no longer matches the SHA-256 recorded when it was registered."""


@contextmanager
def _verified_copy(key: str, expected_sha256: str, what: str) -> Iterator[Path]:
    """The blob copied into a private temporary file, hashed on the way; removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="attest-input-") as folder:
        path = Path(folder) / "blob"
        digest = hashlib.sha256()
        with storage.open_blob(key) as source, open(path, "wb") as target:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                target.write(chunk)
        if digest.hexdigest() != expected_sha256:
            raise InputIntegrityError(
                f"The stored {what} does not match its registered SHA-256 {expected_sha256} "
                f"(read {digest.hexdigest()}); it was changed or corrupted in storage."
            )
        yield path


def read_dataset(version: DatasetVersion) -> pd.DataFrame:
    """The whole dataset version as a DataFrame (types as pyarrow infers them over all rows)."""
    what = f"file of dataset {version}"
    with _verified_copy(version.file_key, version.file_sha256, what) as path, open(path, "rb") as handle:
        table = profiling.read_table(handle, version.file_format)
    return table.to_pandas()


@contextmanager
def artifact_file(version: ModelVersion) -> Iterator[Path]:
    """The version's artifact on local disk, verified, for the sandbox child to load."""
    with _verified_copy(version.artifact_key, version.artifact_sha256, f"artifact of {version}") as path:
        named = path.with_name(f"artifact.{version.artifact_format}")
        shutil.move(path, named)
        yield named
