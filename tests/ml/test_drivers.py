"""The worklist's drivers, worded for every in-progress patient at once (ml.risk.drivers.driver_table),
must say exactly what the one-patient reference (top_drivers) says for each of them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import FEATURES
from ml.risk.drivers import FAMILY, driver_table, top_drivers
from ml.workspace import AnalyticWorkspace


def _contributions(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 0.03, (n, len(FEATURES)))
    values[rng.random(values.shape) < 0.3] = 0.0          # features that did not move the risk
    values[: n // 10] = values[: n // 10].round(2)         # ties between families
    values[n // 10: n // 5] *= 0.05                       # rows whose drivers are all below min_points
    frame = pd.DataFrame(values, columns=list(FEATURES))
    # Family members pulling against each other: the family's sum, not its largest member, ranks it.
    timing = [f for f, family in FAMILY.items() if family == "timing"]
    frame.loc[n // 5: n // 4, timing[0]] = 0.2
    frame.loc[n // 5: n // 4, timing[1]] = -0.19
    return frame


def test_every_patient_gets_what_the_reference_gives(small_dataset):
    rows = AnalyticWorkspace.of(small_dataset).training_rows.iloc[:600].reset_index(drop=True)
    assert len(rows) == 600
    contributions = _contributions(len(rows), seed=3)
    expected = [top_drivers(rows.iloc[i], contributions.iloc[i], 3, pathway=small_dataset.pathway)
                for i in range(len(rows))]
    assert driver_table(rows, contributions, 3, pathway=small_dataset.pathway) == expected
    assert any(len(d) == 0 for d in expected) and any(len(d) == 3 for d in expected)


def test_fewer_drivers_asked_and_no_rows(small_dataset):
    rows = AnalyticWorkspace.of(small_dataset).training_rows.iloc[:40].reset_index(drop=True)
    contributions = _contributions(len(rows), seed=5)
    assert driver_table(rows, contributions, 1, pathway=small_dataset.pathway) == [
        top_drivers(rows.iloc[i], contributions.iloc[i], 1, pathway=small_dataset.pathway) for i in range(len(rows))]
    assert driver_table(rows.iloc[:0], contributions.iloc[:0]) == []
