"""The default synthetic data (50k patients, seed 7) with models trained once per session."""
from __future__ import annotations

import pytest

from data.synthetic.dataset import DEFAULT_AS_OF, generate_tables
from data.io import read_dataset, write_dataset
from ml.scenarios.attendance import AttendanceModel, resolved_decision_rows
from ml.features import decision_day_rows
from ml.risk.models import TrainingConfig
from ml.risk.training import train_models


@pytest.fixture(scope="session")
def default_bundle(tmp_path_factory):
    """(dataset, bundle) for the default data and the default training config."""
    tables, manifest = generate_tables(50_000, 7, DEFAULT_AS_OF)
    folder = tmp_path_factory.mktemp("default") / "data"
    write_dataset(tables, manifest, folder)
    dataset = read_dataset(folder)
    return dataset, train_models(dataset, TrainingConfig(), log=lambda message: None)


@pytest.fixture(scope="session")
def default_rows(default_bundle):
    """(dataset, every decision point on its decision day) for the default data."""
    dataset = default_bundle[0]
    return dataset, decision_day_rows(dataset.patients, dataset.events, dataset.as_of)


@pytest.fixture(scope="session")
def default_model(default_rows):
    """The stage-attendance model fitted on the default data's closed decision points."""
    dataset, rows = default_rows
    resolved = rows[resolved_decision_rows(rows, dataset.as_of)]
    return AttendanceModel.fit(resolved, resolved["next_stage_date"].notna().to_numpy())
