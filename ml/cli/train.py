"""Command line: train (or load cached) dropout-risk models and print their report.

    python -m ml.cli.train [--data DIR] [--out DIR]

Writes bundle.joblib, meta.json, report.json, report.md and model_card.md into OUT/<model key>/.
Exits 1 with the reason (a data.readiness rule and its threshold) when the data cannot
support a model.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ml.cli.common import add_data_arguments, load_dataset_and_models
from ml.registry import MODEL_CARD_FILE, artifact_dir
from ml.risk.report import decision_day_markdown, metrics_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.cli.train", description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--out", dest="models", type=Path,
                        help="model folder (alias of --models)")
    args = parser.parse_args(argv)
    _, bundle, settings = load_dataset_and_models(args)
    report = bundle.report
    print()
    print(f"{report['n_decision_points']:,} labelled decision points, {report['n_patients']:,} patients, "
          f"as of {report['as_of']}; fitting both models with CV took {report['fit_seconds']:.1f} s")
    print("\n".join(decision_day_markdown(report)[2:6]))
    print("pooled over landmark rows:")
    print(metrics_table(report))
    for item in report.get("features", {}).get("dropped", []):
        print(f"left out {item['feature']}: {item['reason']}")
    folder = artifact_dir(settings, bundle)
    print(f"\nreport: {folder / 'report.json'} and {folder / 'report.md'}; model card: {folder / MODEL_CARD_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
