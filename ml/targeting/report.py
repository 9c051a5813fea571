"""The benefit model's part of the model report, and the policy-value table as text."""
from __future__ import annotations

RANKING_LABELS = {"benefit": "expected gain (benefit model)", "risk": "dropout risk", "deadline": "deadline (soonest first)",
                  "random": "random (expected)", "oracle": "oracle (true gain)"}


def policy_value_lines(table: dict) -> list[str]:
    """Markdown table: true extra completions (95 % interval) and share of the oracle per ranking and k."""
    capacities = [str(k) for k in table["capacities"]]
    header = "| ranking | " + " | ".join(f"top {k}: extra completions (95 % CI) | share of oracle" for k in capacities) \
        + " | normalised AUUC |"
    lines = [header, "|---|" + "---|---|" * len(capacities) + "---|"]
    for name, entry in table["rankings"].items():
        cells = []
        for k in capacities:
            low, high = entry["true_extra_completions_ci"][k]
            share = entry["share_of_oracle"][k]
            cells += [f"{entry['true_extra_completions'][k]:.2f} ({low:.2f}–{high:.2f})",
                      "—" if share is None else f"{share:.0%}"]
        lines.append(f"| {RANKING_LABELS.get(name, name)} | " + " | ".join(cells)
                     + f" | {entry['normalised_auuc']:.2f} |")
    return lines


def benefit_markdown(section: dict | None) -> list[str]:
    parts = ["## Whom a call helps (benefit model)", ""]
    if not section or not section.get("available"):
        reason = (section or {}).get("reason", "not trained")
        return parts + [f"No benefit model: {reason}. `expected_gain` is missing in the scores.", ""]
    parts += [f"{section['learner']} on {section['training_rows']:,} logged rows ({section['called_rows']:,} called, "
              f"{section['patients']:,} patients, {section['sweeps']} weekly sweeps). Awaited stage done within its "
              f"window: {section['stage_done_rate']['called']:.1%} when called, "
              f"{section['stage_done_rate']['not_called']:.1%} otherwise; doubly robust uplift "
              f"{section['estimated_stage_uplift']:+.3f}. Qini coefficient on the log (out of fold): "
              + ", ".join(f"{k} {v:.4f}" for k, v in section["qini_coefficient"].items()) + ".", ""]
    table = section.get("policy_value")
    if table:
        parts += [f"Policy value on the ground truth ({table['patients']:,} patients in progress, true gain "
                  f"{table['true_gain_total']:.1f} if all were called):", "", *policy_value_lines(table), ""]
    return parts
