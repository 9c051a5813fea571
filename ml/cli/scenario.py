"""Command line: project a what-if scenario and compare it with the ground truth.

    python -m ml.cli.scenario --preset pathway_optimisation [--out FILE.json]
    python -m ml.cli.scenario --wait-cut diagnosis=0.3 --outreach-top-pct 0.2 --effectiveness 0.3 --cost-per-contact 45
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data.io import atomic_write_text
from data.pathway import DECISION_STAGES
from ml.cli.common import add_data_arguments, load_dataset_and_models
from ml.scenarios.levers import PRESETS, ScenarioLevers
from ml.scenarios.engine import ScenarioEngine

STAGE_OPTIONS = DECISION_STAGES


def _stage_values(items: list[str] | None, flag: str) -> dict:
    values = {}
    for item in items or []:
        stage, _, number = item.partition("=")
        if stage not in STAGE_OPTIONS or not number:
            raise SystemExit(f"error: {flag} takes STAGE=VALUE with STAGE one of {', '.join(STAGE_OPTIONS)}; "
                             f"got {item!r}")
        try:
            values[stage] = float(number)
        except ValueError:
            raise SystemExit(f"error: {flag} {item!r}: {number!r} is not a number") from None
    return values


def levers_from_args(args) -> ScenarioLevers:
    base = PRESETS[args.preset].to_dict() if args.preset else {}
    overrides = {
        "screening_uptake_pp": args.screening_uptake,
        "attendance_pp": _stage_values(args.attendance, "--attendance") or None,
        "wait_cut_pct": _stage_values(args.wait_cut, "--wait-cut") or None,
        "outreach_top_pct": args.outreach_top_pct, "outreach_top_n": args.outreach_top_n,
        "outreach_effectiveness": args.effectiveness, "cost_per_contact": args.cost_per_contact,
    }
    base.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ScenarioLevers(**base)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def _pct(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def summary_text(result: dict) -> str:
    if not result.get("patients"):
        return result.get("message", "no patients")
    lines = [f"{result['patients']:,} patients with a positive screen ({result['in_progress']:,} in progress), "
             f"{result['contacted']:,} contacted",
             f"adherence (not lost to follow-up) baseline {_pct(result['baseline_completion_rate'])}"]
    for name, m in result["methods"].items():
        ci = m.get("extra_completions_ci")
        ci_text = f" (95% {ci[0]:.0f}–{ci[1]:.0f})" if ci else ""
        cost = m["cost_per_extra_completion"]
        lines.append(f"  {name:<10} projected {_pct(m['projected_completion_rate'])}, relative "
                     f"{_pct(m['relative_improvement'])}, extra completions {m['extra_completions']:.0f}{ci_text}"
                     + (f", ${cost:,.0f} per extra completion" if cost else ""))
    for row in result.get("attribution", []):
        cost = (f"${row['cost']:,.0f}, ${row['cost_per_extra_completion']:,.0f} per extra"
                if row["cost"] is not None and row["cost_per_extra_completion"] is not None else row["cost_note"])
        lines.append(f"  from {row['lever']}: {row['extra_completions']:+.0f} ({cost})")
    if "true_completion_rate" in result:
        lines.append(f"  {'truth':<10} {_pct(result['true_baseline_completion_rate'])} → "
                     f"{_pct(result['true_completion_rate'])}, relative {_pct(result['true_relative_improvement'])}, "
                     f"extra completions {result['true_extra_completions']:.0f} (re-simulation)")
    if result["arithmetic_only_levers"]:
        lines.append("  note: " + ", ".join(result["arithmetic_only_levers"]) + " projected by arithmetic only")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.cli.scenario", description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--preset", choices=sorted(PRESETS))
    parser.add_argument("--screening-uptake", type=float, help="+probability among invited, e.g. 0.05")
    parser.add_argument("--attendance", action="append", metavar="STAGE=PP", help="+probability of attending the first booked appointment, e.g. diagnosis=0.05")
    parser.add_argument("--wait-cut", action="append", metavar="STAGE=FRACTION", help="e.g. diagnosis=0.3")
    parser.add_argument("--outreach-top-pct", type=float)
    parser.add_argument("--outreach-top-n", type=int)
    parser.add_argument("--effectiveness", type=float)
    parser.add_argument("--cost-per-contact", type=float)
    parser.add_argument("--out", type=Path, help="JSON file to write (default: print JSON only)")
    args = parser.parse_args(argv)
    levers = levers_from_args(args)
    dataset, bundle, _ = load_dataset_and_models(args)
    result = ScenarioEngine(dataset, bundle).project(levers)
    result["preset"] = args.preset
    print(summary_text(result))
    text = json.dumps(result, indent=2, default=str)
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
