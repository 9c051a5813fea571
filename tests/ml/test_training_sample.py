"""Training on a sample of whole patients above a row cap (ml.sampling), as a 1M-patient
registry is trained: the sample must keep patients whole (or grouped CV would leak a patient's
rows across folds), respect the cap, repeat with the seed, and be what the report describes."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.sampling import PatientSample, sample_patients
from tests.conftest import fast_training_config


def _ids(seed: int = 1, patients: int = 400) -> np.ndarray:
    """Row ids of ``patients`` patients with 1-8 rows each, rows shuffled."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.repeat([f"P{i:04d}" for i in range(patients)], rng.integers(1, 9, patients)))


def test_whole_patients_under_the_cap_repeatably():
    ids = _ids()
    sample = sample_patients(ids, 600, seed=0)
    kept = pd.Series(sample.keep).groupby(ids).agg(["min", "max"])
    assert (kept["min"] == kept["max"]).all()  # no patient split between sample and rest
    assert sample.sampled and 550 < sample.rows <= 600 and sample.rows == sample.keep.sum()
    assert sample.patients == len(set(ids[sample.keep])) and sample.of_patients == 400
    assert np.array_equal(sample_patients(ids, 600, seed=0).keep, sample.keep)
    assert not np.array_equal(sample_patients(ids, 600, seed=1).keep, sample.keep)
    left_out = set(sample.left_out_patients(ids))
    assert left_out == set(ids[~sample.keep]) and not left_out & set(ids[sample.keep])


def test_at_or_under_the_cap_nothing_is_sampled():
    ids = _ids()
    for cap in (None, len(ids)):
        sample = sample_patients(ids, cap, seed=0)
        assert not sample.sampled and sample.keep.all() and sample.sentence() == ""
        assert sample.as_report()["sampled"] is False


def test_report_round_trip_and_sentence():
    sample = sample_patients(_ids(), 600, seed=0)
    again = PatientSample.from_report(sample.as_report())
    assert again.sampled and again.sentence("landmark rows") == sample.sentence("landmark rows")
    assert f"{sample.patients:,} of 400 patients" in sample.sentence()
    assert PatientSample.from_report(None) is None


@pytest.fixture(scope="module")
def sampled_bundle(small_dataset):
    """Models of the small dataset trained on half of its rows."""
    from dataclasses import replace

    from ml.risk.training import train_models
    from ml.workspace import AnalyticWorkspace

    cap = len(AnalyticWorkspace.of(small_dataset).training_rows) // 2
    return train_models(small_dataset, replace(fast_training_config(), max_training_rows=cap),
                        log=lambda message: None)


def test_training_above_the_cap_fits_and_reports_the_sample(small_dataset, sampled_bundle):
    """Bug guarded: a cap that is ignored (every row trained), or a report that describes every
    row while the models saw the sample."""
    from ml.risk.model_card import model_card
    from ml.workspace import AnalyticWorkspace

    every_row = AnalyticWorkspace.of(small_dataset).training_rows
    cap = len(every_row) // 2
    bundle = sampled_bundle
    report = bundle.report
    section = report["training_sample"]
    assert section["sampled"] and section["of_rows"] == len(every_row) and section["max_rows"] == cap
    assert report["n_rows"] == section["rows"] <= cap
    assert report["n_patients"] == section["patients"] < section["of_patients"]
    assert report["models"]["gradient_boosting"]["rows"] == section["rows"]  # evaluated on the sample
    assert "random sample of" in model_card(report)
    assert len(bundle.scores) == len(AnalyticWorkspace.of(small_dataset).scoring_rows)  # everyone is scored


def test_the_model_page_says_its_counts_are_the_samples(sampled_bundle):
    from callbacks.model import header_strip

    text = str(header_strip(sampled_bundle.report))
    section = sampled_bundle.report["training_sample"]
    assert "random sample of" in text and f"{section['of_patients']:,} patients" in text
    unsampled = {**sampled_bundle.report, "training_sample": {**section, "sampled": False,
                                                               "rows": section["of_rows"]}}
    assert "random sample" not in str(header_strip(unsampled))


def test_untouched_rows_are_sampled_before_they_are_built(small_dataset):
    """The benefit model's untouched landmark rows (~15M at 10M patients) are sampled by patient
    before they are built: the same rows as building them all and sampling after. Bug guarded: a
    different sample (patients split, or the cap applied to decision points instead of rows)."""
    from ml.targeting.rows import unexposed_rows

    d = small_dataset
    assert d.outreach is not None and len(d.outreach)
    every = unexposed_rows(d.patients, d.events, d.outreach, d.as_of, d.pathway)
    cap = len(every) // 3
    sampled = unexposed_rows(d.patients, d.events, d.outreach, d.as_of, d.pathway, max_rows=cap, seed=4)
    expected = sample_patients(every["patient_id"], cap, 4)
    assert sampled.attrs["sample"] == expected.as_report() and expected.sampled
    pd.testing.assert_frame_equal(sampled, every[expected.keep].reset_index(drop=True), check_like=False)
    assert every.attrs["sample"]["sampled"] is False


def test_the_sampled_training_rows_are_built_for_the_sampled_patients_only(small_dataset):
    """At 10M patients every labelled landmark row is 11.3M rows (the first start's 22 GB peak);
    the sample's rows are built alone. They must be exactly the rows of drawing the sample from
    every row (ordered by patient). Bug guarded: another sample (codes not in the rows' patient
    order, the cap applied to decision points) or rows of patients outside it."""
    from ml.features import training_rows, training_sample
    from ml.workspace import AnalyticWorkspace

    d = small_dataset
    workspace = AnalyticWorkspace.of(d)
    every = workspace.training_rows
    cap = len(every) // 3
    expected = sample_patients(every["patient_id"], cap, 9)
    planned = training_sample(workspace.decision_points, cap, 9)
    assert planned.as_report() == expected.as_report() and expected.sampled
    built = training_rows(d.patients, d.events, d.as_of, d.pathway, points=workspace.decision_points,
                          max_rows=cap, seed=9)
    pd.testing.assert_frame_equal(built, every[expected.keep].reset_index(drop=True))
    rows, sample = workspace.training_sample(cap, 9)
    pd.testing.assert_frame_equal(rows, built)
    assert sample.as_report() == expected.as_report()
    rows, sample = workspace.training_sample(None, 9)
    assert rows is every and not sample.sampled
