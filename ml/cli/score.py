"""Command line: score every in-progress patient at a decision point, highest risk first.

    python -m ml.cli.score [--data DIR] --out FILE.csv

Also writes FILE.json with a summary (counts per tier, per stage, the model used).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from data.csv_safety import escape_formulas
from data.io import atomic_write_text
from ml.cli.common import add_data_arguments, load_dataset_and_models
from ml.risk.models import MODEL_LABELS

EXPORT_COLUMNS = ("rank", "patient_id", "program", "awaiting_stage", "stage_name", "decision_date", "booked_date",
                  "window_closes", "waited_days", "days_until_appointment", "risk", "risk_tier", "expected_gain")


def worklist_frame(scores: pd.DataFrame) -> pd.DataFrame:
    # expected_gain: the benefit model's gain in P(completing) from a call today; empty without an outreach log.
    out = scores.reindex(columns=list(EXPORT_COLUMNS)).rename(columns={"waited_days": "days_waiting"})
    out["risk"] = out["risk"].round(4)
    out["expected_gain"] = out["expected_gain"].astype(float).round(4)
    for k in range(3):
        out[f"driver_{k + 1}"] = [ds[k]["text"] if len(ds) > k else "" for ds in scores["drivers"]]
    for column in ("decision_date", "booked_date", "window_closes"):
        out[column] = pd.to_datetime(out[column]).dt.date.astype(str)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.cli.score", description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    args = parser.parse_args(argv)
    _, bundle, _ = load_dataset_and_models(args)
    table = worklist_frame(bundle.scores)
    # Site names and drivers come from the user's data: escaped before a spreadsheet opens them.
    atomic_write_text(args.out, escape_formulas(table).to_csv(index=False))
    summary = {"patients_scored": int(len(table)), "model": bundle.primary, "as_of": bundle.report["as_of"],
               "by_tier": table["risk_tier"].value_counts().to_dict(),
               "by_stage": table["awaiting_stage"].value_counts().to_dict(),
               "expected_dropouts": round(float(table["risk"].sum()), 1)}
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(summary, indent=2))
    print(f"scored {len(table):,} in-progress patients with {MODEL_LABELS[bundle.primary]} "
          f"(as of {summary['as_of']}): " + ", ".join(f"{k} {v}" for k, v in summary["by_tier"].items()))
    print(table.head(10)[["rank", "patient_id", "stage_name", "days_waiting", "risk", "driver_1"]].to_string(index=False))
    print(f"wrote {args.out} and {args.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
