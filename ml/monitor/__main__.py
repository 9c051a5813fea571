"""Command line: monitor the dropout-risk model on today's data.

    python -m ml.monitor [--data DIR] [--models DIR] [--json FILE]

Prints a summary (drift per input, estimated performance, monthly history) and writes the
full result as JSON (to FILE, or to standard output with --json -). Exit code: 0 no alert,
3 alert (an input shifted: PSI >= 0.25), 1 the data or models could not be loaded.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.cli.common import add_data_arguments, load_dataset_and_models
from ml.monitor import monitor

ALERT_EXIT_CODE = 3


def _summary(result: dict) -> str:
    lines = [f"monitoring as of {result['as_of']}: {result['in_progress_patients']:,} in-progress patients, "
             f"model {result['model_key']}"]
    lines.append("ALERT: " + "; ".join(result["reasons"]) if result["alert"] else "no alert")
    if result["watch"]:
        lines.append("watch (PSI 0.10–0.25): " + ", ".join(result["watch"]))
    lines.append("largest input shifts: " + ", ".join(f"{d['feature']} {d['psi']:.3f}" for d in result["drift"][:5]))
    estimated = result["estimated"]
    if estimated["roc_auc"] is not None:
        lines.append(f"estimated before labels: dropout {estimated['dropout_rate']:.1%}, ROC-AUC "
                     f"{estimated['roc_auc']:.3f} (cross-validated {estimated['cross_validated_roc_auc']:.3f})")
    check = result.get("estimate_check") or {}
    if check.get("auc_mean_abs_error") is not None:
        lines.append(f"on the labelled history the label-free AUC estimate was off by {check['auc_mean_abs_error']:.3f} "
                     f"on average over {check['months']} months")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.monitor", description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--json", dest="json_out", help="write the result as JSON to this file ('-': stdout)")
    args = parser.parse_args(argv)
    quiet = args.json_out == "-"
    dataset, bundle, _ = load_dataset_and_models(args, log=(lambda m: print(m, file=sys.stderr)) if quiet else print)
    try:
        result = monitor(dataset, bundle)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    text = json.dumps(result, indent=2, default=str)
    if quiet:
        print(text)
    else:
        print(_summary(result))
        if args.json_out:
            target = Path(args.json_out)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(text)
            tmp.replace(target)
            print(f"JSON: {target}")
    return ALERT_EXIT_CODE if result["alert"] else 0


if __name__ == "__main__":
    sys.exit(main())
