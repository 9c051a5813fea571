"""Follow-up-after-an-index-event measures (e.g. eCQM 4705e: colonoscopy within 180 days
of a positive stool test, ages 45–75) on the per-patient cohort frame.

Each patient of the measure's program whose index stage had an index result is put in
exactly one evaluation group, checked in this order:

- ``excluded_age_not_recorded``: no age on file, so the age criterion cannot be checked;
- ``excluded_age_out_of_range``: age at the index event outside [age_min, age_max];
- ``not_yet_evaluable``: the follow-up window is still open at the as-of date
  (index date + within_days > as-of), listed apart whether or not the follow-up already happened —
  counting early completers alone would flatter the rate;
- ``met`` (numerator): the follow-up stage happened 0–within_days days after the index event;
- ``gap`` (in the denominator, not in the numerator): it did not, or later.

Denominator = met + gap. Age at the index event = age at enrollment + whole years from
enrollment to the index event (the data record age at enrollment, not a birth date).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.analytics.intervals import wilson_interval
from data.pathway import Measure

MET, GAP = "met", "gap"
NOT_YET_EVALUABLE = "not_yet_evaluable"
AGE_OUT_OF_RANGE = "excluded_age_out_of_range"
AGE_NOT_RECORDED = "excluded_age_not_recorded"
EVALUATION_LABELS = {
    MET: "Met (numerator)",
    GAP: "Not met (numerator gap)",
    NOT_YET_EVALUABLE: "Not yet evaluable (window still open at the as-of date)",
    AGE_OUT_OF_RANGE: "Excluded: age outside the measure's range",
    AGE_NOT_RECORDED: "Excluded: age not recorded",
}
EVALUATIONS = tuple(EVALUATION_LABELS)
_DAYS_PER_YEAR = 365.25


def evaluate_patients(frame: pd.DataFrame, program: str, measure: Measure, as_of) -> pd.DataFrame:
    """One row per patient with an index event: patient_id, site, index_date, index_month,
    age_at_index, days_to_follow_up, evaluation (one of EVALUATIONS)."""
    index_date = pd.to_datetime(frame[f"{measure.index_stage}_date"])
    is_index = (frame["program"] == program) & index_date.notna()
    if measure.index_results:
        is_index &= frame[f"{measure.index_stage}_result"].isin(measure.index_results)
    rows = frame.loc[is_index]
    index_date = index_date[is_index]
    follow_up = pd.to_datetime(rows[f"{measure.follow_up_stage}_date"])
    days_to_follow_up = (follow_up - index_date).dt.days
    enrolled = pd.to_datetime(rows["enrollment_date"])
    age = pd.to_numeric(rows["age"], errors="coerce") if "age" in rows.columns else pd.Series(np.nan, rows.index)
    years_since_enrollment = np.floor((index_date - enrolled).dt.days.clip(lower=0) / _DAYS_PER_YEAR)
    age_at_index = age + years_since_enrollment

    low = -np.inf if measure.age_min is None else measure.age_min
    high = np.inf if measure.age_max is None else measure.age_max
    age_applies = measure.age_min is not None or measure.age_max is not None
    window_open = index_date + pd.Timedelta(days=measure.within_days) > pd.Timestamp(as_of).normalize()
    met = days_to_follow_up.between(0, measure.within_days)
    evaluation = np.select(
        [age_applies & age_at_index.isna(), age_applies & ~age_at_index.between(low, high), window_open, met],
        [AGE_NOT_RECORDED, AGE_OUT_OF_RANGE, NOT_YET_EVALUABLE, MET], default=GAP)
    return pd.DataFrame({
        "patient_id": rows["patient_id"].to_numpy(),
        "site": (rows["site"] if "site" in rows.columns else pd.Series(None, rows.index)).to_numpy(),
        "index_date": index_date.to_numpy(),
        "index_month": index_date.dt.strftime("%Y-%m").to_numpy(),
        "age_at_index": age_at_index.to_numpy(),
        "days_to_follow_up": days_to_follow_up.to_numpy(),
        "evaluation": evaluation,
    })


def rate_table(evaluated: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Counts and the rate per group (one row for everyone when ``by`` is None).

    The counts are plain integer columns built here only (numerator, denominator and one
    column per exclusion), so small-cell suppression can be applied in one place.
    """
    keys = evaluated[by].fillna("Not recorded") if by else pd.Series("All", index=evaluated.index)
    counts = pd.crosstab(keys, evaluated["evaluation"]).reindex(columns=list(EVALUATIONS), fill_value=0)
    if by is None and counts.empty:
        counts = pd.DataFrame(0, index=["All"], columns=list(EVALUATIONS))
    table = pd.DataFrame({
        "group": counts.index.astype(str),
        "numerator": counts[MET].to_numpy(dtype="int64"),
        "denominator": (counts[MET] + counts[GAP]).to_numpy(dtype="int64"),
        "not_yet_evaluable": counts[NOT_YET_EVALUABLE].to_numpy(dtype="int64"),
        "excluded_age_out_of_range": counts[AGE_OUT_OF_RANGE].to_numpy(dtype="int64"),
        "excluded_age_not_recorded": counts[AGE_NOT_RECORDED].to_numpy(dtype="int64"),
    })
    table["gap"] = table["denominator"] - table["numerator"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = np.where(table["denominator"] > 0, table["numerator"] / table["denominator"], np.nan)
    table["rate_lower"], table["rate_upper"] = wilson_interval(table["numerator"], table["denominator"])
    return table.sort_values("group", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class MeasureResult:
    program: str
    measure: Measure
    as_of: pd.Timestamp
    evaluated: pd.DataFrame  # evaluate_patients: patient-level, never logged or written by the CLI
    overall: pd.DataFrame  # rate_table(by=None): one row
    by_site: pd.DataFrame
    by_month: pd.DataFrame  # by month of the index event: the trend

    @property
    def gap_patient_ids(self) -> list[str]:
        return self.evaluated.loc[self.evaluated["evaluation"] == GAP, "patient_id"].astype(str).tolist()

    def summary(self) -> dict:
        """JSON-ready aggregates (no patient-level rows)."""
        def records(table: pd.DataFrame) -> list[dict]:
            return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
                    for row in table.astype(object).to_dict("records")]

        overall = records(self.overall)[0]
        overall.pop("group")
        m = self.measure
        return {
            "program": self.program, "measure": m.name, "label": m.label, "reference": m.reference,
            "definition": {"index_stage": m.index_stage, "index_results": list(m.index_results),
                           "follow_up_stage": m.follow_up_stage, "within_days": m.within_days,
                           "age_min": m.age_min, "age_max": m.age_max},
            "as_of": str(self.as_of.date()), "overall": overall,
            "by_site": records(self.by_site), "by_month": records(self.by_month),
        }


def measure_result(frame: pd.DataFrame, program: str, measure: Measure, as_of) -> MeasureResult:
    return result_of(evaluate_patients(frame, program, measure, as_of), program, measure, as_of)


def result_of(evaluated: pd.DataFrame, program: str, measure: Measure, as_of) -> MeasureResult:
    """The measure's result from its evaluate_patients rows (e.g. a cohort's share of the whole
    population's: each patient is evaluated on their own rows alone)."""
    return MeasureResult(program, measure, pd.Timestamp(as_of).normalize(), evaluated,
                         rate_table(evaluated, None), rate_table(evaluated, "site"),
                         rate_table(evaluated, "index_month"))
