"""Human-readable model report (Markdown and terminal table) from report.json content."""
from __future__ import annotations

from ml.targeting.report import benefit_markdown
from ml.risk.models import MODEL_LABELS, MODEL_NAMES


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


def decision_day_markdown(report: dict) -> list[str]:
    """The headline: ROC-AUC on the decision day (where a coordinator first scores a patient),
    beside the oracle's on the same rows, then by landmark and by stage."""
    oracle = (report.get("oracle") or {}).get("decision_day_roc_auc")
    lines = ["## Decision day (headline)", "",
             "| model | decision-day ROC-AUC (95% CI) | oracle, same rows | gap | pooled over landmarks |",
             "|---|---|---|---|---|"]
    for name in MODEL_NAMES:
        m = report["models"][name]
        day = m.get("decision_day")
        if not day or day["roc_auc"] is None:
            continue
        low, high = day["roc_auc_ci"]
        gap = None if oracle is None else oracle - day["roc_auc"]
        lines.append(f"| {MODEL_LABELS[name]} | {day['roc_auc']:.3f} ({low:.3f}–{high:.3f}) | {_fmt(oracle)} | "
                     f"{_fmt(gap)} | {m['roc_auc']:.3f} |")
    lines += ["", "The pooled figure mixes landmark rows (decision day and days 7 … 150 of waiting); later "
              "landmarks are easier for every model and for the oracle, so it moves with the landmark grid. "
              "The decision-day figure does not.", ""]
    primary = report["models"][report["primary_model"]]
    if primary.get("by_landmark"):
        lines += ["| days waited | rows | observed | ROC-AUC | oracle |", "|---|---|---|---|---|"]
        lines += [f"| {r['waited_days']} | {r['rows']:,} | {r['observed_rate']:.1%} | {_fmt(r['roc_auc'])} | "
                  f"{_fmt(r['oracle_roc_auc'])} |" for r in primary["by_landmark"]]
        lines += ["", "| awaiting stage (decision day) | rows | observed | ROC-AUC | oracle |", "|---|---|---|---|---|"]
        lines += [f"| {r['awaiting_stage']} | {r['rows']:,} | {r['observed_rate']:.1%} | {_fmt(r['roc_auc'])} | "
                  f"{_fmt(r['oracle_roc_auc'])} |" for r in primary["by_stage"]]
        lines.append("")
    return lines


def calibration_markdown(report: dict) -> list[str]:
    """Calibration-in-the-large, slope, ICI, E50/E90/Emax; against the true probability where known."""
    lines = ["## Calibration", "", "| model | CITL (obs − pred) | slope | ICI | E50 | E90 | Emax | vs truth: binned | "
             "vs truth: mean abs | worst subgroup vs truth |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in MODEL_NAMES:
        m = report["models"][name]
        c = m.get("calibration")
        if not c:
            continue
        truth = m.get("oracle_calibration_error") or {}
        worst = truth.get("worst_subgroup")
        worst_text = "—" if not worst else f"{worst['attribute']} {worst['group']}: {worst['binned']:.3f}"
        lines.append(f"| {MODEL_LABELS[name]} | {c['calibration_in_the_large']:+.3f} | {c['calibration_slope']:.2f} | "
                     f"{c['ici']:.3f} | {c['e50']:.3f} | {c['e90']:.3f} | {c['emax']:.3f} | "
                     f"{_fmt(truth.get('binned'))} | {_fmt(truth.get('mean_abs'))} | {worst_text} |")
    lines += ["", "ICI and E50/E90/Emax: |smoothed observed − predicted| (local-linear loess on logit risk). "
              "'vs truth' compares the risk with the generator's true probability (synthetic data only): "
              "binned is the calibration error, mean abs adds the ranking error row by row.", ""]
    drop_in = report.get("drop_in") or {}
    if drop_in.get("handled"):
        untreated = report["models"][report["primary_model"]].get("calibration_untreated") or {}
        lines += [f"The risk is the risk if no one calls: {drop_in['censored_decision_points']:,} decision points "
                  "reached by a logged call were censored at the call, the others weighted by the inverse probability "
                  f"of staying uncalled (largest weight {drop_in['weight_max']:.1f}). The observed-outcome figures "
                  "above include the calls' rescues; against the uncalled outcomes, weighted, the shown model's CITL "
                  f"is {_fmt(untreated.get('calibration_in_the_large'))} and ICI {_fmt(untreated.get('ici'))}.", ""]
    elif drop_in.get("fallback"):
        lines += [f"Calls in the history were not adjusted for: the drop-in handling fell back to the unweighted fit "
                  f"because {drop_in['reason']}. The calibration above is against every realised outcome, calls' "
                  "rescues included.", ""]
    return lines


def decisions_markdown(report: dict) -> list[str]:
    decisions = report.get("decisions")
    if not decisions:
        return []
    primary = report["primary_model"]
    lines = ["## What a weekly calling capacity reaches (decision day, by ranking)", "",
             "| calls per week | ranking | calls | dropouts reached | share of all dropouts | calls per dropout reached |",
             "|---|---|---|---|---|---|"]
    for r in decisions["capacity"]:
        if r["ranking"] in (primary, "oracle", "random"):
            lines.append(f"| {r['calls_per_week']} | {r['ranking']} | {r['calls']:,} | {r['dropouts_reached']:,} | "
                         f"{_fmt(r['share_of_dropouts'], 3)} | {_fmt(r['calls_per_dropout_reached'], 2)} |")
    return lines + [""]


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
        *decision_day_markdown(report),
        "## Pooled over landmark rows", "",
        metrics_table(report), "",
        *calibration_markdown(report),
        *decisions_markdown(report),
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
