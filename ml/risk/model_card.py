"""The model card (Markdown, TRIPOD+AI headings), written with each model report from its content."""
from __future__ import annotations

from ml.risk.models import MODEL_LABELS
from ml.monitor.drift import PSI_ALERT


def _num(value, digits=3) -> str:
    return "not available" if value is None else f"{value:.{digits}f}"


def model_card(report: dict) -> str:
    primary = report["primary_model"]
    m = report["models"][primary]
    label = MODEL_LABELS.get(primary, primary)
    day = m.get("decision_day") or {}
    oracle = (report.get("oracle") or {}).get("decision_day_roc_auc")
    # A risk if no one calls is calibrated against the no-call outcomes (uncalled rows, IPC-weighted).
    untreated = m.get("calibration_untreated")
    calibration = untreated or m.get("calibration") or {}
    denominator = ("against the outcomes of decision points no one called, weighted by 1 / P(staying uncalled)"
                   if untreated else "against every realised outcome")
    truth = m.get("oracle_calibration_error") or {}
    features = report.get("features") or {}
    dropped = features.get("dropped") or []
    subgroups = m.get("subgroups") or []
    widest = max(subgroups, key=lambda r: abs(r["calibration_gap"]), default=None)
    check = (report.get("monitoring") or {}).get("estimate_check") or {}
    ci = day.get("roc_auc_ci") or [None, None]
    lines = [
        "# Model card: CarePath dropout risk", "",
        f"Shown model: {label}. Data as of {report['as_of']}. Generated with the model report; every figure "
        "below is read from report.json of the same key.", "",
        "## Intended use", "",
        "Rank patients waiting at a decision point (a positive screen awaiting diagnosis, a diagnosis awaiting "
        "treatment, a treatment awaiting follow-up) by their risk of dropping out, so that care coordinators "
        "decide whom to call. It supports, and does not replace, a coordinator's judgement; it is not a "
        "diagnostic tool and says nothing about what a call would change (the benefit model does).", "",
        "## Population", "",
        f"{report['n_patients']:,} patients with {report['n_decision_points']:,} labelled decision points "
        f"(decision points whose outcome was final by the as-of date); {report['n_scored']:,} in-progress "
        "patients scored. Patients still in their window are never labelled as dropouts."
        + _sample_sentence(report), "",
        "## Outcome and horizon", "",
        "Dropout: the next indicated stage did not happen within its allowed window, anywhere before the "
        "pathway completed. A row is scored on its decision day and again at landmarks (days 7 … 150) while "
        f"the patient still waits; the observed dropout rate was {report['observed_dropout_rate']:.1%}.", "",
        "## Predictors", "",
        f"{len(features.get('used', []))} features known at the landmark: " + ", ".join(features.get("used", [])) + ". "
        "Race/ethnicity is not an input (used only for the fairness audit). "
        + ("Left out: " + "; ".join(f"{d['feature']} ({d['reason']})" for d in dropped) + "." if dropped
           else "No feature was left out."), "",
        "## Handling of missing data", "",
        "A missing value stays missing: logistic regression adds a missing indicator (numeric) or a 'not recorded' "
        "level (categorical); gradient boosting routes gaps natively. Nothing is imputed from other patients' "
        "outcomes. Attributes recorded for nobody, or with one value only, are dropped from both models.", "",
        "## Evaluation", "",
        f"{report['config']['n_folds']}-fold cross-validation grouped by patient; a temporal hold-out trained only "
        "on outcomes final before its cut-off. Headline, on the decision day: ROC-AUC "
        f"{_num(day.get('roc_auc'))} (95% CI {_num(ci[0])}–{_num(ci[1])}, bootstrap over patients) against "
        f"{_num(oracle)} for the generator's true probability on the same rows. Pooled over all landmark rows: "
        f"{m['roc_auc']:.3f} (oracle {_num(report.get('oracle_roc_auc'))}); the pooled figure rises with later "
        f"landmarks and is not the accuracy on the day of decision. Temporal hold-out ROC-AUC "
        f"{_num(m['temporal_holdout'].get('roc_auc'))}.", "",
        "## Calibration", "",
        f"Platt scaling cross-fitted on the other folds (no in-sample scaling). Observed {denominator}: "
        "calibration-in-the-large "
        f"{_num(calibration.get('calibration_in_the_large'))}, slope {_num(calibration.get('calibration_slope'), 2)}, "
        f"ICI {_num(calibration.get('ici'))}, E50 {_num(calibration.get('e50'))}, E90 {_num(calibration.get('e90'))}, "
        f"Emax {_num(calibration.get('emax'))}."
        + (f" Against the true probability: binned error {truth['binned']:.3f}, mean |p̂ − p_true| "
           f"{truth['mean_abs']:.3f}, bias {truth['bias']:+.3f}; worst subgroup "
           f"{truth['worst_subgroup']['attribute']} {truth['worst_subgroup']['group']} "
           f"({truth['worst_subgroup']['binned']:.3f})." if truth.get("worst_subgroup") else ""), "",
        "## Fairness", "",
        f"ROC-AUC and calibration are reported for {len(subgroups)} subgroups (sex, race/ethnicity, payer, age band, "
        "program, site)."
        + (f" Largest calibration gap: {widest['attribute']} {widest['group']} ({widest['calibration_gap']:+.3f}, "
           f"mean predicted − observed)." if widest else ""), "",
        "## Limitations", "",
        "Trained on synthetic data by default; on a user's own data the oracle figures do not exist. "
        + _drop_in_sentence(report.get("drop_in") or {}) + " Landmark rows of one "
        "patient are correlated (intervals come from a patient bootstrap). The score ranks risk, not benefit "
        "from a call.", "",
        "## Update policy", "",
        "The model is retrained whenever the data, the as-of date, the pathway definition, the training "
        "configuration, the library versions or the code that derives features, labels and evaluation change "
        f"(all are in the model key). `python -m ml.monitor` checks today's in-progress patients: an input whose "
        f"population stability index reaches {PSI_ALERT} raises an alert (exit code 3) and calls for a review "
        "and retraining. Before labels arrive, performance is estimated from the calibrated risks"
        + (f"; on the labelled history that estimate was off by {check['auc_mean_abs_error']:.3f} AUC on average "
           f"over {check['months']} months." if check.get("auc_mean_abs_error") is not None else "."), "",
    ]
    return "\n".join(lines)


def _drop_in_sentence(drop_in: dict) -> str:
    """How calls in the history were kept out of the risk (ml.risk.drop_in), or why not, for the Limitations."""
    if drop_in.get("handled"):
        return ("The risk is the risk if no one calls: decision points reached by a logged call "
                f"({drop_in['censored_decision_points']:,}) were censored at the call and the others weighted by "
                "the inverse probability of staying uncalled (IPCW, Sperrin et al. 2018); this is unbiased only if "
                "the call-propensity model captures why patients were called.")
    if drop_in.get("fallback"):
        return ("Calls in the history were NOT adjusted for although the outreach log holds "
                f"{drop_in.get('logged_calls', 0):,} calls: the drop-in handling fell back to the unweighted fit because "
                f"{drop_in.get('reason')}. The risk is therefore the risk under the care given then, below the risk if "
                "no one calls by about what the calls rescued.")
    return ("Calls in the history were not adjusted for (" + str(drop_in.get("reason", "no outreach log")) + "): "
            "had some patients been called and rescued, the risk would sit below the no-call risk.")


def _sample_sentence(report: dict) -> str:
    """" Trained on a random sample of ..." when the training rows were sampled (ml.sampling)."""
    from ml.sampling import PatientSample

    sample = PatientSample.from_report(report.get("training_sample"))
    return "" if sample is None or not sample.sampled else " " + sample.sentence("landmark rows")
