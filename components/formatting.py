"""How numbers read on screen; one place so every page formats them the same way."""
from __future__ import annotations

import math

MISSING = "—"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value) -> str:
    if isinstance(value, str):  # already text, e.g. a suppressed small count ("<11")
        return value
    return MISSING if _missing(value) else f"{int(value):,}"


def percent(fraction) -> str:
    return MISSING if _missing(fraction) else f"{fraction:.1%}"


def days(value) -> str:
    if isinstance(value, str):
        return value
    return MISSING if _missing(value) else f"{value:,.0f} days"


def fraction(numerator, denominator) -> str:
    """The counts behind a percentage: "2,085 of 6,395"."""
    if _missing(numerator) or _missing(denominator):
        return MISSING
    return f"{int(numerator):,} of {int(denominator):,}"
