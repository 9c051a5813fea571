"""Command line: whom to call — the policy value of ranking by expected gain, risk, deadline, at random, and the oracle.

    python -m ml.targeting [--data DIR] [--models DIR] --capacity K [--capacity K2] --out FILE.json

Prints the table (true extra completions from calling the top K, on the ground truth of
synthetic data) and writes JSON with rankings.<name>.true_extra_completions (per K, with
95 % intervals).  Without an outreach log there is no benefit model: it says why and exits 1.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from data.io import atomic_write_text
from ml.cli.common import add_data_arguments, load_dataset_and_models
from ml.targeting.report import policy_value_lines
from ml.targeting.train import policy_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.targeting", description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--capacity", type=int, action="append", required=True, metavar="K",
                        help="calls a coordinator can make (repeat for several)")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    args = parser.parse_args(argv)
    if any(k <= 0 for k in args.capacity):
        sys.exit("error: --capacity must be a positive number of calls")
    dataset, bundle, _ = load_dataset_and_models(args)
    section = bundle.report.get("benefit") or {}
    if not section.get("available"):
        sys.exit(f"error: no benefit model: {section.get('reason', 'not trained')}")
    table = policy_table(bundle.scores, dataset, tuple(args.capacity))
    if table is None:
        sys.exit("error: this dataset has no ground truth (true_call_gain), so no policy value can be computed; "
                 "the Worklist still ranks by expected gain")
    capacities = [str(k) for k in args.capacity]
    result = {"as_of": bundle.report["as_of"], "capacities": args.capacity, "patients": table["patients"],
              "learner": section["learner"], "rankings": table["rankings"],
              "benefit_share_of_oracle": {k: table["rankings"]["benefit"]["share_of_oracle"][k] for k in capacities},
              "qini_coefficient_on_log": section["qini_coefficient"]}
    print(f"{table['patients']:,} patients in progress (as of {result['as_of']}); true extra completions from "
          f"calling the top K:")
    print("\n".join(policy_value_lines(table)))
    atomic_write_text(args.out, json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
