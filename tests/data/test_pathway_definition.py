"""The pathway definition file is the one place stage rules live, it reproduces the
three default programs exactly, it refuses a definition that cannot work with a
message naming the field, and a dataset's own two-stage pathway flows through."""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from data.cohorts import cohort_kpis, funnel_counts, sankey_flows, stage_durations
from data.io import read_dataset
from data.journeys import derive_decision_points, derive_journeys
from data.pathway import DEFAULT_PATHWAY, PathwayError, parse_pathway
from tests.two_stage import PATHWAY_TOML, write_two_stage_folder

ROOT = Path(__file__).resolve().parents[2]

# The windows the product brief and docs/data.md document; the definition must keep them.
DOCUMENTED_WINDOWS = {
    "colorectal": {"screening": 180, "diagnosis": 180, "treatment": 90, "follow_up": 180},
    "diabetes": {"screening": 180, "diagnosis": 90, "treatment": 60, "follow_up": 120},
    "depression": {"screening": 180, "diagnosis": 60, "treatment": 60, "follow_up": 90},
}


def test_the_default_definition_reproduces_the_three_programs():
    assert DEFAULT_PATHWAY.stage_names == ("screening", "diagnosis", "treatment", "follow_up")
    assert DEFAULT_PATHWAY.windows == DOCUMENTED_WINDOWS
    assert DEFAULT_PATHWAY.stage("screening").leads_on == ("positive",)
    assert DEFAULT_PATHWAY.stage("diagnosis").ends == ("ruled_out",)
    assert not DEFAULT_PATHWAY.stage("treatment").has_results
    # The outcome is final once every remaining window has closed.
    assert DEFAULT_PATHWAY.outcome_horizon_days("colorectal", "diagnosis") == 180 + 90 + 180
    assert DEFAULT_PATHWAY.outcome_horizon_days("depression", "follow_up") == 90
    assert DEFAULT_PATHWAY.stage_name("colorectal", "diagnosis") == "colonoscopy"


# Shapes of a stage rule written out by hand: a stage sequence, a stage -> stage map,
# a stage -> results map. Any of them outside the definition is a second copy that
# would silently disagree with a dataset's own pathway.
SECOND_COPY = [
    re.compile(r'\(\s*"screening"\s*,\s*"diagnosis"'),
    re.compile(r'\(\s*"diagnosis"\s*,\s*"treatment"'),
    re.compile(r'"(screening|diagnosis|treatment|follow_up)"\s*:\s*"(screening|diagnosis|treatment|follow_up)"'),
    re.compile(r'"(screening|diagnosis)"\s*:\s*\(\s*"(positive|negative|confirmed|ruled_out)"'),
    re.compile(r'(WINDOW\w*|windows)\s*=\s*\{\s*"(colorectal|diabetes|depression)"'),
]


def test_no_module_writes_out_a_second_copy_of_the_stage_rules():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith((".venv/", "tests/")):
            continue
        text = path.read_text(encoding="utf-8")
        offenders += [f"{relative}: {m.group(0)}" for pattern in SECOND_COPY for m in pattern.finditer(text)]
    assert offenders == []


@pytest.mark.parametrize("change, field, rule", [
    (("windows = { referral = 30, visit = 90 }", "windows = { referral = 30 }"), "programs.cardiology.windows",
     "windows"),
    (('[programs.cardiology]', '[programs.cardiology]\noutcome_horizon_days = { visit = 10 }'),
     "outcome_horizon_days.visit", "horizon"),
    (('label = "Referral"', 'label = "Referral"\nleads_on = ["yes"]\nends = ["yes"]'), "stages[0]", "results"),
    (('milestone = "visit"', 'milestone = "surgery"'), "milestone", "milestone"),
    (('done = "Seen"', 'done = "Seen"\ncolour = "red"'), "stages[1]", "unknown_key"),
])
def test_an_unusable_definition_is_refused_with_the_field_and_rule(change, field, rule):
    text = PATHWAY_TOML.replace(*change)
    assert text != PATHWAY_TOML
    with pytest.raises(PathwayError) as error:
        parse_pathway(text, "pathway.toml")
    assert "pathway.toml" in str(error.value) and field in str(error.value) and f"[{rule}]" in str(error.value)


def test_a_bad_pathway_file_in_a_dataset_folder_is_a_contract_problem(tmp_path):
    folder = tmp_path / "two-stage"
    write_two_stage_folder(folder)
    (folder / "pathway.toml").write_text("[[stages]]\nname = 'only'\n", encoding="utf-8")
    from data.validation import ContractError

    with pytest.raises(ContractError, match=r"pathway\.toml.*at least two"):
        read_dataset(folder)


def test_a_two_stage_pathway_gives_journeys_decision_points_and_cohort_metrics(tmp_path):
    folder = tmp_path / "two-stage"
    write_two_stage_folder(folder)
    dataset = read_dataset(folder)
    pathway = dataset.pathway
    assert pathway.stage_names == ("referral", "visit") and dataset.as_of == pd.Timestamp("2026-06-30")

    journeys = derive_journeys(dataset.patients, dataset.events, dataset.as_of, pathway)
    assert set(journeys["status_stage"]) <= {"referral", "visit"}
    assert "exited" not in set(journeys["status"])  # no stage can end this pathway early
    # Windows are the definition's, not the default pathway's: dermatology allows 120 days.
    waiting = journeys[journeys["status"] == "in_progress"]
    allowed = (waiting["window_closes"] - waiting["awaiting_since"]).dt.days
    expected = waiting["program"].map({"cardiology": 90, "dermatology": 120}).where(
        waiting["status_stage"] == "visit", 30)
    assert (allowed == expected).all()

    points = derive_decision_points(dataset.patients, dataset.events, dataset.as_of, pathway)
    assert set(points["awaiting_stage"]) == {"visit"}
    horizon = (points["outcome_known_date"] - points["decision_date"]).dt.days
    assert (horizon == points["program"].map({"cardiology": 90, "dermatology": 120})).all()

    kpis = cohort_kpis(journeys, pathway)
    funnel = funnel_counts(journeys, pathway).set_index("step")
    flows = sankey_flows(journeys, pathway)
    assert list(funnel.index) == ["enrolled", "referral_done", "visit_done"]
    # The milestone is the stage right after the first: its wait is that step, listed once.
    assert list(stage_durations(journeys, pathway)["label"]) == ["Enrollment → referral", "Referral → specialist visit"]
    assert funnel.loc["visit_done", "patients"] == kpis.completed
    terminal = flows.dropna(subset=["target_status"]).groupby("target_status")["patients"].sum()
    assert terminal["completed"] == kpis.completed
    assert terminal["in_progress"] == kpis.in_progress
