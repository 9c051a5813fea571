"""Confidence intervals for proportions."""
from __future__ import annotations

import numpy as np

Z_95 = 1.959963984540054


def wilson_interval(successes, trials, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for successes / trials (arrays or scalars); NaN where trials is 0.

    Unlike the Wald interval it stays within [0, 1] and keeps its coverage for small counts
    and rates near 0 or 1, which site-by-month cells often are.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z ** 2 / (2 * n)) / (1 + z ** 2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z ** 2 / (4 * n ** 2)) / (1 + z ** 2 / n)
    lower = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
    upper = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
    return lower, upper
