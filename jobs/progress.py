"""Progress that means something: rows or batches done of a step, and an estimate of the time left.

Pure functions (no Django): a job writes ``{"stage", "current", "total"}`` for its stages and, inside a long
stage, a ``step`` (``{"label", "done", "total", "unit"}``) with ``eta_seconds`` from :func:`eta_seconds`; pages
word the estimate with :func:`eta_text`. The estimate assumes the rest goes at the pace so far
(``elapsed / done * left``) and is given only once the step is far enough along for that pace to mean
something (``MIN_FRACTION`` of it done and ``MIN_ELAPSED_S`` seconds spent); before that it is None and pages
say nothing rather than a guess.
"""

from __future__ import annotations

import math

MIN_FRACTION = 0.05
MIN_ELAPSED_S = 2.0


def eta_seconds(
    elapsed: float,
    done: int | float,
    total: int | float,
    *,
    min_fraction: float = MIN_FRACTION,
    min_elapsed: float = MIN_ELAPSED_S,
) -> float | None:
    """Seconds left at the pace so far, or None when too little is done (or measured) to tell."""
    if not (total and total > 0) or done is None or elapsed is None or not math.isfinite(elapsed):
        return None
    fraction = done / total
    if fraction >= 1:
        return 0.0
    if fraction < min_fraction or elapsed < min_elapsed or done <= 0:
        return None
    return elapsed / done * (total - done)


def eta_text(seconds: float | None) -> str:
    """``about 40 s left``, ``about 3 min left``, ``about 2 h 5 min left``; empty when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return ""
    if seconds < 10:
        return "a few seconds left"
    if seconds < 60:
        return f"about {int(round(seconds / 5) * 5)} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} min left"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min left" if minutes else f"about {hours} h left"
