"""Checking uploaded CSV and Parquet files, so that a bad file is refused at upload with its location.

``inspect_file`` reads the whole file once, streaming (pyarrow's incremental CSV reader, or the Parquet
footer), and either returns the columns or raises ``BadDataFile`` naming the problem and, where there
is one, the row (1-based line of the file, the header being row 1) and the column.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

CSV = "csv"  # the values of registry.models.datasets.FileFormat; this module stays free of Django
PARQUET = "parquet"
HEADER_PROBE_BYTES = 1024 * 1024
SAMPLE_BYTES = 1024 * 1024
_ARROW_LOCATION = re.compile(r"(?:In CSV column #(?P<column>\d+): )?(?:CSV parse error: )?Row #(?P<row>\d+)")


class BadDataFile(ValueError):
    """The file cannot be a dataset version; ``row`` and ``column`` locate the problem when known."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None):
        super().__init__(message)
        self.message = message
        self.row = row
        self.column = column


@dataclass(frozen=True)
class TableInfo:
    columns: list[dict[str, str]]  # [{"name", "type"}] in file order
    row_count: int | None  # known without profiling for Parquet only


def guess_format(head: bytes, filename: str) -> str:
    """Parquet files start with ``PAR1``; everything else is treated as CSV."""
    if head.startswith(b"PAR1") or filename.lower().endswith((".parquet", ".pq")):
        return PARQUET
    return CSV


def inspect_file(fileobj: BinaryIO, file_format: str) -> TableInfo:
    fileobj.seek(0)
    try:
        if file_format == PARQUET:
            return _inspect_parquet(fileobj)
        return _inspect_csv(fileobj)
    finally:
        fileobj.seek(0)


def _inspect_parquet(fileobj: BinaryIO) -> TableInfo:
    try:
        parquet = pq.ParquetFile(fileobj)
        schema = parquet.schema_arrow
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise BadDataFile(f"This is not a Parquet file pyarrow can read: {exc}") from None
    names = list(schema.names)
    _check_names(names)
    if parquet.metadata.num_rows == 0:
        raise BadDataFile("The Parquet file has no rows.")
    columns = [{"name": f.name, "type": str(f.type)} for f in schema]
    return TableInfo(columns=columns, row_count=parquet.metadata.num_rows)


def _inspect_csv(fileobj: BinaryIO) -> TableInfo:
    probe = fileobj.read(HEADER_PROBE_BYTES)
    if not probe.strip():
        raise BadDataFile("The file is empty.")
    names = _header(probe)
    _check_names(names)
    fileobj.seek(0)
    rows = _scan_rows(fileobj, names)
    if rows == 0:
        raise BadDataFile("The file has a header but no data rows.", row=2)
    _refuse_nul(fileobj, names)
    return TableInfo(columns=_sample_types(probe, names), row_count=None)


def _refuse_nul(fileobj: BinaryIO, names: list[str]) -> None:
    """A NUL character is valid UTF-8 but no text column can hold it (PostgreSQL refuses it in text and
    JSON), so a profile or check would fail on it later: refuse it now, naming its line and column."""
    fileobj.seek(0)
    offset = 0
    while chunk := fileobj.read(SAMPLE_BYTES):
        at = chunk.find(b"\x00")
        if at >= 0:
            raise _nul_at(fileobj, offset + at, names)
        offset += len(chunk)


def _nul_at(fileobj: BinaryIO, offset: int, names: list[str]) -> BadDataFile:
    fileobj.seek(0)
    before = fileobj.read(offset)
    line = before.count(b"\n") + 1
    start = before.rfind(b"\n") + 1
    text = before[start:].decode("utf-8", errors="replace").rstrip("\r")
    position = len(next(csv.reader([text]), [""])) if text else 1
    column = names[position - 1] if 0 < position <= len(names) else f"#{position}"
    return BadDataFile(
        f"Line {line}, column {column!r} holds a NUL character (byte 0), which no column can store; "
        "remove it from the file.",
        row=line,
        column=column,
    )


def _header(probe: bytes) -> list[str]:
    first_line = probe.split(b"\n", 1)[0]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadDataFile(f"The header is not valid UTF-8 (byte {exc.start + 1}).", row=1) from None
    names = next(csv.reader([text.rstrip("\r")]), [])
    if not names:
        raise BadDataFile("The file has no header row.", row=1)
    if all(_looks_numeric(name) for name in names):
        raise BadDataFile(
            "The first row looks like data, not a header (every value is a number); "
            "add a header row with the column names.",
            row=1,
        )
    return names


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _check_names(names: list[str]) -> None:
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise BadDataFile(f"Column {position} has an empty name.", row=1, column=f"#{position}")
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        positions = [str(i) for i, name in enumerate(names, start=1) if name == duplicates[0]]
        raise BadDataFile(
            f"The column name {duplicates[0]!r} appears more than once (columns {', '.join(positions)}).",
            row=1,
            column=duplicates[0],
        )


def _scan_rows(fileobj: BinaryIO, names: list[str]) -> int:
    """Count data rows; refuse ragged rows and invalid UTF-8, reading every column as text.

    The common case (a good file) is read with pyarrow's threads; only a bad file is read again
    single-threaded, the mode in which pyarrow can say which row is at fault.
    """
    try:
        return _count_rows(fileobj, names, threaded=True)
    except (pa.ArrowInvalid, BadDataFile):
        fileobj.seek(0)
        return _count_rows(fileobj, names, threaded=False)


def _count_rows(fileobj: BinaryIO, names: list[str], *, threaded: bool) -> int:
    ragged: list[pa_csv.InvalidRow] = []

    def on_invalid_row(row: pa_csv.InvalidRow) -> str:
        ragged.append(row)
        return "error"

    read_options = pa_csv.ReadOptions(use_threads=threaded, block_size=8 * 1024 * 1024)
    parse_options = pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid_row)
    convert_options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True
    )
    rows = 0
    try:
        reader = pa_csv.open_csv(
            fileobj, read_options=read_options, parse_options=parse_options, convert_options=convert_options
        )
        for batch in reader:
            rows += batch.num_rows
    except pa.ArrowInvalid as exc:
        if threaded:
            raise
        raise _located(exc, ragged, names) from None
    return rows


def _located(exc: Exception, ragged: list, names: list[str]) -> BadDataFile:
    if ragged:
        row = ragged[0]
        return BadDataFile(
            f"Row {row.number} has {row.actual_columns} values; the header has {row.expected_columns} columns.",
            row=row.number,
        )
    text = str(exc)
    match = _ARROW_LOCATION.search(text)
    row = int(match["row"]) if match else None
    column = names[int(match["column"])] if match and match["column"] is not None else None
    if "UTF8" in text or "UTF-8" in text:
        where = f" in row {row}" if row else ""
        where += f", column {column!r}" if column else ""
        return BadDataFile(f"The file is not valid UTF-8{where}.", row=row, column=column)
    return BadDataFile(f"The CSV file cannot be parsed: {text}", row=row, column=column)


def _sample_types(probe: bytes, names: list[str]) -> list[dict[str, str]]:
    """Column types guessed from the first megabyte (the profile later reports the types of all rows)."""
    complete = probe[: probe.rfind(b"\n") + 1] if len(probe) >= HEADER_PROBE_BYTES else probe
    try:
        table = pa_csv.read_csv(io.BytesIO(complete[:SAMPLE_BYTES] or probe))
        types = {field.name: str(field.type) for field in table.schema}
    except pa.ArrowException:
        types = {}
    return [{"name": name, "type": types.get(name, "string")} for name in names]
