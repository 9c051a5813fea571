"""Grouped wait splines: one basis per group, nothing for a group never seen."""
import pandas as pd
import pytest

from ml.wait_splines import GroupedWaitSplines


def test_unseen_group_gets_no_wait_columns_and_a_degenerate_group_is_named():
    frame = pd.DataFrame({"lead_days": [3.0, 10, 20, 40, 5, 50], "awaiting_stage": ["diagnosis"] * 3 + ["treatment"] * 3})
    splines = GroupedWaitSplines(groups=("awaiting_stage",), n_knots=3).fit(frame)
    unseen = splines.transform(pd.DataFrame({"lead_days": [12.0], "awaiting_stage": ["follow_up"]}))
    assert unseen.shape[1] == splines.n_features_out_ and not unseen.any()
    with pytest.raises(ValueError, match="lead_days: group 'follow_up' has fewer than two distinct values"):
        GroupedWaitSplines(groups=("awaiting_stage",)).fit(frame.assign(awaiting_stage="follow_up", lead_days=7.0))
