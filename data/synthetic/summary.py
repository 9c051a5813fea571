"""A readable and machine-readable summary of a generated (default-pathway) dataset: sizes, statuses, stage rates."""
from __future__ import annotations

import pandas as pd

from data.journeys import derive_journeys
from data.schema import PROGRAMS


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def dataset_summary(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> dict:
    """Counts and observed stage conversion rates, overall and per program.

    Rates are among patients whose window for that stage has closed or who reached
    it, so in-progress patients do not drag them down (censoring).
    """
    journeys = derive_journeys(patients, events, pd.Timestamp(as_of))
    out = {
        "patients": int(len(patients)),
        "events": int(len(events)),
        "as_of": str(pd.Timestamp(as_of).date()),
        "status": journeys["status"].value_counts().astype(int).to_dict(),
        "programs": {},
    }
    for program in PROGRAMS:
        j = journeys[journeys["program"].astype(str) == program]
        out["programs"][program] = _stage_rates(j)
    return out


def _stage_rates(j: pd.DataFrame) -> dict:
    resolved = j["status"] != "in_progress"
    waiting_at = j["status_stage"].where(j["status"] == "in_progress")
    screened = j["screening_date"].notna()
    positive = j["screening_result"].astype(str) == "positive"
    diagnosed = j["diagnosis_date"].notna()
    confirmed = j["diagnosis_result"].astype(str) == "confirmed"
    treated = j["treatment_date"].notna()
    followed = j["follow_up_date"].notna()
    return {
        "patients": int(len(j)),
        "screening_uptake": _rate(int(screened.sum()), int((screened | (waiting_at != "screening")).sum())),
        "screen_positive": _rate(int(positive.sum()), int(screened.sum())),
        "diagnosis_after_positive_screen": _rate(int(diagnosed.sum()), int((positive & (waiting_at != "diagnosis")).sum())),
        "confirmed": _rate(int(confirmed.sum()), int(diagnosed.sum())),
        "treatment_after_confirmed": _rate(int(treated.sum()), int((confirmed & (waiting_at != "treatment")).sum())),
        "follow_up_after_treatment": _rate(int(followed.sum()), int((treated & (waiting_at != "follow_up")).sum())),
        "completion_rate": _rate(int((j["status"] == "completed").sum()),
                                 int(j["status"].isin(["completed", "dropped_out"]).sum())),
        "resolved": int(resolved.sum()),
    }


def format_summary(summary: dict) -> str:
    lines = [f"{summary['patients']:,} patients, {summary['events']:,} events, as of {summary['as_of']}",
             "status: " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary["status"].items()))]
    header = f"{'program':<12}{'screened':>10}{'positive':>10}{'dx|pos':>8}{'conf':>7}{'tx|conf':>9}{'fu|tx':>7}{'complete':>10}"
    lines.append(header)
    for program, r in summary["programs"].items():
        cells = [r["screening_uptake"], r["screen_positive"], r["diagnosis_after_positive_screen"], r["confirmed"],
                 r["treatment_after_confirmed"], r["follow_up_after_treatment"], r["completion_rate"]]
        widths = [10, 10, 8, 7, 9, 7, 10]
        lines.append(f"{program:<12}" + "".join(
            f"{('—' if v is None else f'{v:.1%}'):>{w}}" for v, w in zip(cells, widths)))
    return "\n".join(lines)
