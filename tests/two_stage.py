"""A small referral → visit dataset with its own pathway definition, made for tests.

Not the synthetic generator: a hand-written stand-in for a user's two-stage service
(a referral books a specialist visit; the visit must happen within 90 days), so that
nothing in the test depends on the default four-stage pathway.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PATHWAY_TOML = """
milestone = "visit"

[[stages]]
name = "referral"
label = "Referral"
done = "Referred"
missed = "Not referred"

[[stages]]
name = "visit"
label = "Specialist visit"
done = "Seen"
missed = "Not seen"

[programs.cardiology]
label = "Cardiology referrals"
windows = { referral = 30, visit = 90 }
stage_names = { referral = "cardiology referral", visit = "cardiology visit" }

[programs.dermatology]
label = "Dermatology referrals"
windows = { referral = 30, visit = 120 }
"""
AS_OF = pd.Timestamp("2026-06-30")


def two_stage_tables(n: int = 2500, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients (only the required columns plus age and sex) and their events."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"R{i:05d}" for i in range(n)])
    program = rng.choice(["cardiology", "dermatology"], n, p=[0.6, 0.4])
    enrolled = AS_OF - pd.to_timedelta(rng.integers(20, 3 * 365, n), unit="D")
    age = rng.integers(25, 90, n)
    patients = pd.DataFrame({"patient_id": ids, "enrollment_date": enrolled, "program": program,
                             "age": age, "sex": rng.choice(["F", "M"], n)})
    referred = rng.random(n) < 0.92
    referral = enrolled + pd.to_timedelta(rng.integers(0, 25, n), unit="D")
    lead = np.clip(rng.lognormal(np.log(35), 0.6, n).round(), 3, 80).astype(int)
    booked = referral + pd.to_timedelta(lead, unit="D")
    # Longer waits and older age lower attendance, so a model has something to learn.
    attend = rng.random(n) < 1 / (1 + np.exp(-(2.2 - 0.03 * lead - 0.015 * (age - 50))))
    visit = booked + pd.to_timedelta(rng.integers(0, 5, n), unit="D")
    referral_rows = referred & (referral <= AS_OF)
    visit_rows = referral_rows & attend & (visit <= AS_OF)
    events = pd.concat([
        pd.DataFrame({"patient_id": ids[referral_rows], "stage": "referral", "date": referral[referral_rows],
                      "next_appointment_date": booked[referral_rows]}),
        pd.DataFrame({"patient_id": ids[visit_rows], "stage": "visit", "date": visit[visit_rows]}),
    ], ignore_index=True)
    return patients, events


def write_two_stage_folder(folder) -> None:
    """The dataset as a user would hand it over: CSV files, pathway.toml, dataset.toml."""
    folder.mkdir(parents=True, exist_ok=True)
    patients, events = two_stage_tables()
    patients.to_csv(folder / "patients.csv", index=False, date_format="%Y-%m-%d")
    events.to_csv(folder / "events.csv", index=False, date_format="%Y-%m-%d")
    (folder / "pathway.toml").write_text(PATHWAY_TOML, encoding="utf-8")
    (folder / "dataset.toml").write_text(f"as_of = {AS_OF:%Y-%m-%d}\n", encoding="utf-8")


def write_two_stage_extract(folder) -> None:
    """The same data as a user's extract: their own column names and codes, an event log, a
    mapping that names the pathway definition. ``python -m data.ingest folder/mapping.toml``."""
    folder.mkdir(parents=True, exist_ok=True)
    patients, events = two_stage_tables()
    patients.rename(columns={"patient_id": "MRN", "enrollment_date": "Referred On", "program": "Service",
                             "age": "Age", "sex": "Gender"}).assign(
        Service=lambda f: f["Service"].map({"cardiology": "CARD", "dermatology": "DERM"})).to_csv(
        folder / "members.csv", index=False, date_format="%m/%d/%Y")
    events.rename(columns={"patient_id": "MRN", "stage": "Step", "date": "Date",
                           "next_appointment_date": "Booked For"}).assign(
        Step=lambda f: f["Step"].map({"referral": "REF", "visit": "VISIT"})).to_csv(
        folder / "encounters.csv", index=False, date_format="%m/%d/%Y")
    (folder / "pathway.toml").write_text(PATHWAY_TOML, encoding="utf-8")
    (folder / "mapping.toml").write_text(f"""
layout = "events"
as_of = {AS_OF:%Y-%m-%d}
pathway = "pathway.toml"

[patients]
file = "members.csv"
date_format = "%m/%d/%Y"
columns = {{ patient_id = "MRN", enrollment_date = "Referred On", program = "Service", age = "Age", sex = "Gender" }}
values.program = {{ CARD = "cardiology", DERM = "dermatology" }}

[events]
file = "encounters.csv"
date_format = "%m/%d/%Y"
columns = {{ patient_id = "MRN", stage = "Step", date = "Date", next_appointment_date = "Booked For" }}
values.stage = {{ REF = "referral", VISIT = "visit" }}
""", encoding="utf-8")
