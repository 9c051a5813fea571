"""Aalen–Johansen cumulative incidence against a hand-worked example and a test-only
reference implementation (a plain loop over event times with the variance's double sum)."""
import numpy as np
import pandas as pd
import pytest

from data.analytics.competing_risks import Z_95, aalen_johansen, risk_table


def reference_cif(time, event, events):
    """Straightforward, independent: loop over distinct event times; variance by its double sum."""
    time, event = list(map(float, time)), list(map(int, event))
    event_times = sorted({t for t, e in zip(time, event) if e != 0})
    survival_before, steps = 1.0, []
    for t in event_times:
        at_risk = sum(1 for u in time if u >= t)
        d = {k: sum(1 for u, e in zip(time, event) if u == t and e == k) for k in events}
        d_all = sum(d.values())
        steps.append((t, at_risk, d, d_all, survival_before))
        survival_before *= 1 - d_all / at_risk
    result = {}
    for k in events:
        estimates, running = [], 0.0
        for _, at_risk, d, _, s_before in steps:
            running += s_before * d[k] / at_risk
            estimates.append(running)
        variances = []
        for i in range(len(steps)):
            f_t, total = estimates[i], 0.0
            for j in range(i + 1):
                _, n_j, d_j, dall_j, s_j = steps[j]
                diff = f_t - estimates[j]
                if n_j > dall_j:
                    total += diff ** 2 * dall_j / (n_j * (n_j - dall_j))
                total += s_j ** 2 * d_j[k] * (n_j - d_j[k]) / n_j ** 3
                total -= 2 * diff * s_j * d_j[k] / n_j ** 2
            variances.append(max(total, 0.0))
        result[k] = (np.array([s[0] for s in steps]), np.array(estimates), np.sqrt(variances))
    return result


def test_hand_worked_example_with_ties_and_censoring():
    # (1, next), (2, next), (2, dropout), (2, censored), (3, censored), (4, dropout)
    # t=1: n=6, F1 = 1/6, S = 5/6;  t=2: n=5, F1 += 5/6 * 1/5, F2 = 5/6 * 1/5, S = 1/2;
    # t=3 censoring only;  t=4: n=1, F2 += 1/2 * 1/1, S = 0.
    result = aalen_johansen([1, 2, 2, 2, 3, 4], [1, 1, 2, 0, 0, 2], events=(1, 2))
    assert result.at(1, [0, 1, 2, 3, 4, 9]) == pytest.approx([0, 1 / 6, 1 / 3, 1 / 3, 1 / 3, 1 / 3])
    assert result.at(2, [0, 1, 2, 3, 4, 9]) == pytest.approx([0, 0, 1 / 6, 1 / 6, 2 / 3, 2 / 3])
    assert result.survival_at([0, 1, 2, 4]) == pytest.approx([1, 5 / 6, 1 / 2, 0])
    assert result.survival["at_risk"].tolist() == [6, 5, 1]
    # At the first time the variance is the binomial one: (1/6)(5/6)/6.
    first = result.curves[(result.curves["event"] == 1) & (result.curves["time"] == 1)].iloc[0]
    assert first["se"] == pytest.approx(np.sqrt(5 / 216))


def test_curves_and_survivors_sum_to_one_at_every_time():
    rng = np.random.default_rng(3)
    time = rng.integers(0, 40, 500)
    event = rng.choice([0, 1, 2, 3], 500, p=[0.3, 0.3, 0.2, 0.2])
    result = aalen_johansen(time, event, events=(1, 2, 3))
    grid = np.arange(0, 45)
    total = result.survival_at(grid) + sum(result.at(k, grid) for k in (1, 2, 3))
    assert total == pytest.approx(np.ones(len(grid)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_on_tied_censored_data(seed):
    rng = np.random.default_rng(seed)
    n = 120
    time = rng.integers(0, 25, n)  # few distinct days: many ties, also between events and censoring
    event = rng.choice([0, 1, 2, 3], n, p=[0.35, 0.3, 0.2, 0.15])
    result = aalen_johansen(time, event, events=(1, 2, 3))
    reference = reference_cif(time, event, (1, 2, 3))
    for k, (times, estimates, se) in reference.items():
        curve = result.curves[result.curves["event"] == k]
        assert curve["time"].to_numpy() == pytest.approx(times)
        assert curve["estimate"].to_numpy() == pytest.approx(estimates, abs=1e-12)
        assert curve["se"].to_numpy() == pytest.approx(se, abs=1e-12)


def test_single_event_type_reduces_to_one_minus_kaplan_meier_with_greenwood_variance():
    rng = np.random.default_rng(5)
    time = rng.integers(1, 30, 200)
    event = rng.choice([0, 1], 200, p=[0.4, 0.6])
    result = aalen_johansen(time, event, events=(1,))
    curve = result.curves
    survival = result.survival["survival"].to_numpy()
    at_risk = result.survival["at_risk"].to_numpy()
    deaths = np.array([((time == t) & (event == 1)).sum() for t in result.survival["time"]])
    greenwood = survival ** 2 * np.cumsum(deaths / (at_risk * (at_risk - deaths)))
    assert curve["estimate"].to_numpy() == pytest.approx(1 - survival)
    assert curve["se"].to_numpy()[:-1] == pytest.approx(np.sqrt(greenwood)[:-1], rel=1e-9)


def test_intervals_contain_the_estimate_and_stay_in_unit_interval():
    rng = np.random.default_rng(9)
    time = rng.integers(0, 60, 300)
    event = rng.choice([0, 1, 2], 300)
    curves = aalen_johansen(time, event, events=(1, 2)).curves
    assert (curves["lower"] <= curves["estimate"] + 1e-12).all()
    assert (curves["estimate"] <= curves["upper"] + 1e-12).all()
    assert curves["lower"].between(0, 1).all() and curves["upper"].between(0, 1).all()
    # log(-log) interval on the estimate: inverse transform reproduces the width in se units.
    row = curves[(curves["estimate"] > 0.1) & (curves["estimate"] < 0.9)].iloc[0]
    theta = np.log(-np.log(row["estimate"]))
    se_theta = row["se"] / (row["estimate"] * abs(np.log(row["estimate"])))
    assert row["lower"] == pytest.approx(np.exp(-np.exp(theta + Z_95 * se_theta)))


def test_risk_table_rows_add_up_and_split_censoring_by_reason():
    time = [0, 1, 2, 2, 2, 3, 4, 8, 12]
    event = [1, 1, 1, 2, 0, 0, 2, 0, 0]
    reason = [None, None, None, None, "in_progress", "in_progress", None, "in_progress", "other"]
    table = risk_table(time, event, (1, 2), days=[0, 2, 5, 10, 15], censor_reason=reason)
    assert table["day"].tolist() == [0, 2, 5, 10, 15]
    assert table["at_risk"].tolist() == [9, 8, 4, 2, 1]
    assert table["event_1"].tolist() == [1, 2, 0, 0, 0]
    assert table["event_2"].tolist() == [0, 1, 1, 0, 0]
    assert table["censored_in_progress"].tolist() == [0, 1, 1, 1, 0]
    assert table["censored_other"].tolist() == [0, 0, 0, 0, 1]
    leaving = table.drop(columns=["day", "at_risk"]).sum(axis=1).to_numpy()
    assert (table["at_risk"].to_numpy()[1:] == (table["at_risk"] - leaving).to_numpy()[:-1]).all()
    assert all(pd.api.types.is_integer_dtype(table[c]) for c in table.columns)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="time"):
        aalen_johansen([1, -2], [1, 0], events=(1,))
    with pytest.raises(ValueError, match="event: codes \\[7\\]"):
        aalen_johansen([1, 2], [7, 0], events=(1,))
