"""The worked example for "bring your own data": a small synthetic population written the way
a real EHR extract looks (its own column names, codes, US dates, miles, some attributes
missing altogether and some "Unknown"), plus an appointment extract with reschedules.

    python -m data.synthetic.flat_example --out examples/flat_extract

Only patients and their stages are exported; the mapping that turns them back into a
CarePath dataset (examples/flat_extract/mapping.toml) is written by hand, as a user would.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from data.pathway import DEFAULT_PATHWAY
from data.synthetic.dataset import DEFAULT_AS_OF, generate_tables

PROGRAM_CODES = {"colorectal": "CRC", "diabetes": "DM", "depression": "BH"}
PAYER_CODES = {"Commercial": "COMM", "Medicare": "MCR", "Medicaid": "MCD", "Uninsured": "SELF"}
SETTING_CODES = {"urban": "U", "suburban": "S", "rural": "R"}
RESULT_CODES = {"positive": "POS", "negative": "NEG", "confirmed": "CONFIRMED", "ruled_out": "RULED OUT"}
# (extract column prefix, stage)
STAGE_COLUMNS = (("Screen", "screening"), ("Dx", "diagnosis"), ("Tx Start", "treatment"), ("Follow-up", "follow_up"))
US_DATE = "%m/%d/%Y"
APPOINTMENT_TYPES = {"diagnosis": "DX VISIT", "treatment": "TX START", "follow_up": "FOLLOW-UP"}


def _mrn(patient_ids: pd.Series) -> np.ndarray:
    """P0000017 -> 00000017: a numeric medical record number whose leading zeros must survive."""
    return patient_ids.str[1:].str.zfill(8).to_numpy()


def _us_dates(values) -> pd.Series:
    return pd.Series(pd.to_datetime(values)).dt.strftime(US_DATE).fillna("").to_numpy()


def flat_extract(patients: pd.DataFrame, events: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per patient, per-stage Date/Result columns, extract-style codes."""
    n = len(patients)
    sex = patients["sex"].astype(str).to_numpy()
    # Two spellings in one column (systems merged over the years) and a few unknowns.
    spelled_out = rng.random(n) < 0.3
    sex = np.where(spelled_out, np.where(sex == "M", "Male", "Female"), sex)
    sex = np.where(rng.random(n) < 0.03, rng.choice(["U", "Unknown"], n), sex)
    payer = patients["payer"].astype(str).map(PAYER_CODES).to_numpy()
    payer = np.where(rng.random(n) < 0.02, "UNK", payer)
    miles = np.round(patients["distance_km"].to_numpy() / 1.609344, 1).astype(object)
    miles[rng.random(n) < 0.02] = ""
    out = pd.DataFrame({
        "MRN": _mrn(patients["patient_id"]),
        "Program": patients["program"].astype(str).map(PROGRAM_CODES),
        "Referral Date": _us_dates(patients["enrollment_date"]),
        "Age": patients["age"],
        "Gender": sex,
        "Insurance": payer,
        "Clinic": patients["site"].astype(str),
        "Setting": patients["region"].astype(str).map(SETTING_CODES),
        "Distance (mi)": miles,
        "Charlson": patients["comorbidity_index"],
        "Visits 12m": patients["prior_visits_12m"],
        "No-Shows 12m": patients["prior_no_shows_12m"],
        "Referral Source": rng.choice(["Mailed outreach", "Clinic visit", "Portal message"], n),
    })
    by_patient = {stage: events[events["stage"].astype(str) == stage].set_index("patient_id")
                  for _, stage in STAGE_COLUMNS}
    for prefix, stage in STAGE_COLUMNS:
        rows = by_patient[stage].reindex(patients["patient_id"])
        if stage == "screening":
            out["Screen Completed"] = np.where(rows["date"].notna(), "Y", "N")
        out[f"{prefix} Date"] = _us_dates(rows["date"].to_numpy())
        if DEFAULT_PATHWAY.stage(stage).has_results:
            out[f"{prefix} Result"] = rows["result"].map(RESULT_CODES).fillna("").to_numpy()
    return out


def appointment_extract(patients: pd.DataFrame, events: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per booking: the first booking made on the decision day and, when the stage
    took place on another day, the rebooking made after the first was missed."""
    as_of = pd.Timestamp(as_of)
    booked = events[events["next_appointment_date"].notna()]
    next_stage = booked["stage"].astype(str).map(DEFAULT_PATHWAY.next_stage).to_numpy()
    attended = events.assign(stage=events["stage"].astype(str)).set_index(["patient_id", "stage"])["date"]
    actual = attended.reindex(pd.MultiIndex.from_arrays([booked["patient_id"], next_stage])).to_numpy()
    first = booked["next_appointment_date"].to_numpy("datetime64[ns]")
    decided = booked["date"].to_numpy("datetime64[ns]")
    came = ~np.isnat(actual)
    on_time = came & (actual == first)
    status = np.where(on_time, "Completed", np.where(first > as_of.to_datetime64(), "Scheduled",
                                                      np.where(came, "Rescheduled", "No Show")))
    moved = came & ~on_time
    day = np.timedelta64(1, "D")
    # The rebooking is made the day after the missed slot: later than the decision day.
    rebooked_on = np.maximum(np.minimum(first[moved] + day, actual[moved] - day), decided[moved])
    ids = booked["patient_id"].to_numpy()
    frame = pd.concat([
        pd.DataFrame({"patient_id": ids, "stage": next_stage, "booked_on": decided, "appointment_date": first,
                      "status": status}),
        pd.DataFrame({"patient_id": ids[moved], "stage": next_stage[moved], "booked_on": rebooked_on,
                      "appointment_date": actual[moved], "status": "Completed"}),
    ], ignore_index=True)
    # As a scheduling system logs them: by booking day.
    frame = frame.sort_values(["booked_on", "patient_id", "appointment_date"], kind="stable")
    return pd.DataFrame({
        "MRN": _mrn(frame["patient_id"]),
        "Appt Type": frame["stage"].map(APPOINTMENT_TYPES),
        "Made On": _us_dates(frame["booked_on"]),
        "Appt Date": _us_dates(frame["appointment_date"]),
        "Status": frame["status"],
    })


def write_example(out: Path, n_patients: int = 2000, seed: int = 23) -> dict:
    tables, _ = generate_tables(n_patients, seed, DEFAULT_AS_OF)
    rng = np.random.default_rng(seed)
    patients, events = tables["patients"], tables["events"]
    out.mkdir(parents=True, exist_ok=True)
    flat = flat_extract(patients, events, rng)
    appointments = appointment_extract(patients, events, DEFAULT_AS_OF)
    flat.to_csv(out / "patients.csv", index=False)
    appointments.to_csv(out / "appointments.csv", index=False)
    return {"patients": len(flat), "appointments": len(appointments)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.synthetic.flat_example", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for patients.csv and appointments.csv")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=23)
    args = parser.parse_args(argv)
    counts = write_example(args.out, args.patients, args.seed)
    print(f"wrote {args.out}/patients.csv ({counts['patients']:,} patients) and appointments.csv "
          f"({counts['appointments']:,} bookings); the mapping is {args.out}/mapping.toml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
