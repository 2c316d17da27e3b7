"""Red-team reports: read a garak or promptfoo report, count attacks and successful ones per probe or plugin,
and group them by OWASP Top 10 for LLM Applications (2025) category with their MITRE ATLAS techniques.

Pure functions, no Django: ``parse(format, raw_bytes)`` returns the results stored on a RedTeamRun (a plain
JSON object), or raises ReportError with a message for the field ``report``. The attack success rate (ASR)
is failed defences over attempts judged: for garak one attempt is one output scored by one detector
(``fails`` / ``total_evaluated`` of its ``eval`` entries, ``total - passed`` / ``total`` in reports before
garak 0.10); for promptfoo one attempt is one graded result (``success: false`` is a successful attack;
results that ended in an error are counted apart, not judged). The mapping is data: taxonomy.json.
"""

from __future__ import annotations

import json
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

GARAK, PROMPTFOO = "garak", "promptfoo"
FORMATS = (GARAK, PROMPTFOO)
UNMAPPED = "unmapped"
RESULTS_FORMAT = "attest.red-team-results.v1"
MAX_SOURCES = 5000  # distinct probe/detector or plugin/strategy rows kept in one run's results


class ReportError(ValueError):
    """The report cannot be read as the declared format (the message says where and why)."""


@cache
def taxonomy() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "taxonomy.json").read_text(encoding="utf-8"))


def owasp_name(category: str) -> str:
    return taxonomy()["owasp"].get(category, "(no OWASP category)")


def atlas_name(technique: str) -> str:
    return taxonomy()["atlas"].get(technique, technique)


def classify(fmt: str, name: str, strategy: str = "") -> tuple[str, list[str]]:
    """(OWASP category or 'unmapped', ATLAS technique ids) of a garak probe or a promptfoo plugin/strategy."""
    data = taxonomy()
    table = data["garak"] if fmt == GARAK else data["promptfoo_plugins"]
    key = name.removeprefix("probes.") if fmt == GARAK else name
    entry = table.get(key) or table.get(key.split("." if fmt == GARAK else ":", 1)[0])
    category, atlas = (entry["owasp"], list(entry["atlas"])) if entry else (UNMAPPED, [])
    if fmt == PROMPTFOO and strategy:
        strategy_atlas = data["promptfoo_strategies"].get(strategy) or data["promptfoo_strategies"].get(
            strategy.split(":", 1)[0], []
        )
        atlas += [technique for technique in strategy_atlas if technique not in atlas]
    return category, atlas


def parse(fmt: str, raw: bytes) -> dict[str, Any]:
    if fmt not in FORMATS:
        raise ReportError(f"Unknown format {fmt!r}: one of {', '.join(FORMATS)}.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReportError(f"The report is not UTF-8 text (byte {exc.start}).") from None
    rows, facts = _garak(text) if fmt == GARAK else _promptfoo(text)
    return summarise(fmt, rows, facts)


# --- garak ---------------------------------------------------------------------------------------------
# Format: garak's report.jsonl (docs/source/reporting.rst in github.com/NVIDIA/garak): one JSON object per
# line with an ``entry_type``; ``eval`` entries are written by garak/evaluators/base.py once per
# probe/detector pair with ``probe``, ``detector``, ``passed``, ``fails``, ``nones``, ``total_evaluated``
# and ``total_processed`` (before garak 0.10: ``passed`` and ``total``); ``init`` carries ``garak_version``,
# ``start_run setup`` the run's configuration (``plugins.target_type``, ``plugins.target_name``).


def _garak(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    facts: dict[str, Any] = {"tool_version": "", "target": "", "skipped": 0}
    seen_entry = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise ReportError(
                f"Line {number} is not JSON: a garak report has one JSON object per line."
            ) from None
        if not isinstance(entry, dict) or not isinstance(entry.get("entry_type"), str):
            raise ReportError(f"Line {number} has no entry_type: not a garak report.jsonl entry.")
        seen_entry = True
        kind = entry["entry_type"]
        if kind == "init":
            facts["tool_version"] = str(entry.get("garak_version", ""))[:50]
        elif kind == "start_run setup":
            target = " ".join(
                str(entry.get(key, "")) for key in ("plugins.target_type", "plugins.target_name")
            ).strip()
            facts["target"] = target[:200]
        elif kind == "eval":
            rows.append(_garak_eval(entry, number))
            facts["skipped"] += rows[-1].pop("nones")
    if not seen_entry:
        raise ReportError("The report is empty.")
    if not rows:
        raise ReportError(
            "The report has no 'eval' entries: the garak run did not finish evaluating any probe."
        )
    return rows, facts


def _garak_eval(entry: dict[str, Any], number: int) -> dict[str, Any]:
    probe, detector = entry.get("probe"), entry.get("detector")
    if not isinstance(probe, str) or not probe or not isinstance(detector, str):
        raise ReportError(f"Line {number}: an eval entry needs 'probe' and 'detector'.")
    passed = _count(entry, "passed", number)
    if "total_evaluated" in entry:
        total = _count(entry, "total_evaluated", number)
        fails = _count(entry, "fails", number) if "fails" in entry else total - passed
        nones = _count(entry, "nones", number) if "nones" in entry else 0
    else:
        total = _count(entry, "total", number)
        fails, nones = total - passed, 0
    if passed + fails != total:
        raise ReportError(
            f"Line {number}: passed ({passed}) and fails ({fails}) do not add up to the total ({total})."
        )
    probe = probe.removeprefix("probes.")
    category, atlas = classify(GARAK, probe)
    return {
        "source": probe,
        "detail": detector.removeprefix("detectors."),
        "category": category,
        "atlas": atlas,
        "attempts": total,
        "failures": fails,
        "nones": nones,
    }


def _count(entry: dict[str, Any], key: str, number: int) -> int:
    value = entry.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReportError(f"Line {number}: '{key}' must be a count (a whole number ≥ 0), not {value!r}.")
    return value


# --- promptfoo -----------------------------------------------------------------------------------------
# Format: the file ``promptfoo eval -o results.json`` / ``promptfoo redteam eval -o …`` writes, promptfoo's
# ``OutputFile`` (src/types/index.ts in github.com/promptfoo/promptfoo): ``{evalId, results: {version,
# timestamp, results: [EvaluateResult], stats}, config, shareableUrl, metadata: {promptfooVersion}}``. Each
# EvaluateResult has ``success``, ``failureReason`` (0 none, 1 assertion, 2 error), ``error``,
# ``gradingResult`` and the red-team ids in ``testCase.metadata`` / ``metadata`` (``pluginId``,
# ``strategyId``). In a red-team eval a failed result is an attack that got through.


def _promptfoo(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ReportError(f"The report is not JSON ({exc}).") from None
    summary = document.get("results") if isinstance(document, dict) else None
    results = summary.get("results") if isinstance(summary, dict) else None
    if not isinstance(results, list):
        raise ReportError("Not a promptfoo output file: it needs results.results, a list of results.")
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    facts: dict[str, Any] = {
        "tool_version": str(metadata.get("promptfooVersion", ""))[:50],
        "target": "",
        "skipped": 0,
    }
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    targets: set[str] = set()
    for index, result in enumerate(results):
        if not isinstance(result, dict) or not isinstance(result.get("success"), bool):
            raise ReportError(f"results.results[{index}] has no boolean 'success'.")
        if result.get("failureReason") == 2 or (result.get("error") and not result.get("gradingResult")):
            facts["skipped"] += 1
            continue
        plugin, strategy = _promptfoo_ids(result)
        tally = counts[(plugin, strategy)]
        tally[0] += 1
        tally[1] += 0 if result["success"] else 1
        provider = result.get("provider")
        if isinstance(provider, dict) and provider.get("id"):
            targets.add(str(provider.get("label") or provider["id"]))
    if not counts:
        raise ReportError("The report has no graded results (every result ended in an error, or none exist).")
    facts["target"] = ", ".join(sorted(targets))[:200]
    rows = []
    for (plugin, strategy), (attempts, failures) in sorted(counts.items()):
        category, atlas = classify(PROMPTFOO, plugin, strategy)
        rows.append(
            {
                "source": plugin,
                "detail": strategy,
                "category": category,
                "atlas": atlas,
                "attempts": attempts,
                "failures": failures,
            }
        )
    return rows, facts


def _promptfoo_ids(result: dict[str, Any]) -> tuple[str, str]:
    places = [
        (result.get("testCase") or {}).get("metadata"),
        result.get("metadata"),
        (result.get("gradingResult") or {}).get("metadata"),
    ]
    plugin = strategy = ""
    for place in places:
        if isinstance(place, dict):
            plugin = plugin or str(place.get("pluginId") or "")
            strategy = strategy or str(place.get("strategyId") or "")
    return (plugin or "(no pluginId)")[:200], (strategy or "basic")[:200]


# --- the results ---------------------------------------------------------------------------------------


def rate(failures: int, attempts: int) -> float | None:
    return failures / attempts if attempts else None


def summarise(fmt: str, rows: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any]:
    """The stored results: per source row, per OWASP category (a partition of the attempts), in total."""
    if len(rows) > MAX_SOURCES:
        raise ReportError(f"The report has {len(rows)} probe/detector rows; at most {MAX_SOURCES} are read.")
    categories: dict[str, dict[str, Any]] = {}
    for row in rows:
        row["asr"] = rate(row["failures"], row["attempts"])
        group = categories.setdefault(
            row["category"], {"attempts": 0, "failures": 0, "atlas": [], "sources": []}
        )
        group["attempts"] += row["attempts"]
        group["failures"] += row["failures"]
        group["atlas"] += [technique for technique in row["atlas"] if technique not in group["atlas"]]
        if row["source"] not in group["sources"]:
            group["sources"].append(row["source"])
    ordered = sorted(categories, key=lambda key: (key == UNMAPPED, key))
    attempts = sum(row["attempts"] for row in rows)
    failures = sum(row["failures"] for row in rows)
    return {
        "format": RESULTS_FORMAT,
        "tool": fmt,
        "tool_version": facts.get("tool_version", ""),
        "target": facts.get("target", ""),
        "taxonomy_version": taxonomy()["version"],
        "attempts": attempts,
        "failures": failures,
        "not_judged": facts.get("skipped", 0),
        "asr": rate(failures, attempts),
        "categories": [
            {
                "id": key,
                "name": owasp_name(key),
                "attempts": categories[key]["attempts"],
                "failures": categories[key]["failures"],
                "asr": rate(categories[key]["failures"], categories[key]["attempts"]),
                "atlas": sorted(categories[key]["atlas"]),
                "sources": sorted(categories[key]["sources"]),
            }
            for key in ordered
        ],
        "sources": sorted(
            rows, key=lambda row: (row["category"] == UNMAPPED, row["category"], row["source"], row["detail"])
        ),
    }


def compare(current: dict[str, Any], baseline: dict[str, Any], tolerance: float) -> list[dict[str, Any]]:
    """Per category present in both runs: the two ASRs, the change, and whether it regressed beyond
    ``tolerance`` (current ASR - baseline ASR > tolerance). Categories in one run only are listed with
    the other side None and never regress."""
    before = {category["id"]: category for category in baseline.get("categories", [])}
    rows = []
    for category in current.get("categories", []):
        old = before.get(category["id"])
        old_asr = old["asr"] if old else None
        delta = category["asr"] - old_asr if old_asr is not None and category["asr"] is not None else None
        rows.append(
            {
                "id": category["id"],
                "name": category["name"],
                "asr": category["asr"],
                "baseline_asr": old_asr,
                "delta": delta,
                "regressed": delta is not None and delta > tolerance + 1e-12,
            }
        )
    return rows
