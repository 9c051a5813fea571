"""What an AG Grid shows, reproduced on the server: its rows in the order its column sort puts
them. A server-side export rebuilds the rows and applies the grid's own ``columnState`` sort
here, so the file follows the screen without the browser sending the rows back.

The order is AG Grid's default comparator: missing values (None) before any value when
ascending, after every value when descending (descending negates the comparison); numbers
by value, text by code unit; ties keep the rows' given order (the grid's sort is stable).
"""
from __future__ import annotations

from numbers import Number

from data.input_errors import InvalidInput, kind

MAX_COLUMNS = 100  # far more than any grid here has; a longer list is not a grid's state


def sort_columns(column_state, known_columns) -> list[tuple[str, bool]]:
    """[(column, descending)] from the grid's ``columnState``, most significant first.
    InvalidInput for a state that is not the grid's shape or names an unknown column."""
    if column_state is None:
        return []
    if not isinstance(column_state, list) or len(column_state) > MAX_COLUMNS:
        raise InvalidInput("grid column state", f"expected a list of at most {MAX_COLUMNS} columns, "
                                                f"got {kind(column_state)}")
    keys = []
    for position, column in enumerate(column_state):
        if not isinstance(column, dict):
            raise InvalidInput("grid column state", f"expected an object per column, got {kind(column)}")
        direction = column.get("sort")
        if direction is None:
            continue
        if direction not in ("asc", "desc"):
            raise InvalidInput("grid column state", "a column's sort must be 'asc', 'desc' or null")
        name = column.get("colId")
        if name not in known_columns:
            raise InvalidInput("grid column state", "sorts by a column the grid does not have")
        index = column.get("sortIndex")
        index = index if isinstance(index, int) and not isinstance(index, bool) else position
        keys.append((index, position, name, direction == "desc"))
    return [(name, descending) for _, _, name, descending in sorted(keys)]


def _sort_key(value):
    if value is None or (isinstance(value, float) and value != value):  # NaN is missing too
        return (0, 0, 0)
    if isinstance(value, Number) and not isinstance(value, bool):
        return (1, 0, value)
    return (1, 1, str(value))


def sorted_as_grid(rows: list[dict], column_state, known_columns) -> list[dict]:
    """``rows`` in the order the grid shows them under ``column_state`` (given order when unsorted)."""
    ordered = list(rows)
    # Stable sorts from the least significant key up give the multi-column order.
    for name, descending in reversed(sort_columns(column_state, known_columns)):
        ordered.sort(key=lambda row: _sort_key(row.get(name)), reverse=descending)
    return ordered
