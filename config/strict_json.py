"""JSON and text that PostgreSQL can store and our code can walk: bounded depth and string length, no NUL
characters, no lone surrogates and no integer beyond 64 bits.

Python's ``json`` accepts all of these; the damage shows later (a RecursionError while parsing or
canonicalising, a DataError from a ``text`` or ``jsonb`` column that cannot hold ``\\u0000`` or
``\\ud800``), as a 500 after half the work is done. Every JSON body of the API, every JSON text typed into
a form and every form text field goes through here first, so the refusal is a 400 naming the field.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

from django.conf import settings

# Everything PostgreSQL text cannot hold: NUL, and UTF-16 surrogates (a lone one cannot be encoded as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# A JSON string literal (with its escapes), removed before the brackets are counted.
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# PostgreSQL's bigint: no integer column can hold more, and no count, id or option of ours needs more
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1


class UnsafeJSON(ValueError):
    """The document is refused; ``field`` is the path of the value at fault ('' for the whole body)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_STRING_CHARS = 256 * 1024


def max_depth() -> int:
    """ATTEST_MAX_JSON_DEPTH: nesting of arrays and objects (the body itself is level 1)."""
    return getattr(settings, "ATTEST_MAX_JSON_DEPTH", DEFAULT_MAX_DEPTH)


def max_string_chars() -> int:
    """ATTEST_MAX_JSON_STRING_CHARS: characters in one string or key (the body's size is capped apart)."""
    return getattr(settings, "ATTEST_MAX_JSON_STRING_CHARS", DEFAULT_MAX_STRING_CHARS)


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text``, counted without parsing (so without recursion)."""
    brackets = _NOT_A_BRACKET.sub("", _STRING_LITERAL.sub("", text))
    return max(itertools.accumulate(_DEPTH_STEP[char] for char in brackets), default=0)


def loads(text: str) -> Any:
    """Parse ``text`` as strict JSON: no NaN/Infinity, no number overflowing to infinity, nesting at most
    ATTEST_MAX_JSON_DEPTH, strings at most ATTEST_MAX_JSON_STRING_CHARS, no NUL or lone surrogate.

    Text that is not JSON raises json's own ValueError; a refusal raises UnsafeJSON (also a ValueError),
    naming the path of the value at fault.
    """
    depth, limit = nesting_depth(text), max_depth()
    if depth > limit:
        raise UnsafeJSON(f"JSON nested {depth} levels deep; at most {limit} levels are accepted.")
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:  # only reachable with a depth limit above the interpreter's
        raise UnsafeJSON("JSON nested too deeply.") from None
    require_storable(document)
    return document


def require_storable(document: Any, prefix: str = "") -> None:
    """Refuse the first key or string in ``document`` that is too long or holds NUL or a lone surrogate, or
    the first integer beyond 64 bits."""
    found = first_unstorable(document, prefix)
    if found is not None:
        raise UnsafeJSON(found[1], found[0])


def first_unstorable(document: Any, prefix: str = "") -> tuple[str, str] | None:
    """``(path, reason)`` of the first key, string or integer that cannot be stored, else None. Iterative: the
    document may come from anywhere, and its depth must not decide whether checking it works."""
    pending: list[tuple[str, Any]] = [(prefix, document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            reason = text_problem(value)
            if reason:
                return printable(path) or "non_field_errors", reason
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                reason = text_problem(key) if isinstance(key, str) else None
                if reason:
                    return printable(child), f"Key: {reason}"
                pending.append((child, item))
        elif isinstance(value, list | tuple):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
        elif (
            isinstance(value, int) and not isinstance(value, bool) and not MIN_INTEGER <= value <= MAX_INTEGER
        ):
            return printable(
                path
            ) or "non_field_errors", "Integers beyond 64 bits (±9.2e18) are not accepted."
    return None


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None when it can."""
    limit = max_string_chars()
    if len(value) > limit:
        return f"Text longer than {limit:,} characters is not accepted."
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "NUL characters (\\u0000) are not accepted."
    return f"Lone surrogates (\\u{ord(found.group()):04x}) are not accepted: the text is not valid Unicode."


def printable(path: str) -> str:
    """A field path safe to echo back in an error body (the path itself may hold the refused characters)."""
    return _UNSTORABLE.sub("\ufffd", path[:200])


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value
