"""Monitoring under label delay: drift alert on an injected shift, none on the default-like data,
label-free estimates checked against realised labels, and the command line for automation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import ml.monitor.__main__ as monitor_cli
from ml.monitor import monitor
from ml.monitor.drift import drift_table, psi, reference_profile
from ml.monitor.injection import NEW_SITE, inject_drift
from ml.monitor.performance import expected_auc, monthly_performance


def test_psi_is_zero_for_the_same_mix_and_grows_with_the_shift():
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert psi([0.5, 0.5], [0.4, 0.6]) < psi([0.5, 0.5], [0.2, 0.8])
    assert psi([0.5, 0.5], [0.2, 0.8]) == pytest.approx(0.3 * np.log(4) / 1 - 0.0, rel=0.4)


def test_drift_table_counts_a_category_never_seen_in_training():
    reference = pd.DataFrame({"site": ["A", "B"] * 500, "adi": np.linspace(0, 100, 1000)})
    profile = reference_profile(reference, ["site", "adi"], categorical=("site",))
    current = pd.DataFrame({"site": ["A"] * 50 + ["C"] * 50, "adi": np.linspace(0, 100, 100)})
    table = {r["feature"]: r for r in drift_table(profile, current)}
    assert table["site"]["new_category_share"] == 0.5 and table["site"]["status"] == "alert"
    assert table["adi"]["psi"] < 0.1


def test_expected_auc_matches_the_realised_auc_of_calibrated_draws():
    """The confidence-based estimate is what the AUC averages to when outcomes follow the risks."""
    rng = np.random.default_rng(0)
    risk = rng.beta(2, 3, 800)
    realised = [roc_auc_score(rng.random(800) < risk, risk) for _ in range(200)]
    assert expected_auc(risk) == pytest.approx(np.mean(realised), abs=0.005)


def test_monthly_performance_reports_calibration_in_the_large_by_month():
    dates = pd.Series(pd.to_datetime(["2026-01-10"] * 100 + ["2026-02-10"] * 100))
    outcome = np.r_[np.ones(50), np.zeros(50), np.ones(20), np.zeros(80)].astype(int)
    risk = np.full(200, 0.5)
    months = {m["month"]: m for m in monthly_performance(dates, outcome, risk)}
    assert months["2026-01"]["calibration_in_the_large"] == pytest.approx(0.0)
    assert months["2026-02"]["calibration_in_the_large"] == pytest.approx(-0.3)


def test_history_checks_the_label_free_estimate_against_realised_labels(default_bundle):
    """The risk is the risk if no one calls (ml.risk.drop_in), so the check is against the no-call
    outcomes: uncalled decision points, IPC-weighted. Against every realised label (called patients'
    rescues included) the estimate ran 0.07 above (0.721 vs 0.654). On the default data: 3,000
    patients give ~20 decision points a month, fewer still uncalled, too few for a monthly AUC."""
    report = default_bundle[1].report
    assert report["drop_in"]["handled"]
    section = report["monitoring"]
    labelled = [m for m in section["by_month"] if m["roc_auc"] is not None]
    assert len(labelled) >= 12 and section["estimate_check"]["months"] == len(labelled)
    assert section["estimate_check"]["realised_labels"].startswith("uncalled decision points")
    # Calibrated risks estimate the AUC of the labelled months without seeing a label: month by
    # month within the sampling noise of a few hundred decision points, and without bias overall.
    check = section["estimate_check"]
    assert abs(check["estimated_auc_mean"] - check["realised_auc_mean"]) < 0.03, check
    assert check["auc_mean_abs_error"] < 0.12, check


@pytest.fixture(scope="module")
def new_population(tmp_path_factory):
    """Another draw of the same synthetic world (no drift), large enough that ~150 patients are
    waiting today: the small dataset has only a few dozen, too few for any drift statistic."""
    from data.io import read_dataset, write_dataset
    from data.synthetic.dataset import generate_tables

    tables, manifest = generate_tables(12_000, 23)
    folder = tmp_path_factory.mktemp("monitor") / "data"
    write_dataset(tables, manifest, folder)
    return read_dataset(folder)


def test_sampling_noise_alone_is_not_flagged():
    """Bug guarded: flagging a few dozen waiting patients on PSI >= 0.25 alone, which chance reaches."""
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"age": rng.normal(55, 12, 5000)})
    profile = reference_profile(reference, ["age"], categorical=())
    flagged = [drift_table(profile, pd.DataFrame({"age": rng.normal(55, 12, 30)}))[0]["status"] for _ in range(50)]
    assert flagged.count("alert") == 0


def test_the_same_population_raises_no_alert(new_population, small_models):
    result = monitor(new_population, small_models)
    assert result["in_progress_patients"] > 100
    assert not result["alert"], result["reasons"]


def test_a_shifted_payer_mix_and_a_new_site_with_longer_waits_raise_the_alert(new_population, small_models):
    drifted = inject_drift(new_population)
    assert (drifted.patients["site"] == NEW_SITE).any() and new_population.patients is not drifted.patients
    result = monitor(drifted, small_models)
    assert result["alert"]
    flagged = {d["feature"] for d in result["drift"] if d["status"] == "alert"}
    assert {"site", "payer"} <= flagged, result["drift"][:4]
    lead = next(d for d in result["drift"] if d["feature"] == "lead_days")
    assert lead["psi"] > next(d for d in monitor(new_population, small_models)["drift"]
                              if d["feature"] == "lead_days")["psi"]


def test_command_line_exit_code_and_json(new_population, small_models, monkeypatch, tmp_path, capsys):
    def loaded(dataset):
        return lambda args, log=print: (dataset, small_models, None)

    monkeypatch.setattr(monitor_cli, "load_dataset_and_models", loaded(new_population))
    out = tmp_path / "monitor.json"
    assert monitor_cli.main(["--json", str(out)]) == 0
    assert json.loads(out.read_text())["alert"] is False
    assert "no alert" in capsys.readouterr().out
    monkeypatch.setattr(monitor_cli, "load_dataset_and_models", loaded(inject_drift(new_population)))
    assert monitor_cli.main(["--json", "-"]) == monitor_cli.ALERT_EXIT_CODE
    printed = json.loads(capsys.readouterr().out)
    assert printed["alert"] is True and printed["reasons"]
