"""Human-readable model report (Markdown and terminal table) from report.json content."""
from __future__ import annotations

from ml.targeting.report import benefit_markdown
from ml.models import MODEL_LABELS, MODEL_NAMES


def _fmt(value, digits=3):
    return "—" if value is None else f"{value:.{digits}f}"


def metrics_table(report: dict) -> str:
    header = "| model | ROC-AUC (95% CI) | PR-AUC | Brier | ECE | cal. slope | temporal AUC | gap to oracle |"
    lines = [header, "|" + "---|" * 8]
    for name in MODEL_NAMES:
        m = report["models"][name]
        low, high = m["roc_auc_ci"]
        lines.append(f"| {MODEL_LABELS[name]} | {m['roc_auc']:.3f} ({low:.3f}–{high:.3f}) | {m['pr_auc']:.3f} | "
                     f"{m['brier']:.3f} | {m['ece']:.3f} | {m['calibration_slope']:.2f} | "
                     f"{_fmt(m['temporal_holdout']['roc_auc'])} | {_fmt(m.get('oracle_gap'))} |")
    lines.append(f"| Oracle (true probability) | {_fmt(report['oracle_roc_auc'])} | | | | | | |")
    return "\n".join(lines)


def features_markdown(report: dict) -> list[str]:
    """The features both models used and those the data could not support, with the reason."""
    features = report.get("features")
    if not features:  # a report from before the feature set was decided from the data
        return []
    lines = ["## Features", "", f"Used ({len(features['used'])}): " + ", ".join(features["used"]) + ".", ""]
    if features["dropped"]:
        lines += ["Left out of both models:", ""]
        lines += [f"- {d['feature']}: {d['reason']}" for d in features["dropped"]]
    else:
        lines.append("No feature was left out.")
    return lines + [""]


def report_markdown(report: dict) -> str:
    primary = MODEL_LABELS[report["primary_model"]]
    parts = [
        "# CarePath dropout-risk models", "",
        f"Data as of {report['as_of']}: {report['n_decision_points']:,} labelled decision points "
        f"({report['n_rows']:,} landmark rows, {report['n_patients']:,} patients), observed dropout "
        f"{report['observed_dropout_rate']:.1%}. Metrics are from {report['config']['n_folds']}-fold "
        "cross-validation grouped by patient, calibrated risks (Platt, cross-fitted).", "",
        metrics_table(report), "",
        f"Shown risk: {primary}. Fitting both models with CV took {report['fit_seconds']:.1f} s "
        f"({report['total_seconds']:.0f} s with evaluation and explanations). "
        f"{report['n_scored']:,} in-progress patients scored.", "",
        *features_markdown(report),
        "## Most important features (permutation, drop in held-out ROC-AUC)", "",
    ]
    for name in MODEL_NAMES:
        top = ", ".join(f"{r['feature']} ({r['auc_drop']:.3f})"
                        for r in report["models"][name]["permutation_importance"][:8])
        parts.append(f"- {MODEL_LABELS[name]}: {top}")
    parts += ["", "## Subgroups (shown model)", "", "| attribute | group | rows | ROC-AUC | observed | predicted |",
              "|---|---|---|---|---|---|"]
    for r in report["models"][report["primary_model"]]["subgroups"]:
        parts.append(f"| {r['attribute']} | {r['group']} | {r['rows']:,} | {r['roc_auc']:.3f} | "
                     f"{r['observed_rate']:.1%} | {r['mean_predicted']:.1%} |")
    skipped = report.get("subgroups_skipped") or []
    if skipped:
        parts += ["", "Not audited (fewer than two recorded values): "
                  + ", ".join(f"{s['attribute']} ({s['reason']})" for s in skipped) + "."]
    if "benefit" in report:
        parts += ["", *benefit_markdown(report["benefit"])]
    return "\n".join(parts) + "\n"
