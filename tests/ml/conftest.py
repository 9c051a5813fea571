"""The default synthetic data (50k patients, seed 7) with models trained once per session."""
from __future__ import annotations

import pytest

from data.generator import DEFAULT_AS_OF, generate_tables
from data.io import read_dataset, write_dataset
from ml.models import TrainingConfig
from ml.training import train_models


@pytest.fixture(scope="session")
def default_bundle(tmp_path_factory):
    """(dataset, bundle) for the default data and the default training config."""
    tables, manifest = generate_tables(50_000, 7, DEFAULT_AS_OF)
    folder = tmp_path_factory.mktemp("default") / "data"
    write_dataset(tables, manifest, folder)
    dataset = read_dataset(folder)
    return dataset, train_models(dataset, TrainingConfig(), log=lambda message: None)
