"""The Journeys estimate from counts per distinct time (FollowUpCounts; StageFollowUp's one
bincount per cohort) is the estimate of the subjects' rows to the last bit: against a frozen copy
of the row-wise estimator it replaced (a sort, a searchsorted and a bincount per event over the
rows), on random follow-up with ties, censoring by several reasons, every event kind, times that
are not whole days, compared groups and empty groups."""
import numpy as np
import pandas as pd
import pytest

from data.analytics.competing_risks import Z_95, CumulativeIncidence, _log_log_interval, _validated
from data.analytics.time_to_next_stage import (
    CENSOR_IN_PROGRESS,
    EVENTS,
    StageFollowUp,
    estimate_of_counts,
    risk_table_days,
    time_to_next_stage,
)

CENSORED = 0


def rowwise_aalen_johansen(time, event, events, z=Z_95) -> CumulativeIncidence:
    """competing_risks.aalen_johansen as it was before FollowUpCounts (frozen copy)."""
    time, event = _validated(time, event, events)
    n = len(time)
    if n == 0:
        empty = pd.DataFrame(columns=["event", "time", "estimate", "lower", "upper", "se"])
        return CumulativeIncidence(empty, pd.DataFrame(columns=["time", "at_risk", "survival"]), 0)
    happened = event != CENSORED
    times = np.unique(time[happened])
    sorted_time = np.sort(time)
    at_risk = (n - np.searchsorted(sorted_time, times, side="left")).astype(float)
    position = np.searchsorted(times, time[happened])
    d_k = {k: np.bincount(position[event[happened] == k], minlength=len(times)).astype(float) for k in events}
    d_all = sum(d_k.values()) if events else np.zeros(len(times))
    survival = np.cumprod(1.0 - d_all / at_risk)
    survival_before = np.concatenate([[1.0], survival[:-1]])
    survivors_left = at_risk - d_all
    greenwood = np.divide(d_all, at_risk * survivors_left, out=np.zeros_like(d_all), where=survivors_left > 0)
    rows = []
    for k in events:
        jump = survival_before * d_k[k] / at_risk
        estimate = np.cumsum(jump)
        a = greenwood
        first = (estimate ** 2 * np.cumsum(a) - 2 * estimate * np.cumsum(estimate * a)
                 + np.cumsum(estimate ** 2 * a))
        second = np.cumsum(survival_before ** 2 * d_k[k] * (at_risk - d_k[k]) / at_risk ** 3)
        b = survival_before * d_k[k] / at_risk ** 2
        third = -2 * (estimate * np.cumsum(b) - np.cumsum(estimate * b))
        variance = np.clip(first + second + third, 0, None)
        se = np.sqrt(variance)
        lower, upper = _log_log_interval(estimate, se, z)
        rows.append(pd.DataFrame({"event": k, "time": times, "estimate": estimate, "lower": lower,
                                  "upper": upper, "se": se}))
    curves = pd.concat(rows, ignore_index=True)
    return CumulativeIncidence(curves, pd.DataFrame({"time": times, "at_risk": at_risk.astype("int64"),
                                                     "survival": survival}), n)


def rowwise_risk_table(time, event, events, days, censor_reason=None) -> pd.DataFrame:
    """competing_risks.risk_table as it was before FollowUpCounts (frozen copy)."""
    time, event = _validated(time, event, events)
    days = np.asarray(sorted({int(d) for d in days}), dtype=float)
    starts = np.concatenate([[-np.inf], days[:-1]])
    table = {"day": days.astype("int64")}
    bins = np.searchsorted(days, time, side="left")
    in_range = bins < len(days)
    table["at_risk"] = np.array([(time > s).sum() if np.isfinite(s) else len(time) for s in starts], dtype="int64")

    def counts(mask):
        return np.bincount(bins[mask & in_range], minlength=len(days))[:len(days)].astype("int64")

    for k in events:
        table[f"event_{k}"] = counts(event == k)
    if censor_reason is None:
        table["censored"] = counts(event == CENSORED)
    else:
        reasons = pd.Series(censor_reason).fillna("other").astype(str).to_numpy()
        for reason in sorted(set(reasons[event == CENSORED])):
            table[f"censored_{reason}"] = counts((event == CENSORED) & (reasons == reason))
    return pd.DataFrame(table)


def rowwise_estimate(follow_up: pd.DataFrame, days):
    time, event = follow_up["time"].to_numpy(), follow_up["event"].to_numpy()
    return (rowwise_aalen_johansen(time, event, EVENTS),
            rowwise_risk_table(time, event, EVENTS, days, follow_up["censor_reason"]))


def assert_bit_identical(estimate, reference):
    incidence, table = reference
    assert estimate.n == incidence.n
    pd.testing.assert_frame_equal(estimate.table, table, check_exact=True)
    for got, expected in ((estimate.incidence.curves, incidence.curves),
                          (estimate.incidence.survival, incidence.survival)):
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        for column in got.columns:  # bits, not values: -0.0 / 0.0 and NaN payloads alike
            assert got[column].to_numpy().tobytes() == expected[column].to_numpy().tobytes(), column


def random_follow_up(seed: int, n: int = 3000, whole_days: bool = True) -> pd.DataFrame:
    """Follow-up with the page's columns: few distinct times (ties everywhere, also between events
    and censoring), every event kind, censoring in progress, by another reason and unlabelled."""
    rng = np.random.default_rng(seed)
    time = rng.integers(0, 200, n).astype(float)
    if not whole_days:
        time += rng.choice([0.0, 0.25, 0.5], n)
    event = rng.choice([0, 1, 2, 3], n, p=[0.15, 0.45, 0.15, 0.25])
    reason = np.where(event == 0, rng.choice([CENSOR_IN_PROGRESS, "moved_away", None], n, p=[0.7, 0.2, 0.1]), None)
    return pd.DataFrame({
        "patient_id": [f"P{i:05d}" for i in rng.integers(0, n // 2, n)],
        "awaiting_stage": rng.choice(["diagnosis", "treatment"], n),
        "time": time, "event": event.astype("int64"), "censor_reason": pd.Series(reason, dtype=object),
        "site": rng.choice(["North", "South", "East", None], n, p=[0.5, 0.3, 0.15, 0.05]),
    })


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("whole_days", [True, False])
def test_counts_give_the_rowwise_estimate_to_the_bit(seed, whole_days):
    follow_up = random_follow_up(seed, whole_days=whole_days)
    rng = np.random.default_rng(seed + 100)
    for subset in (follow_up, follow_up[rng.random(len(follow_up)) < 0.05], follow_up[follow_up["event"] != 0],
                   follow_up[follow_up["event"] == 0], follow_up.iloc[:1], follow_up.iloc[:0]):
        days = risk_table_days(subset["time"].max() if len(subset) else 0)
        assert_bit_identical(time_to_next_stage(subset, "Cohort", days), rowwise_estimate(subset, days))
    # Days that cut the follow-up short (times beyond the last day are in no interval), and a
    # first day after day 0.
    assert_bit_identical(time_to_next_stage(follow_up, "Cohort", [15, 45, 90]),
                         rowwise_estimate(follow_up, [15, 45, 90]))


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("whole_days", [True, False])
def test_a_stage_cohort_and_group_counted_by_position_give_the_rowwise_estimate(seed, whole_days):
    """StageFollowUp: a cohort (positions in a patient frame, some decision points of patients not in
    it) and a compared group within it, as the Journeys page asks, against the cohort's rows."""
    follow_up = random_follow_up(seed, whole_days=whole_days)
    rng = np.random.default_rng(seed)
    patients = pd.Index(sorted(set(follow_up["patient_id"]) - {follow_up["patient_id"].iloc[0]}))
    frame_rows = patients.get_indexer(follow_up["patient_id"])
    for stage in ("diagnosis", "treatment"):
        stage_follow_up = StageFollowUp(follow_up, stage, frame_rows, len(patients))
        of_stage = follow_up[follow_up["awaiting_stage"] == stage]
        assert len(stage_follow_up) == len(of_stage)
        for share in (1.0, 0.3, 0.002, 0.0):
            cohort_rows = np.flatnonzero(rng.random(len(patients)) < share)
            in_cohort = stage_follow_up.in_cohort(cohort_rows)
            rows = of_stage[of_stage["patient_id"].isin(patients[cohort_rows])]
            cohort = stage_follow_up.counts(in_cohort)
            days = risk_table_days(cohort.times[-1] if cohort.n else 0)
            assert_bit_identical(estimate_of_counts(cohort, "Cohort", days), rowwise_estimate(rows, days))
            for site in ("North", "East", "West", "None"):  # West: no such site; None: missing is no group
                group = rows[rows["site"].astype(str) == site]
                got = estimate_of_counts(stage_follow_up.counts(in_cohort & stage_follow_up.group("site", site)),
                                         site, days)
                assert_bit_identical(got, rowwise_estimate(group, days))


def test_bad_follow_up_is_refused_when_encoded():
    follow_up = random_follow_up(0, n=20)
    follow_up.loc[3, "event"] = 7
    with pytest.raises(ValueError, match="event: codes \\[7\\]"):
        StageFollowUp(follow_up, follow_up.loc[3, "awaiting_stage"], np.zeros(20, dtype="int64"), 1)
