"""The grid's sort reproduced on the server (components.grid_state), on hand-made rows whose
order under AG Grid's default comparator is known: missing values first when ascending and
last when descending, numbers by value (not as text), ties in the given order."""
import pytest

from components.grid_state import sort_columns, sorted_as_grid
from data.input_errors import InvalidInput

ROWS = [
    {"id": "a", "days": 10, "tier": "Low", "owner": None},
    {"id": "b", "days": 9, "tier": "High", "owner": "Ana"},
    {"id": "c", "days": None, "tier": "High", "owner": "Bo"},
    {"id": "d", "days": 10, "tier": "Medium", "owner": None},
    {"id": "e", "days": 100, "tier": "High", "owner": "Ana"},
]
FIELDS = {"id", "days", "tier", "owner"}


def _order(state):
    return "".join(row["id"] for row in sorted_as_grid(ROWS, state, FIELDS))


def test_numbers_by_value_missing_first_ascending_last_descending_ties_kept():
    assert _order([{"colId": "days", "sort": "asc"}]) == "cbade"
    assert _order([{"colId": "days", "sort": "desc"}]) == "eadbc"  # 10s keep their given order (a before d)
    assert _order([{"colId": "owner", "sort": "asc"}]) == "adbec"
    assert _order([{"colId": "owner", "sort": "desc"}]) == "cbead"


def test_several_columns_by_sort_index_not_by_list_order():
    state = [{"colId": "days", "sort": "desc", "sortIndex": 1}, {"colId": "tier", "sort": "asc", "sortIndex": 0},
             {"colId": "owner", "sort": None}]
    assert sort_columns(state, FIELDS) == [("tier", False), ("days", True)]
    assert _order(state) == "ebcad"  # High (100, 9, missing), Low, Medium


def test_no_sort_is_the_given_order_and_a_forged_state_is_refused():
    assert _order(None) == _order([]) == _order([{"colId": "days", "sort": None}]) == "abcde"
    for state in ({"colId": "days"}, ["days"], [{"colId": "nope", "sort": "asc"}],
                  [{"colId": "days", "sort": "up"}], [{"colId": "days"}] * 101):
        with pytest.raises(InvalidInput):
            sorted_as_grid(ROWS, state, FIELDS)
