"""Every page on data that leaves optional attributes out, records one value only, or
leaves some unknown: nothing breaks, nothing single-valued is offered as a choice, and
nothing missing is shown as a value. Callbacks are called directly (no browser)."""
from __future__ import annotations

import re

import numpy as np
import pytest
from flask import Flask

from callbacks import context
from callbacks.filter_panel import controls_update, query_from_controls
from callbacks.model import model_view, subgroup_view
from callbacks.overview import overview_view
from callbacks.pathways import HIDDEN, pathways_view
from callbacks.patient import NOT_RECORDED, attribute_pairs, patient_view
from callbacks.worklist import ALL, worklist_view
from components import ids
from components.filters import filter_panel
from data.cohort_filter import CohortFilter, to_controls
from data.io import read_dataset, write_dataset
from ml.features import NOT_IN_DATA
from tests.app.component_text import component_text
from tests.conftest import SMALL_PATIENTS, SMALL_SEED, fast_training_config

ABSENT = ("race_ethnicity", "language", "payer", "portal_user", "est_out_of_pocket", "prior_allowed_cost_12m",
          "allowed_cost_to_date")
ABSENT_FEATURES = ("language", "payer", "portal_user", "est_out_of_pocket", "prior_allowed_cost_12m")
UNKNOWN_SHARE = 0.2  # of sex and area deprivation index
PRINTED_MISSING = re.compile(r"\b(nan|NaN|None|NA)\b|<NA>")
EVERYONE = to_controls(CohortFilter())


@pytest.fixture(scope="module")
def optional_data(tmp_path_factory, isolated_var_dir):
    """The app's start-up state for a claims-light extract: no race, language, payer, portal
    use or costs; every patient in one region; sex and ADI unknown for a fifth of patients.
    Loaded on its own Flask server; the session app's state is restored afterwards."""
    from data.synthetic.dataset import generate_tables

    tables, manifest = generate_tables(SMALL_PATIENTS, SMALL_SEED)
    patients = tables["patients"].drop(columns=list(ABSENT))
    patients["region"] = "urban"
    unknown = np.random.default_rng(3).random((2, len(patients))) < UNKNOWN_SHARE
    patients["sex"] = patients["sex"].astype(object).where(~unknown[0], "unknown")
    patients["adi"] = patients["adi"].astype(float).where(~unknown[1])  # an empty cell
    folder = tmp_path_factory.mktemp("optional-attributes") / "data"
    write_dataset({**tables, "patients": patients}, {k: v for k, v in manifest.items() if k != "files"},
                  folder, fmt="csv")
    dataset = read_dataset(folder)
    previous = context._current
    server = Flask(__name__)
    context.init_cache(server)
    try:
        yield context.load(server, dataset, log=lambda message: None, training_config=fast_training_config())
    finally:
        context._current = previous


def _field_style(panel, component_id):
    """The style of the filter field holding the control ``component_id``."""
    for field in panel.children:
        children = getattr(field, "children", None)
        if isinstance(children, list) and any(getattr(c, "id", None) == component_id for c in children):
            return getattr(field, "style", None)
    raise AssertionError(f"no field holds {component_id}")


def test_filter_panel_hides_fields_with_fewer_than_two_values(optional_data):
    assert set(optional_data.unavailable_filter_fields) == {"race_ethnicities", "payers", "regions"}
    panel = filter_panel(optional_data.sites, optional_data.enrolled_first, optional_data.enrolled_last,
                         optional_data.unavailable_filter_fields)
    for hidden in (ids.FILTER_RACE_ETHNICITY, ids.FILTER_PAYER, ids.FILTER_REGION):
        assert _field_style(panel, hidden) == {"display": "none"}
    for shown in (ids.FILTER_PROGRAM, ids.FILTER_SEX, ids.FILTER_SITE, ids.FILTER_AGE):
        assert _field_style(panel, shown) is None


def test_a_url_restricting_an_unavailable_attribute_keeps_everyone_and_is_made_canonical(optional_data):
    values = controls_update("?program=diabetes&payer=Medicaid&region=urban&race=Asian", False, EVERYONE)
    assert values[0] == ["diabetes"]
    assert values[3] == values[4] == values[5] == []  # race, payer, region
    assert query_from_controls(*values) == "?program=diabetes"
    everyone = overview_view("")
    assert overview_view("?payer=Medicaid").patients == everyone.patients
    assert everyone.patients == f"{len(optional_data.dataset.patients):,}"


def test_pathways_hides_the_payer_breakdown_but_keeps_the_site_breakdown(optional_data):
    view = pathways_view("")
    assert view.payer_style == HIDDEN
    assert view.site_style is None
    assert sum(row["patients"] for row in view.site_rows) == len(optional_data.cohort_frame)


def test_model_page_lists_the_features_left_out_and_the_attributes_not_audited(optional_data):
    view = model_view()
    assert view.message is None
    features = component_text(view.features)
    for feature in ("Preferred language", "Payer", "Patient-portal use", "Estimated out-of-pocket cost"):
        assert f"{feature}: {NOT_IN_DATA}" in features
    assert "Region: the same value for every patient" in features
    assert "Race/ethnicity (not recorded)" in view.subgroups_skipped
    assert "Payer (not recorded)" in view.subgroups_skipped
    for name in ("logistic_regression", "gradient_boosting"):
        attributes = {row["attribute"] for row in subgroup_view(name)}
        assert attributes and not attributes & {"Race/ethnicity", "Payer"}
        assert not {"Preferred language", "Payer", "Region"} & set(view.importance[name].data[0].y)


def test_worklist_drivers_never_cite_an_absent_attribute(optional_data):
    view = worklist_view("", ALL)
    assert view.message is None and view.rows
    for row in view.rows:
        assert not re.search(r"coverage|prefers|patient portal|out-of-pocket|area$", row["top_drivers"]), row
        assert not PRINTED_MISSING.search(row["top_drivers"]), row


def test_patient_page_shows_not_recorded_instead_of_inventing(optional_data):
    patients = optional_data.dataset.patients
    scores = optional_data.risk_scores
    sex_unknown = set(patients.loc[patients["sex"].isna(), "patient_id"])
    patient_id = next(pid for pid in scores["patient_id"] if pid in sex_unknown)
    view = patient_view(patient_id, "")
    assert view.message is None
    shown = dict(attribute_pairs(context.patient_record(patient_id)))
    for label in ("Sex", "Payer", "Preferred language", "Patient-portal user", "Estimated out-of-pocket cost"):
        assert shown[label] == NOT_RECORDED, label
    text = " ".join(component_text(part) for part in (view.attributes, view.drivers, view.header, view.risk))
    assert not PRINTED_MISSING.search(text)
    assert not re.search(r"\bsex [FM]\b|Female|Male", component_text(view.drivers))


def test_unavailable_fields_and_the_canonical_url_without_them():
    import pandas as pd

    from data.cohort_filter import parse_query, to_query, unavailable_fields

    frame = pd.DataFrame({"age": [40, 70, None], "sex": ["F", "M", None], "payer": [None] * 3,
                          "region": ["rural"] * 3, "site": ["A", "B", "B"]})
    assert set(unavailable_fields(frame)) == {"race_ethnicities", "payers", "regions"}
    cohort = parse_query("?payer=Medicaid&region=rural&age=40-65&sex=F&site=B", ("A", "B"),
                         unavailable=("payers", "regions", "age"))
    assert cohort.payers == cohort.regions == () and cohort.age_min is cohort.age_max is None
    assert to_query(cohort) == "?sex=F&site=B"
