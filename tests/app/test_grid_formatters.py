"""dash-ag-grid evaluates ``{"function": ...}`` formatters with its own expression parser, which
has no ``typeof``: a formatter using it shows every number unformatted (a browser test caught it
twice, on the Model page and on the Journeys variants grid). This finds it without a browser."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNSUPPORTED = ("typeof", "instanceof", "=>")


def test_grid_formatters_use_only_what_dash_ag_grids_evaluator_knows():
    offenders = []
    for path in sorted((ROOT / "components").rglob("*.py")) + sorted((ROOT / "callbacks").rglob("*.py")):
        text = path.read_text()
        for match in re.finditer(r'\{"function":(.*?)"\}', text, re.S):
            if any(word in match.group(1) for word in UNSUPPORTED):
                offenders.append(f"{path.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 1}")
    assert offenders == []


def test_breakdown_rates_show_their_numerator_and_denominator():
    """Issue 13: the site and payer grids showed "Completion rate 64.2%" with no count behind it
    (only the denominator, in another column)."""
    from components import ids
    from components.tables import breakdown_grid

    columns = {c["field"]: c for c in breakdown_grid(ids.BREAKDOWN_SITE_GRID, "Site").columnDefs}
    for rate, numerator in (("completion_rate", "completed"), ("dropout_rate", "dropped_out")):
        formatter = columns[rate]["valueFormatter"]["function"]
        assert f"params.data.{numerator}" in formatter and "params.data.resolved" in formatter, rate
