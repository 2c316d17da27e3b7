"""An LLM application's recorded evaluation set measured row by row, then summarised overall and per slice.

``llm_evaluation_report(frame, columns=..., region=..., min_slice_rows=...)`` computes every deterministic
metric of ``monitoring.metrics.text`` and ``monitoring.metrics.pii`` for each row and returns JSON: the
means over the rows a metric applies to (with those counts), the PII counts per type, and the same per
value of each slice column and of the human label. A metric needing a column the set lacks (no reference:
no exact match, F1 or ROUGE-L; no context: no answer support) is undefined with the reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import pii, text
from .errors import EmptyDataError

METRICS = ("exact_match", "token_f1", "rouge_l", "answer_support", "refusal_rate", "pii_leak_rate")
NEEDS = {
    "exact_match": "reference",
    "token_f1": "reference",
    "rouge_l": "reference",
    "answer_support": "context",
}
MAX_GROUPS = 100  # values of one slice column reported (the most frequent; the rest are counted)


def per_row(frame: pd.DataFrame, columns: dict[str, Any], *, region: str | None = None) -> pd.DataFrame:
    """One row per evaluated example: each metric's value (NaN where it does not apply) and PII flags."""
    output = frame[columns["output"]].reset_index(drop=True)
    rows = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    reference_name, context_name = columns.get("reference"), columns.get("context")
    output_tokens = text.squad_tokens(output)  # tokenised once for every SQuAD-style metric
    if reference_name:
        reference = frame[reference_name].reset_index(drop=True)
        has_reference = reference.notna().to_numpy()
        reference_tokens = text.squad_tokens(reference)
        for name, values in (
            ("exact_match", text.exact_match_tokens(output_tokens, reference_tokens)),
            ("token_f1", text.token_f1_tokens(output_tokens, reference_tokens)),
            ("rouge_l", text.rouge_l(output, reference)),
        ):
            rows[name] = np.where(has_reference, values, np.nan)
    if context_name:
        context_tokens = text.squad_tokens(frame[context_name].reset_index(drop=True))
        rows["answer_support"] = text.answer_support_tokens(output_tokens, context_tokens)
    rows["refusal_rate"] = text.refusals(output).astype(np.float64)
    flags = pii.pii_rows(output, region=region)
    for kind in pii.TYPES:
        rows[f"pii_{kind}"] = flags[kind]
    rows["pii_leak_rate"] = np.logical_or.reduce([flags[kind] for kind in pii.TYPES]).astype(np.float64)
    return rows


def summary(rows: pd.DataFrame, reasons: dict[str, str]) -> dict[str, Any]:
    """Means and counts over ``rows`` (JSON): ``metrics`` {name: {value, rows, reason}}, ``pii``, ``rows``."""
    metrics = {}
    for name in METRICS:
        if name not in rows:
            metrics[name] = {"value": None, "rows": 0, "reason": reasons.get(name, "not measured")}
            continue
        values = rows[name].to_numpy(dtype=np.float64)
        measured = int(np.isfinite(values).sum())
        entry: dict[str, Any] = {"value": float(np.nanmean(values)) if measured else None, "rows": measured}
        if not measured:
            entry["reason"] = "no row it applies to"
        if name in ("exact_match", "refusal_rate", "pii_leak_rate"):
            entry["count"] = int(np.nansum(values))
        metrics[name] = entry
    leaked = {kind: int(rows[f"pii_{kind}"].sum()) for kind in pii.TYPES}
    count = len(rows)
    return {
        "rows": count,
        "metrics": metrics,
        "pii": {
            kind: {"rows": leaked[kind], "rate": leaked[kind] / count if count else None}
            for kind in pii.TYPES
        },
    }


def _groups(rows: pd.DataFrame, key: pd.Series, reasons: dict[str, str], min_rows: int) -> dict[str, Any]:
    values = key.reset_index(drop=True)
    labels = values.astype(object).where(values.notna(), None)
    counts = labels.value_counts(dropna=False)
    kept = list(counts.index[:MAX_GROUPS])
    groups = []
    for label in kept:
        mask = labels.isna().to_numpy() if label is None else (labels == label).to_numpy()
        part = summary(rows[mask], reasons)
        groups.append({"value": _json_label(label), "judged": part["rows"] >= min_rows, **part})
    return {"groups": groups, "omitted_groups": int(len(counts) - len(kept))}


def _json_label(value: Any) -> Any:
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value if isinstance(value, int | float) else str(value)


def llm_evaluation_report(
    frame: pd.DataFrame,
    *,
    columns: dict[str, Any],
    region: str | None = None,
    min_slice_rows: int = 30,
) -> dict[str, Any]:
    """The evaluation set's metrics overall, per slice column value and per human label (JSON-safe).

    ``columns``: ``output`` (required), ``reference``, ``context``, ``input``, ``label`` (each a column
    name or None) and ``slices`` (a list of column names). Groups with fewer than ``min_slice_rows`` rows
    are reported with ``judged`` false.
    """
    if len(frame) == 0:
        raise EmptyDataError("The evaluation dataset has no rows")
    rows = per_row(frame, columns, region=region)
    reasons = {
        name: f"the dataset has no {needed} column"
        for name, needed in NEEDS.items()
        if not columns.get(needed)
    }
    output = frame[columns["output"]]
    report: dict[str, Any] = {
        "kind": "llm_evaluation",
        "columns": columns,
        "phone_region": region,
        "min_slice_rows": min_slice_rows,
        "overall": summary(rows, reasons),
        "missing_outputs": int(output.isna().sum()),
        "missing_references": int(frame[columns["reference"]].isna().sum())
        if columns.get("reference")
        else None,
        "slices": [
            {"column": name, **_groups(rows, frame[name], reasons, min_slice_rows)}
            for name in columns.get("slices") or []
        ],
        "by_label": (
            {"column": columns["label"], **_groups(rows, frame[columns["label"]], reasons, min_slice_rows)}
            if columns.get("label")
            else None
        ),
        "refusal_patterns": list(text.REFUSAL_PATTERNS),
    }
    return report
