"""A user's own two-stage pathway (referral -> visit) through ingest, validate, training and
the Overview, Pathways and Worklist callbacks: nothing may assume the default four stages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from data.ingest import ingest
from data.io import read_dataset
from tests.two_stage import AS_OF, write_two_stage_extract

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def two_stage_dataset(tmp_path_factory):
    source = tmp_path_factory.mktemp("two-stage-extract")
    write_two_stage_extract(source)
    out = tmp_path_factory.mktemp("two-stage") / "dataset"
    manifest, summary = ingest(source / "mapping.toml", out)
    assert "referral" in summary and "visit" in summary
    assert manifest["files"]["pathway.toml"]["sha256"]  # the definition travels with the data
    return out


def test_ingest_writes_the_pathway_with_the_data_and_validate_accepts_it(two_stage_dataset):
    assert (two_stage_dataset / "pathway.toml").is_file()
    dataset = read_dataset(two_stage_dataset)
    assert dataset.pathway.stage_names == ("referral", "visit")
    assert dataset.as_of == AS_OF and set(dataset.patients["program"]) == {"cardiology", "dermatology"}
    result = subprocess.run([sys.executable, "-m", "data.validate", str(two_stage_dataset)], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout
    assert f"referral → visit (from {two_stage_dataset / 'pathway.toml'})" in result.stdout


def test_a_stage_outside_the_pathway_is_refused_by_ingest(tmp_path):
    write_two_stage_extract(tmp_path)
    encounters = pd.read_csv(tmp_path / "encounters.csv", dtype=str)
    encounters.loc[0, "Step"] = "SURGERY"
    encounters.to_csv(tmp_path / "encounters.csv", index=False)
    from data.validation import ContractError

    with pytest.raises(ContractError, match="SURGERY"):
        ingest(tmp_path / "mapping.toml", tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def two_stage_app(two_stage_dataset, isolated_var_dir):
    """The app's start-up state for the two-stage dataset, on its own Flask server; the
    session app's state is restored afterwards."""
    from flask import Flask

    from callbacks import context
    from tests.conftest import fast_training_config

    previous = context._current
    server = Flask(__name__)
    context.init_cache(server)
    try:
        yield context.load(server, read_dataset(two_stage_dataset), log=lambda message: None,
                           training_config=fast_training_config())
    finally:
        context._current = previous


def test_models_train_on_the_two_stage_pathway(two_stage_app):
    report = two_stage_app.models.report
    assert report["n_decision_points"] > 500
    assert {"visit"} == set(two_stage_app.models.scores["awaiting_stage"])
    # The synthetic stand-in makes long waits and age lower attendance: a real signal.
    for name in ("logistic_regression", "gradient_boosting"):
        assert report["models"][name]["roc_auc"] > 0.6
    # Stage names in the worklist come from the definition's programs, not the default pathway.
    assert set(two_stage_app.models.scores["stage_name"]) <= {"cardiology visit", "specialist visit"}


def test_overview_pathways_and_worklist_speak_the_pathways_words(two_stage_app):
    from callbacks.overview import kpi_definitions as kpis
    from callbacks.overview import overview_view
    from callbacks.pathways import pathways_view
    from callbacks.worklist import worklist_view
    from tests.app.component_text import component_text

    overview = overview_view("")
    assert overview.message is None
    assert list(overview.funnel.data[0].y or overview.funnel.data[0].x)  # the funnel is drawn
    titles = [title for title, _, _ in kpis(two_stage_app.dataset.pathway)]
    assert "Referral uptake" in titles and "Referral → specialist visit" in titles

    pathways = pathways_view("")
    # Node names ride in customdata; the visible labels are annotations beside the nodes.
    labels = set(pathways.sankey.data[0].node.customdata) | {a.text for a in pathways.sankey.layout.annotations}
    assert any(label.startswith("Seen (completed)") for label in labels)
    assert not any("screen" in label.lower() for label in labels)
    assert "specialist visit after referral" in component_text(pathways.bottleneck)

    worklist = worklist_view("", "all")
    assert worklist.message is None and len(worklist.rows) == len(two_stage_app.models.scores)


def test_the_cohort_filter_offers_the_pathways_programs(two_stage_app):
    from callbacks import context
    from components.filters import filter_panel

    cardiology = context.cohort_frame("?program=cardiology")
    assert 0 < len(cardiology) < len(two_stage_app.cohort_frame)
    assert set(cardiology["program"]) == {"cardiology"}
    assert context.cohort_filter("?program=colorectal").programs == ()  # not a program of this data
    panel = filter_panel(two_stage_app.sites, two_stage_app.enrolled_first, two_stage_app.enrolled_last,
                         program_labels=two_stage_app.dataset.pathway.program_labels)
    assert "Cardiology referrals" in str(panel) and "Colorectal" not in str(panel)


def test_scenarios_say_why_they_are_not_offered_for_another_pathway(two_stage_app):
    from callbacks.scenarios import scenario_view
    from tests.app.component_text import component_text

    assert two_stage_app.scenarios is None
    message = component_text(scenario_view("").message)
    assert "referral → visit" in message and "default" in message
