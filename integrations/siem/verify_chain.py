#!/usr/bin/env python3
"""Verify the Attest audit chain from what a SIEM received, without Attest.

    python verify_chain.py received.log [more files...]      # exit 0: intact, 1: not, 2: unreadable
    python verify_chain.py --json export.jsonl

Reads, line by line, any mix of:
  * syslog lines with a CEF message (``CEF:0|Attest|…|cn1=<seq> … cs1=<hash> cs2=<prev_hash> cs6=<canonical>``),
    with or without RFC 6587 octet-counting prefixes;
  * syslog lines with a JSON message, HEC events (``{"event": {…}}``, one per line or concatenated),
    and Attest's own JSON-lines audit export (``{"seq": …, "canonical": …}``);
  * OTLP/HTTP JSON request bodies (``{"resourceLogs": […]}``), one per line.

Copies of the same seq are merged (delivery is at-least-once); copies that differ are an error. Then, in seq
order, each event's hash is recomputed from its canonical text (the exact RFC 8785 bytes that were hashed)

    hash = SHA-256( "attest.audit.v1\\0" || bytes.fromhex(prev_hash) || SHA-256(canonical) )

and checked against the hash sent, each prev_hash against the previous event's hash, the seq and action
inside the canonical text against the ones the SIEM indexed, and the seqs for gaps. With ``rfc8785``
installed, the canonical text is also checked to be canonical. Standard library only otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

DOMAIN_TAG = b"attest.audit.v1\x00"
GENESIS_HASH = "0" * 64
_OCTET_PREFIX = re.compile(r"^\d+ (?=<\d{1,3}>)")
_CEF_KEY = re.compile(r"(?:^| )([A-Za-z0-9_.]+)=")
_CEF_UNESCAPE = {"\\": "\\", "=": "=", "n": "\n", "r": "\r", "|": "|"}


@dataclass(frozen=True)
class Received:
    """One event as the SIEM holds it."""

    seq: int
    hash: str
    prev_hash: str
    canonical: str
    action: str | None  # as the SIEM indexed it, to compare with the hashed text


@dataclass
class Report:
    events: int = 0
    copies: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    gaps: list[tuple[int, int]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems and not self.gaps and self.events > 0


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    digest = hashlib.sha256(DOMAIN_TAG)
    digest.update(bytes.fromhex(prev_hash))
    digest.update(hashlib.sha256(canonical).digest())
    return digest.hexdigest()


# --- reading --------------------------------------------------------------------------------------------


def read(lines: Iterable[str]) -> Iterator[Received]:
    """Every event in ``lines``; a line that holds none is skipped, one that is malformed raises ValueError."""
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            yield from _events_of(line)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"line {number}: {exc}") from None


def _events_of(line: str) -> Iterator[Received]:
    line = _OCTET_PREFIX.sub("", line, count=1)
    cef_at, brace = line.find("CEF:"), line.find("{")
    if cef_at >= 0 and (brace < 0 or cef_at < brace):  # a JSON message may mention "CEF:" in a value
        yield _from_cef(line[cef_at:])
        return
    if brace < 0:
        return
    for item in _json_objects(line[brace:]):
        yield from _from_json(item)


def _json_objects(text: str) -> Iterator[dict]:
    decoder, at = json.JSONDecoder(), 0
    while at < len(text):
        item, at = decoder.raw_decode(text, at)
        yield item
        while at < len(text) and text[at] in " \t\r\n":
            at += 1


def _from_json(item: dict) -> Iterator[Received]:
    if "resourceLogs" in item:
        for resource in item["resourceLogs"]:
            for scope in resource.get("scopeLogs", []):
                for log in scope.get("logRecords", []):
                    yield _from_otlp(log)
    elif "event" in item:  # Splunk HEC
        yield _from_record(item["event"])
    elif "canonical" in item:  # syslog JSON message, or Attest's JSON-lines export
        yield _from_record(item)


def _from_record(record: dict) -> Received:
    return Received(
        int(record["seq"]), record["hash"], record["prev_hash"], record["canonical"], record.get("action")
    )


def _from_otlp(log: dict) -> Received:
    attributes = {}
    for attribute in log.get("attributes", []):
        value = attribute["value"]
        attributes[attribute["key"]] = value.get("stringValue", value.get("intValue"))
    return Received(
        int(attributes["attest.audit.seq"]),
        attributes["attest.audit.hash"],
        attributes["attest.audit.prev_hash"],
        log["body"]["stringValue"],
        attributes.get("attest.audit.action"),
    )


def _from_cef(text: str) -> Received:
    header, extension = _cef_split(text)
    fields = _cef_extension(extension)
    return Received(
        int(fields["cn1"]), fields["cs1"], fields["cs2"], fields["cs6"], fields.get("act", header[4])
    )


def _cef_split(text: str) -> tuple[list[str], str]:
    """The seven header fields (unescaped) and the raw extension."""
    parts, current, at = [], [], 0
    while len(parts) < 7:
        if at >= len(text):
            raise ValueError("a CEF header with fewer than seven fields")
        char = text[at]
        if char == "\\" and at + 1 < len(text):
            current.append(text[at + 1])
            at += 2
            continue
        if char == "|":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        at += 1
    return parts, text[at:]


def _cef_extension(text: str) -> dict[str, str]:
    """``key=value`` pairs; a value runs to the next unescaped `` key=``."""
    starts = [match for match in _CEF_KEY.finditer(text) if not _escaped(text, match.end() - 1)]
    fields = {}
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        fields[match.group(1)] = _cef_unescape(text[match.end() : end])
    return fields


def _escaped(text: str, at: int) -> bool:
    backslashes = 0
    while at - backslashes - 1 >= 0 and text[at - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _cef_unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda match: _CEF_UNESCAPE.get(match.group(1), match.group(1)), value)


# --- verifying ------------------------------------------------------------------------------------------


def verify(received: Iterable[Received], *, require_genesis: bool = False) -> Report:
    report = Report()
    by_seq: dict[int, Received] = {}
    for event in received:
        report.copies += 1
        kept = by_seq.setdefault(event.seq, event)
        if kept != event and (kept.hash, kept.canonical) != (event.hash, event.canonical):
            report.problems.append(
                f"seq {event.seq}: two different copies (hashes {kept.hash}, {event.hash})"
            )
    report.events = len(by_seq)
    if not by_seq:
        report.problems.append("no Attest audit events found")
        return report
    seqs = sorted(by_seq)
    report.first_seq, report.last_seq = seqs[0], seqs[-1]
    if seqs[0] != 1 and require_genesis:
        report.problems.append(f"starts at seq {seqs[0]}, not 1")
    previous: Received | None = None
    for seq in seqs:
        event = by_seq[seq]
        _check_event(event, report)
        if previous is not None and seq != previous.seq + 1:
            report.gaps.append((previous.seq + 1, seq - 1))
        elif previous is not None and event.prev_hash != previous.hash:
            report.problems.append(f"seq {seq}: prev_hash does not match the hash of seq {previous.seq}")
        elif previous is None and seq == 1 and event.prev_hash != GENESIS_HASH:
            report.problems.append("seq 1: prev_hash is not the genesis hash")
        previous = event
    return report


def _check_event(event: Received, report: Report) -> None:
    canonical = event.canonical.encode("utf-8")
    try:
        computed = chain_hash(event.prev_hash, canonical)
    except ValueError:
        report.problems.append(f"seq {event.seq}: prev_hash is not hex")
        return
    if computed != event.hash:
        report.problems.append(
            f"seq {event.seq}: hash mismatch (the canonical text or prev_hash was changed)"
        )
        return
    try:
        payload = json.loads(event.canonical)
    except ValueError:
        report.problems.append(f"seq {event.seq}: the hashed text is not JSON")
        return
    if not isinstance(payload, dict):
        report.problems.append(f"seq {event.seq}: the hashed text is not a JSON object")
        return
    if payload.get("seq") != event.seq:
        report.problems.append(
            f"seq {event.seq}: indexed under seq {event.seq}, hashed as {payload.get('seq')}"
        )
    if event.action is not None and payload.get("action") != event.action:
        report.problems.append(
            f"seq {event.seq}: indexed as {event.action}, hashed as {payload.get('action')}"
        )
    if _rfc8785 is not None and _rfc8785.dumps(payload) != canonical:
        report.problems.append(f"seq {event.seq}: the hashed text is not RFC 8785 canonical JSON")


try:  # optional: the canonical-form check
    import rfc8785 as _rfc8785
except ImportError:  # pragma: no cover
    _rfc8785 = None


# --- command line -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="Files of what the SIEM received ('-': standard input).")
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    parser.add_argument(
        "--require-genesis", action="store_true", help="Fail unless the events start at seq 1."
    )
    args = parser.parse_args(argv)
    try:
        received = []
        for name in args.files:
            with open(name, encoding="utf-8") if name != "-" else _stdin() as handle:
                received.extend(read(handle))
    except (OSError, ValueError) as exc:
        print(f"cannot read: {exc}", file=sys.stderr)
        return 2
    report = verify(received, require_genesis=args.require_genesis)
    _print(report, as_json=args.json)
    return 0 if report.intact else 1


def _stdin():
    return open(sys.stdin.fileno(), encoding="utf-8", closefd=False)


def _print(report: Report, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"intact": report.intact, **report.__dict__}, indent=2))
        return
    verdict = "INTACT" if report.intact else "NOT INTACT"
    print(
        f"{verdict}: {report.events} events (seq {report.first_seq}..{report.last_seq}), "
        f"{report.copies - report.events} duplicate copies"
    )
    for first, last in report.gaps:
        print(f"gap: seq {first}..{last} missing" if first != last else f"gap: seq {first} missing")
    for problem in report.problems[:50]:
        print(problem)
    if len(report.problems) > 50:
        print(f"... and {len(report.problems) - 50} more problems")


if __name__ == "__main__":
    sys.exit(main())
