"""Input drift: population stability index (PSI) of each model input, today's in-progress
patients against the training window.

The reference is a small profile (bin edges and shares per feature), saved in the model report,
so monitoring never needs the training rows again.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2

# PSI conventions (Siddiqi): < 0.10 stable, 0.10–0.25 watch, >= 0.25 a shift that needs a look.
PSI_WATCH = 0.10
PSI_ALERT = 0.25
NUMERIC_BINS = 10
MISSING = "(missing)"
OTHER = "(not seen in training)"
_FLOOR = 1e-4  # a share of zero would make the PSI infinite
# PSI of two samples from one population is ~ chi2(bins − 1) · (1/n_current + 1/n_reference): with a
# few dozen patients waiting it exceeds 0.25 by chance. An input is flagged only beyond this quantile too.
NOISE_QUANTILE = 0.999
# Features that differ between a snapshot of waiting patients and decision-day history by
# construction (how long they have waited, the season of today), not by a change in who comes.
SNAPSHOT_FEATURES = ("waited_days", "days_until_appointment", "days_past_booking", "days_since_enrollment",
                     "decision_season")


def reference_profile(rows: pd.DataFrame, features, categorical) -> dict:
    """Per feature: bin edges (numeric) or categories, and the reference share in each bin
    (``rows``: how many reference rows the shares come from)."""
    profile = {}
    for feature in features:
        if feature in SNAPSHOT_FEATURES or feature not in rows.columns:
            continue
        values = rows[feature]
        if feature in categorical:
            shares = _category_shares(values, None)
            profile[feature] = {"kind": "categorical", "bins": list(shares), "shares": list(shares.values()),
                                "rows": int(len(rows))}
        else:
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(float)
            recorded = numbers[np.isfinite(numbers)]
            edges = np.unique(np.quantile(recorded, np.linspace(0, 1, NUMERIC_BINS + 1))[1:-1]) if len(recorded) \
                else np.array([])
            profile[feature] = {"kind": "numeric", "edges": edges.tolist(),
                                "shares": _numeric_shares(numbers, edges).tolist(), "rows": int(len(rows))}
    return profile


def _category_shares(values: pd.Series, known: list | None) -> dict:
    text = values.astype(object).where(values.notna(), MISSING).astype(str)
    if known is not None:
        text = text.where(text.isin(known), OTHER)
    shares = text.value_counts(normalize=True).sort_index()
    if known is not None:
        shares = shares.reindex([*known, OTHER], fill_value=0.0)
    return {str(k): float(v) for k, v in shares.items()}


def _numeric_shares(numbers: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares in the bins cut at ``edges``, with one last bin for missing values."""
    finite = np.isfinite(numbers)
    counts = np.bincount(np.searchsorted(edges, numbers[finite], side="right"), minlength=len(edges) + 1)
    counts = np.append(counts, (~finite).sum()).astype(float)
    return counts / max(1, len(numbers))


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    reference = np.clip(np.asarray(reference, float), _FLOOR, None)
    current = np.clip(np.asarray(current, float), _FLOOR, None)
    return float(np.sum((current - reference) * np.log(current / reference)))


def drift_table(profile: dict, current: pd.DataFrame) -> list[dict]:
    """PSI per profiled feature of ``current`` rows, largest first, with its status."""
    records = []
    for feature, ref in profile.items():
        if feature not in current.columns:
            continue
        if ref["kind"] == "categorical":
            shares = _category_shares(current[feature], ref["bins"])
            reference = [*ref["shares"], 0.0]
            now = list(shares.values())
            new_share = shares.get(OTHER, 0.0)
        else:
            numbers = pd.to_numeric(current[feature], errors="coerce").to_numpy(float)
            reference, now = ref["shares"], _numeric_shares(numbers, np.asarray(ref["edges"]))
            new_share = 0.0
        reference_rows = ref.get("rows", len(current))
        value = psi(_smoothed(reference, reference_rows), _smoothed(now, len(current)))
        floor = noise_floor(reference, now, len(current), reference_rows)
        records.append({"feature": feature, "psi": value, "noise_floor": floor if np.isfinite(floor) else None,
                        "status": status(value, floor),
                        "new_category_share": float(new_share), "rows": int(len(current))})
    return sorted(records, key=lambda r: -r["psi"])


def _smoothed(shares, rows: int) -> np.ndarray:
    """Shares with half a row added to every bin (Jeffreys): an empty bin among a few dozen rows is
    not evidence of a zero share, and must not make the PSI explode."""
    shares = np.asarray(shares, float)
    return (shares * rows + 0.5) / (rows + 0.5 * len(shares))


def noise_floor(reference, current, current_rows: int, reference_rows: int) -> float:
    """The PSI that sampling noise alone exceeds with probability 1 − NOISE_QUANTILE."""
    bins = int(np.sum((np.asarray(reference) > 0) | (np.asarray(current) > 0)))
    if bins < 2 or current_rows == 0:
        return float("inf")
    return float(chi2.ppf(NOISE_QUANTILE, bins - 1) * (1 / current_rows + 1 / max(1, reference_rows)))


def status(value: float, floor: float = 0.0) -> str:
    """alert / watch / stable by the PSI conventions, but never for a shift noise alone could make."""
    if value < floor:
        return "stable"
    return "alert" if value >= PSI_ALERT else "watch" if value >= PSI_WATCH else "stable"
