"""python -m data.ingest: mapping a user's extract onto the data contract, refusing what it
cannot convert honestly, and never touching the sources or writing half a dataset."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.cohorts import cohort_kpis
from data.ingest import MappingError, OutputFolderError, ingest
from data.ingest.__main__ import main as ingest_main
from data.io import read_dataset, write_dataset
from data.journeys import derive_journeys

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "flat_extract"
AS_OF = pd.Timestamp("2026-09-30")


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: (sha256, mtime_ns), to prove nothing was written."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "data.ingest", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True)


def write_source(folder: Path, mapping: str, **files: pd.DataFrame | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name.replace("__", ".")
        if isinstance(content, str):
            path.write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
        else:
            content.to_csv(path, index=False)
    (folder / "mapping.toml").write_text(textwrap.dedent(mapping), encoding="utf-8")
    return folder / "mapping.toml"


# A tiny flat extract whose every cell is known: value maps, a US date format, miles and
# a constant program, with the screening placed by a day offset for one row.
SMALL_FLAT = """\
    MRN,Referral,Sex,Miles,FIT Done,FIT Date,FIT Result,Colo Date,Colo Result,Note
    00017,03/04/2024,Male,10,Y,03/20/2024,POS,04/15/2024,Neoplasia,x
    00018,12/01/2023,U,,N,,,,,y
    00019,01/02/2024,F,2.5,Y,02/01/2024,NEG,,,z
"""
SMALL_FLAT_MAPPING = """\
    layout = "flat"
    as_of = 2026-09-30
    [patients]
    file = "extract.csv"
    date_format = "%m/%d/%Y"
    columns = { patient_id = "MRN", enrollment_date = "Referral", sex = "Sex", distance_km = "Miles" }
    constants = { program = "colorectal" }
    values.sex = { Male = "M", F = "F", U = "" }
    scale = { distance_km = 1.609344 }
    [stages.screening]
    done = "FIT Done"
    date = "FIT Date"
    result = "FIT Result"
    values.result = { POS = "positive", NEG = "negative" }
    [stages.diagnosis]
    date = "Colo Date"
    result = "Colo Result"
    values.result = { Neoplasia = "confirmed", Normal = "ruled_out" }
"""


@pytest.fixture
def small_flat(tmp_path) -> Path:
    return write_source(tmp_path / "src", SMALL_FLAT_MAPPING, extract__csv=SMALL_FLAT)


# --------------------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def example_copy(tmp_path_factory) -> Path:
    """The worked example regenerated at another size: flat table + appointment extract."""
    from data.synthetic.flat_example import write_example

    folder = tmp_path_factory.mktemp("extract")
    write_example(folder, n_patients=900, seed=5)
    shutil.copy(EXAMPLE / "mapping.toml", folder / "mapping.toml")
    return folder


def generator_tables(n: int, seed: int):
    from data.synthetic.dataset import generate_tables

    tables, _ = generate_tables(n, seed)
    mrn = {pid: f"{int(pid[1:]):08d}" for pid in tables["patients"]["patient_id"]}
    return tables["patients"].assign(patient_id=tables["patients"]["patient_id"].map(mrn)), \
        tables["events"].assign(patient_id=tables["events"]["patient_id"].map(mrn))


def test_flat_layout_round_trips_to_the_generators_tables(example_copy, tmp_path):
    ingest(example_copy / "mapping.toml", tmp_path / "out")
    ds = read_dataset(tmp_path / "out")
    patients, events = generator_tables(900, 5)

    merged = ds.events.merge(events, on=["patient_id", "stage"], suffixes=("", "_truth"), validate="1:1")
    assert len(merged) == len(ds.events) == len(events)
    assert (merged["date"] == merged["date_truth"]).all()
    assert (merged["result"].fillna("") == merged["result_truth"].fillna("")).all()
    # The appointment extract's first booking is exactly the generator's booked date, even
    # where the patient missed it and a rebooking came later.
    same = (merged["next_appointment_date"] == merged["next_appointment_date_truth"]) | (
        merged["next_appointment_date"].isna() & merged["next_appointment_date_truth"].isna())
    assert same.all()
    assert merged["next_appointment_booked_on"].dropna().eq(
        merged.loc[merged["next_appointment_booked_on"].notna(), "date"]).all()

    truth = patients.set_index("patient_id").loc[ds.patients["patient_id"]]
    assert (ds.patients["program"].to_numpy() == truth["program"].astype(str).to_numpy()).all()
    assert (ds.patients["enrollment_date"].to_numpy() == truth["enrollment_date"].to_numpy()).all()
    known = ds.patients["sex"].notna().to_numpy()
    assert 0 < (~known).sum() < 0.1 * len(known)  # the extract's "U"/"Unknown" are missing, not invented
    assert (ds.patients["sex"].to_numpy()[known] == truth["sex"].astype(str).to_numpy()[known]).all()
    km = ds.patients["distance_km"].to_numpy()
    assert np.nanmax(np.abs(km - truth["distance_km"].to_numpy())) < 0.1  # miles (1 decimal) back to km
    # Attributes the extract lacks stay absent: not even an empty column is written.
    written = pd.read_parquet(tmp_path / "out" / "patients.parquet").columns
    assert not {"race_ethnicity", "language", "adi", "portal_user", "est_out_of_pocket"} & set(written)
    assert ds.patients["race_ethnicity"].isna().all() and ds.patients["portal_user"].isna().all()


def test_event_log_layout_round_trips_every_column(tmp_path):
    from data.synthetic.dataset import generate_tables

    tables, _ = generate_tables(600, 3)
    patients, events = tables["patients"], tables["events"]
    stage_codes = {"screening": "SCR", "diagnosis": "DX", "treatment": "TX", "follow_up": "FU"}
    result_codes = {"positive": "+", "negative": "-", "confirmed": "C", "ruled_out": "R"}
    src = tmp_path / "src"
    src.mkdir()
    patients_out = patients.rename(columns={"patient_id": "Patient", "enrollment_date": "Enrolled"})
    patients_out["Enrolled"] = patients_out["Enrolled"].dt.strftime("%d.%m.%Y")
    patients_out["portal_user"] = np.where(patients["portal_user"], "Y", "N")
    patients_out.to_parquet(src / "people.parquet")
    pd.DataFrame({
        "Patient": events["patient_id"], "Step": events["stage"].astype(str).map(stage_codes),
        "Service Date": events["date"].dt.strftime("%d.%m.%Y"),
        "Outcome": events["result"].map(result_codes), "Where": events["site"].astype(str),
        "Charge": events["billed_cost"], "Booked For": events["next_appointment_date"].dt.strftime("%d.%m.%Y"),
    }).to_csv(src / "encounters.csv", sep=";", index=False)
    other = [c for c in patients.columns if c not in ("patient_id", "enrollment_date")]
    mapping = write_source(src, f"""
        layout = "events"
        as_of = 2026-09-30
        [patients]
        file = "people.parquet"
        date_format = "%d.%m.%Y"
        columns = {{ patient_id = "Patient", enrollment_date = "Enrolled", {", ".join(f'{c} = "{c}"' for c in other)} }}
        values.portal_user = {{ Y = "true", N = "false" }}
        [events]
        file = "encounters.csv"
        sep = ";"
        date_format = "%d.%m.%Y"
        [events.columns]
        patient_id = "Patient"
        stage = "Step"
        date = "Service Date"
        result = "Outcome"
        site = "Where"
        billed_cost = "Charge"
        next_appointment_date = "Booked For"
        [events.values]
        stage = {json.dumps({code: stage for stage, code in stage_codes.items()}).replace(":", " =")}
        result = {{ "+" = "positive", "-" = "negative", C = "confirmed", R = "ruled_out" }}
    """)
    ingest(mapping, tmp_path / "out")
    ds = read_dataset(tmp_path / "out")
    expected = read_dataset(_written(tables, tmp_path / "truth"))
    pd.testing.assert_frame_equal(ds.patients, expected.patients, check_dtype=False)
    pd.testing.assert_frame_equal(ds.events.drop(columns="next_appointment_booked_on"),
                                  expected.events.drop(columns="next_appointment_booked_on"), check_dtype=False)


def _written(tables, folder):
    write_dataset({"patients": tables["patients"], "events": tables["events"]}, {"as_of": "2026-09-30"}, folder)
    return folder


def test_value_maps_date_formats_units_and_constants_are_applied(small_flat, tmp_path):
    ingest(small_flat, tmp_path / "out")
    ds = read_dataset(tmp_path / "out")
    p = ds.patients.set_index("patient_id")
    assert list(p.index) == ["00017", "00018", "00019"]  # ids keep their leading zeros
    assert p.loc["00017", "enrollment_date"] == pd.Timestamp("2024-03-04")  # March 4th, not April 3rd
    assert p["sex"].tolist()[0] == "M" and pd.isna(p.loc["00018", "sex"]) and p.loc["00019", "sex"] == "F"
    assert p.loc["00017", "distance_km"] == pytest.approx(16.09344)
    assert pd.isna(p.loc["00018", "distance_km"])
    assert (p["program"] == "colorectal").all()
    e = ds.events.set_index(["patient_id", "stage"])
    assert len(e) == 3  # 00018 was never screened: no event is made up for it
    assert e.loc[("00017", "diagnosis"), "result"] == "confirmed"
    assert e.loc[("00019", "screening"), "date"] == pd.Timestamp("2024-02-01")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["ignored_source_columns"] == {"extract.csv": ["Note"]}
    assert "age" in manifest["attributes"]["patients"]["absent"]


def test_day_offsets_place_stages_that_have_only_a_done_flag(tmp_path):
    mapping = write_source(tmp_path / "src", """
        layout = "flat"
        as_of = 2025-03-01
        [patients]
        file = "x.csv"
        columns = { patient_id = "ID", enrollment_date = "Start" }
        constants = { program = "diabetes" }
        [stages.screening]
        done = "Screened"
        day_offset = "Screen Day"
        result = "A1c"
        values.result = { High = "positive", Normal = "negative" }
    """, x__csv="ID,Start,Screened,Screen Day,A1c\nA,2025-01-10,yes,14,High\nB,2025-02-01,no,,\n")
    ingest(mapping, tmp_path / "out")
    events = read_dataset(tmp_path / "out").events
    assert events[["patient_id", "date"]].values.tolist() == [["A", pd.Timestamp("2025-01-24")]]


# --------------------------------------------------------------------------- errors


def test_an_unknown_code_names_the_file_the_column_and_the_codes(small_flat, tmp_path, capsys):
    source = small_flat.parent / "extract.csv"
    source.write_text(SMALL_FLAT_TEXT.replace("00018,12/01/2023,U", "00018,12/01/2023,X"), encoding="utf-8")
    code = ingest_main([str(small_flat), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert str(source) in err and "'Sex'" in err and "unknown_code" in err
    assert "'X' (1 row)" in err and "row 1: MRN='00018', Sex='X'" in err
    assert "[patients.values.sex]" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


SMALL_FLAT_TEXT = textwrap.dedent(SMALL_FLAT)


def test_a_done_flag_without_a_date_is_refused(small_flat, tmp_path, capsys):
    source = small_flat.parent / "extract.csv"
    source.write_text(SMALL_FLAT_TEXT.replace("Y,02/01/2024,NEG", "Y,,NEG"), encoding="utf-8")
    assert ingest_main([str(small_flat), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "'FIT Done' [done_without_date]" in err and "does not invent dates" in err
    assert "row 2: MRN='00019', FIT Done='Y'" in err


def test_a_date_format_mismatch_names_the_format_and_rows(small_flat, tmp_path, capsys):
    source = small_flat.parent / "extract.csv"
    source.write_text(SMALL_FLAT_TEXT.replace("03/20/2024", "2024-03-20"), encoding="utf-8")
    assert ingest_main([str(small_flat), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "'FIT Date' [date_format]" in err and "'%m/%d/%Y'" in err and "FIT Date='2024-03-20'" in err


def test_contract_problems_name_the_source_column(small_flat, tmp_path, capsys):
    source = small_flat.parent / "extract.csv"
    # A diagnosis dated before the screening: only the contract's checks can see it.
    source.write_text(SMALL_FLAT_TEXT.replace("04/15/2024", "03/01/2024"), encoding="utf-8")
    assert ingest_main([str(small_flat), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "(per-stage columns), column 'FIT Date / Colo Date (-> date)' [stage_order]" in err
    assert "row 0: patient_id=00017" in err  # the source row, not a position in the derived events


@pytest.mark.parametrize("broken, rule", [
    (lambda m: m.replace('date = "FIT Date"\n', ""), "done_without_date"),  # a flag alone places nothing in time
    (lambda m: m.replace('sex = "Sex"', 'sex = "Gender"'), "missing_column"),
    (lambda m: m.replace('"extract.csv"', '"nope.csv"'), "missing_file"),
    (lambda m: m.replace('Male = "M"', 'Male = "male"'), "allowed_values"),
    (lambda m: m.replace('layout = "flat"', 'layout = "flat"\ntypo = 1'), "unknown_key"),
    (lambda m: m.replace('constants = { program = "colorectal" }', ""), "missing_required"),
    (lambda m: m + "\n[[", "toml"),
])
def test_a_bad_mapping_exits_2_with_the_rule(small_flat, tmp_path, capsys, broken, rule):
    small_flat.write_text(broken(small_flat.read_text()), encoding="utf-8")
    assert ingest_main([str(small_flat), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"[{rule}]" in err and str(small_flat.parent) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_the_source_folder_is_unchanged_after_success_and_failure(small_flat, tmp_path):
    before = snapshot(small_flat.parent)
    ok = run_cli(small_flat, "--out", tmp_path / "ok")
    assert ok.returncode == 0, ok.stderr
    (small_flat.parent / "extract.csv").write_text(SMALL_FLAT_TEXT.replace("POS", "MAYBE"), encoding="utf-8")
    before_failure = snapshot(small_flat.parent)
    failed = run_cli(small_flat, "--out", tmp_path / "failed")
    assert failed.returncode == 1 and "MAYBE" in failed.stderr and "Traceback" not in failed.stderr
    assert snapshot(small_flat.parent) == before_failure
    assert set(before) == set(before_failure)  # no file added to the sources either


def test_nothing_is_written_on_error_not_even_temp_folders(small_flat, tmp_path):
    (small_flat.parent / "extract.csv").write_text(SMALL_FLAT_TEXT.replace("Male", "Mail"), encoding="utf-8")
    parent = tmp_path / "target"
    parent.mkdir()
    result = run_cli(small_flat, "--out", parent / "data")
    assert result.returncode == 1
    assert list(parent.iterdir()) == []


def test_out_refuses_a_foreign_folder_and_the_source_folder(small_flat, tmp_path):
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    for out in (foreign, small_flat.parent, small_flat.parent.parent):
        before = snapshot(tmp_path)
        with pytest.raises(OutputFolderError):
            ingest(small_flat, out)
        assert snapshot(tmp_path) == before
    result = run_cli(small_flat, "--out", foreign)
    assert result.returncode == 2 and "notes.txt" in result.stderr and "not a CarePath dataset" in result.stderr
    # A CarePath dataset written earlier may be replaced: that is what re-running ingest does.
    ingest(small_flat, tmp_path / "data")
    ingest(small_flat, tmp_path / "data")
    assert read_dataset(tmp_path / "data").manifest["source"] == "ingest"


def test_out_refuses_the_dataset_folder_the_sources_are_read_from(tmp_path):
    # Re-mapping a CSV dataset in place: the folder looks like a CarePath dataset, but
    # replacing it would delete the very files being read.
    from tests.data.test_validation import make_tables

    patients, events = make_tables()
    dataset = tmp_path / "ds"
    write_dataset({"patients": patients, "events": events}, {"as_of": "2023-12-31"}, dataset, fmt="csv")
    mapping = write_source(tmp_path / "maps", """
        layout = "events"
        [patients]
        file = "../ds/patients.csv"
        columns = { patient_id = "patient_id", enrollment_date = "enrollment_date", program = "program" }
        [events]
        file = "../ds/events.csv"
        columns = { patient_id = "patient_id", stage = "stage", date = "date", result = "result" }
    """)
    before = snapshot(dataset)
    with pytest.raises(OutputFolderError, match="out_holds_sources"):
        ingest(mapping, dataset)
    assert snapshot(dataset) == before
    ingest(mapping, tmp_path / "copy")  # elsewhere it converts fine
    assert len(read_dataset(tmp_path / "copy").events) == len(events)


# --------------------------------------------------------------------------- appointments


def test_a_reschedule_never_overwrites_the_first_booking(small_flat, tmp_path):
    # 00017: positive FIT on 03/20; the colonoscopy was booked that day for 04/10, then moved
    # (booked again on 03/25 for 04/15). The reschedule is listed first in the file.
    (small_flat.parent / "appts.csv").write_text(textwrap.dedent("""\
        MRN,Type,Booked,When,Status
        00017,COLO,03/25/2024,04/15/2024,Completed
        00017,COLO,03/20/2024,04/10/2024,Rescheduled
        00017,COLO,03/01/2024,03/30/2024,Cancelled
        00099,COLO,03/20/2024,04/10/2024,Scheduled
    """), encoding="utf-8")
    small_flat.write_text(small_flat.read_text() + textwrap.dedent("""
        [appointments]
        file = "appts.csv"
        date_format = "%m/%d/%Y"
        columns = { patient_id = "MRN", stage = "Type", booked_on = "Booked", appointment_date = "When", status = "Status" }
        values.stage = { COLO = "diagnosis" }
    """), encoding="utf-8")
    manifest, summary = ingest(small_flat, tmp_path / "out")
    events = read_dataset(tmp_path / "out").events.set_index(["patient_id", "stage"])
    screen = events.loc[("00017", "screening")]
    assert screen["next_appointment_date"] == pd.Timestamp("2024-04-10")
    assert screen["next_appointment_booked_on"] == pd.Timestamp("2024-03-20")
    assert pd.isna(events.loc[("00019", "screening"), "next_appointment_date"])  # negative: nothing to book
    counts = manifest["appointments"]
    assert counts["first_bookings_used"] == 1 and counts["later_bookings_ignored"] == 1
    assert counts["booked_before_decision_ignored"] == 1 and counts["matching_no_decision_event"] == 1
    assert "1 later bookings (reschedules) ignored" in summary


def test_a_first_booking_not_after_its_decision_is_an_error_in_the_extract(small_flat, tmp_path, capsys):
    (small_flat.parent / "appts.csv").write_text("MRN,Type,Booked,When\n00017,COLO,03/20/2024,03/20/2024\n",
                                                 encoding="utf-8")
    small_flat.write_text(small_flat.read_text() + textwrap.dedent("""
        [appointments]
        file = "appts.csv"
        date_format = "%m/%d/%Y"
        columns = { patient_id = "MRN", stage = "Type", booked_on = "Booked", appointment_date = "When" }
        values.stage = { COLO = "diagnosis" }
    """), encoding="utf-8")
    assert ingest_main([str(small_flat), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{small_flat.parent / 'appts.csv'}, column 'When (-> appointment_date)' [next_appointment_order]" in err
    assert "row 0: patient_id=00017" in err


def test_appointments_and_booked_columns_cannot_both_be_mapped(small_flat, tmp_path):
    small_flat.write_text(small_flat.read_text().replace(
        'result = "FIT Result"', 'result = "FIT Result"\nnext_appointment_date = "Colo Date"') + textwrap.dedent("""
        [appointments]
        file = "extract.csv"
        columns = { patient_id = "MRN", stage = "MRN", booked_on = "FIT Date", appointment_date = "Colo Date" }
    """), encoding="utf-8")
    with pytest.raises(MappingError, match="mapped_twice"):
        ingest(small_flat, tmp_path / "out")


# --------------------------------------------------------------------------- manifest


def test_the_manifest_records_source_checksums_and_the_mapping(small_flat, tmp_path):
    manifest, _ = ingest(small_flat, tmp_path / "out")
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk == manifest and on_disk["source"] == "ingest" and on_disk["as_of"] == "2026-09-30"
    source = small_flat.parent / "extract.csv"
    recorded = on_disk["sources"]["patients"]
    assert recorded["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert recorded["bytes"] == source.stat().st_size and recorded["rows"] == 3 and recorded["file"] == "extract.csv"
    assert on_disk["mapping"]["stages"]["screening"]["values"]["result"] == {"POS": "positive", "NEG": "negative"}
    assert on_disk["mapping"]["patients"]["scale"] == {"distance_km": 1.609344}
    assert on_disk["mapping_file"]["sha256"] == hashlib.sha256(small_flat.read_bytes()).hexdigest()


def test_without_a_stated_as_of_the_manifest_leaves_it_to_the_reader(small_flat, tmp_path):
    small_flat.write_text(small_flat.read_text().replace("as_of = 2026-09-30\n", ""), encoding="utf-8")
    manifest, summary = ingest(small_flat, tmp_path / "out")
    assert "as_of" not in manifest and "not stated" in summary
    ds = read_dataset(tmp_path / "out")
    assert ds.as_of == pd.Timestamp("2024-04-15") and ds.manifest.get("as_of_inferred")


# --------------------------------------------------------------------------- worked example


def test_the_worked_example_is_what_its_generator_writes(tmp_path):
    from data.synthetic.flat_example import write_example

    write_example(tmp_path)
    for name in ("patients.csv", "appointments.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLE / name).read_bytes(), name
    assert (EXAMPLE / "patients.csv").stat().st_size < 400_000


def test_the_worked_example_end_to_end(tmp_path):
    out = tmp_path / "example"
    result = run_cli(EXAMPLE / "mapping.toml", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "patients optional columns absent:  race_ethnicity, language, adi, portal_user" in result.stdout
    assert "ignored source columns in patients.csv: Referral Source" in result.stdout
    validated = subprocess.run([sys.executable, "-m", "data.validate", str(out)], cwd=ROOT,
                               capture_output=True, text=True)
    assert validated.returncode == 0, validated.stderr
    ds = read_dataset(out)
    assert ds.as_of == AS_OF and len(ds.patients) == 2000
    journeys = derive_journeys(ds.patients, ds.events, ds.as_of)
    kpis = cohort_kpis(journeys)
    assert kpis.completed > 30 and kpis.dropped_out > 30 and kpis.in_progress > 0
    assert 0.1 < kpis.completion_rate < 0.6


# The app's start-up and each page's view, as the callbacks compute them, on the example.
SERVE_EXAMPLE = """
from app import create_app
from callbacks.model import model_view
from callbacks.overview import overview_view
from callbacks.pathways import pathways_view
from callbacks.worklist import worklist_view
app = create_app(log=lambda m: None)
assert app.server.test_client().get("/healthz").status_code == 200
assert overview_view("").message is None
assert overview_view("?program=colorectal").message is None
pathways_view("")
model_view()
assert len(worklist_view("").rows) > 0
"""


def test_the_worked_example_trains_and_serves(tmp_path):
    out = tmp_path / "example"
    assert run_cli(EXAMPLE / "mapping.toml", "--out", out).returncode == 0
    env = {**os.environ, "CAREPATH_DATA_DIR": str(out), "CAREPATH_VAR_DIR": str(tmp_path / "var")}
    trained = subprocess.run([sys.executable, "-m", "ml.cli.train"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert "labelled decision points" in trained.stdout
    served = subprocess.run([sys.executable, "-c", SERVE_EXAMPLE], cwd=ROOT, env=env, capture_output=True, text=True)
    assert served.returncode == 0, served.stderr[-2000:]
