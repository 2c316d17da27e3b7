"""The CSV feed that GRC systems (ServiceNow, Archer, OpenPages) pull: one row per check result.

Columns, in order: ``model, version, control, check, check_run, metric, subject, value, threshold,
result, evaluated_at, evidence_uri, sha256``. A result that is evidence for several controls appears once
per control (GRC tools key their records by control); a result mapped to no control has an empty
``control``. Times are ISO 8601 UTC (``2025-03-14T09:26:53Z``); numbers use Python's shortest round-trip
form with ``.`` as decimal separator; a missing number is an empty cell. The file is UTF-8 without a
byte-order mark, with CRLF line ends and minimal quoting (RFC 4180).

**Formula injection** (OWASP "CSV Injection"): a spreadsheet treats a cell that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return as a formula. Every text cell that begins with one of those
characters is prefixed with a single quote (``'=HYPERLINK(...)``), which spreadsheets show as text and
GRC importers keep verbatim. Numeric cells are written by this module from numbers, never from text,
so a negative value such as ``-0.5`` is left as it is.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Iterator, Sequence

from reports.evidence.records import CheckRun
from reports.rendering.inputs import utc_iso

COLUMNS = (
    "model",
    "version",
    "control",
    "check",
    "check_run",
    "metric",
    "subject",
    "value",
    "threshold",
    "result",
    "evaluated_at",
    "evidence_uri",
    "sha256",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(text: str) -> str:
    """``text`` made safe for spreadsheets: prefixed with ``'`` when it starts with a formula character."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def rows(runs: Iterable[CheckRun]) -> Iterator[list[str]]:
    """The feed's data rows (escaped, without the header), in the order of ``runs`` and their results."""
    for run in runs:
        for result in run.results:
            for control in run.controls or ("",):
                text = {
                    "model": run.model,
                    "control": control,
                    "check": run.check,
                    "check_run": run.run_id,
                    "metric": result.metric,
                    "subject": result.subject,
                    "result": result.result,
                    "evidence_uri": run.evidence_uri,
                    "sha256": run.evidence_sha256,
                }
                cells = {key: escape_cell(value) for key, value in text.items()}
                cells |= {
                    "version": str(run.version),
                    "value": _number(result.value),
                    "threshold": _number(result.threshold),
                    "evaluated_at": utc_iso(run.evaluated_at),
                }
                yield [cells[column] for column in COLUMNS]


def check_results_csv(runs: Sequence[CheckRun]) -> bytes:
    """The whole feed as UTF-8 bytes: a header row, then :func:`rows`."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows(runs))
    return buffer.getvalue().encode("utf-8")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(number)
