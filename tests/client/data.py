"""Data the client tests upload: applicants the checks pass on."""

from __future__ import annotations

import numpy as np

from tests.monitoring.factories import credit_frame


def fair_applicants(seed: int):
    """Seeded applicants whose sex is drawn apart from everything else and whose scores rank them well, so
    the checks pass."""
    frame = credit_frame(seed=seed)
    rng = np.random.default_rng(seed + 100)
    frame["sex"] = rng.choice(["f", "m"], len(frame))
    frame["score"] = (0.6 * frame["label"] + 0.4 * rng.random(len(frame))).round(4)
    return frame
