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


def test_a_stage_outside_the_pathway_is_refused_by_ingest(tmp_path):
    write_two_stage_extract(tmp_path)
    encounters = pd.read_csv(tmp_path / "encounters.csv", dtype=str)
    encounters.loc[0, "Step"] = "SURGERY"
    encounters.to_csv(tmp_path / "encounters.csv", index=False)
    from data.validation import ContractError

    with pytest.raises(ContractError, match="SURGERY"):
        ingest(tmp_path / "mapping.toml", tmp_path / "out")
    assert not (tmp_path / "out").exists()
