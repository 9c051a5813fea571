"""Grouped wait splines: one basis per group, nothing for a group never seen."""
import pandas as pd

from ml.scenarios.wait_splines import GroupedWaitSplines


def test_unseen_and_thin_groups_get_no_wait_columns():
    frame = pd.DataFrame({"lead_days": [3.0, 10, 20, 40, 5, 50, 7, 7],
                          "awaiting_stage": ["diagnosis"] * 3 + ["treatment"] * 3 + ["follow_up"] * 2})
    splines = GroupedWaitSplines(groups=("awaiting_stage",), n_knots=3, min_rows=3).fit(frame)
    assert splines.levels_ == ("diagnosis", "treatment") and splines.left_out_ == ["follow_up"]  # one value only
    for stage in ("follow_up", "screening"):
        columns = splines.transform(pd.DataFrame({"lead_days": [12.0], "awaiting_stage": [stage]}))
        assert columns.shape[1] == splines.n_features_out_ and not columns.any()
    seen = splines.transform(pd.DataFrame({"lead_days": [12.0], "awaiting_stage": ["treatment"]}))
    assert seen.any()
    assert GroupedWaitSplines(groups=("awaiting_stage",), n_knots=3, min_rows=4).fit(frame).levels_ == ()
