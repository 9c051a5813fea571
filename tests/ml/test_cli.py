"""The ml command-line entry points on a small dataset: readable output, machine-readable files."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]


def _run(args, tmp_path):
    env = {**os.environ, "CAREPATH_VAR_DIR": str(tmp_path / "var")}
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_train_score_and_scenario_commands(small_dataset, tmp_path):
    data = str(small_dataset.source_dir)
    models = str(tmp_path / "models")
    train = _run(["ml.cli.train", "--data", data, "--out", models], tmp_path)
    assert train.returncode == 0, train.stderr
    assert "Gradient boosting" in train.stdout and "Oracle" in train.stdout
    report_path = next(Path(models).glob("*/report.json"))
    report = json.loads(report_path.read_text())
    for key in ("oracle_roc_auc", "n_decision_points", "fit_seconds"):
        assert key in report
    for name in ("logistic_regression", "gradient_boosting"):
        assert {"roc_auc", "roc_auc_ci", "pr_auc", "brier", "ece", "calibration_slope"} <= set(report["models"][name])
    assert (report_path.parent / "report.md").exists()
    card = (report_path.parent / "model_card.md").read_text()
    for heading in ("Intended use", "Population", "Outcome and horizon", "Predictors", "Handling of missing data",
                    "Evaluation", "Calibration", "Fairness", "Limitations", "Update policy"):
        assert f"## {heading}" in card
    day = report["models"][report["primary_model"]]["decision_day"]  # the card describes the shown model
    assert f"{day['roc_auc']:.3f}" in card and report["oracle"]["decision_day_roc_auc"] is not None
    assert "decision-day ROC-AUC" in train.stdout

    out = tmp_path / "worklist.csv"
    score = _run(["ml.cli.score", "--data", data, "--models", models, "--out", str(out)], tmp_path)
    assert score.returncode == 0, score.stderr
    table = pd.read_csv(out)
    assert len(table) == report["n_scored"] and table["risk"].is_monotonic_decreasing
    assert {"patient_id", "risk_tier", "days_waiting", "driver_1"} <= set(table.columns)

    scenario_out = tmp_path / "scenario.json"
    scenario = _run(["ml.cli.scenario", "--data", data, "--models", models, "--preset", "pathway_optimisation",
                     "--out", str(scenario_out)], tmp_path)
    assert scenario.returncode == 0, scenario.stderr
    result = json.loads(scenario_out.read_text())
    for key in ("baseline_completion_rate", "projected_completion_rate", "relative_improvement", "extra_completions",
                "cost_per_extra_completion", "true_completion_rate", "projected_completion_rate_ci"):
        assert key in result


def test_bad_arguments_get_clear_errors(small_dataset, tmp_path):
    missing = _run(["ml.cli.train", "--data", str(tmp_path / "nowhere")], tmp_path)
    assert missing.returncode != 0 and "nowhere" in missing.stderr
    bad = _run(["ml.cli.scenario", "--data", str(small_dataset.source_dir), "--wait-cut", "screening=0.3"], tmp_path)
    assert bad.returncode != 0 and "STAGE=VALUE" in bad.stderr
