"""CSV files written for people to open in a spreadsheet, made safe from formula injection.

A text cell starting with = + - @ (or a tab or carriage return, which some spreadsheets
skip before reading one of those) is run as a formula when the file is opened: a note
"=HYPERLINK(...)" typed by anyone becomes a link, or worse. OWASP's remedy: prefix such
cells with a single quote, so they show as the text they are. Numbers are left alone.
"""
from __future__ import annotations

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value):
    """``value`` with a leading ' when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and headers) cannot be read as formulas."""
    out = frame.rename(columns=lambda name: escape_cell(name) if isinstance(name, str) else name)
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(escape_cell).astype(object)
    return out
