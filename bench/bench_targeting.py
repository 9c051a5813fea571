"""Benchmark whom-to-call rankings: policy value on the ground truth over several seeds.

    .venv/bin/python bench/bench_targeting.py [--patients 50000] [--seeds 7 8 9] [--capacity 25 100]

For each seed: generate the data (with its pilot outreach log and true call gains), train
the risk and benefit models as the app does, and compute the true extra completions from
calling the top k by expected gain, risk, deadline, at random and by the true gain (oracle);
also the outreach lever of Scenarios (top 20 %) against its re-simulated truth.
Writes bench/results/targeting-<patients>.json and prints a Markdown table for bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.io import read_dataset, write_dataset  # noqa: E402 (after the sys.path line)
from data.synthetic.dataset import DEFAULT_AS_OF, generate_tables  # noqa: E402
from ml.risk.models import TrainingConfig  # noqa: E402
from ml.scenarios.levers import ScenarioLevers  # noqa: E402
from ml.scenarios.engine import ScenarioEngine  # noqa: E402
from ml.targeting.train import policy_table  # noqa: E402
from ml.risk.training import train_models  # noqa: E402

RANKINGS = ("benefit", "risk", "deadline", "random", "oracle")


def run_seed(patients: int, seed: int, capacities) -> dict:
    tables, manifest = generate_tables(patients, seed, DEFAULT_AS_OF)
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(tables, manifest, Path(tmp) / "data")
        dataset = read_dataset(Path(tmp) / "data")
        started = time.perf_counter()
        bundle = train_models(dataset, TrainingConfig(), log=lambda message: None)
        seconds = time.perf_counter() - started
        table = policy_table(bundle.scores, dataset, capacities)
        engine = ScenarioEngine(dataset, bundle)
        scenario = engine.project(ScenarioLevers(outreach_top_pct=0.2, outreach_effectiveness=0.3), intervals=False)
    benefit = bundle.report["benefit"]
    return {"seed": seed, "train_seconds": round(seconds, 1), "benefit_fit_seconds": benefit["fit_seconds"],
            "called_rows": benefit["called_rows"], "in_progress": table["patients"],
            "rankings": {name: {"true_extra_completions": table["rankings"][name]["true_extra_completions"],
                                "ci": table["rankings"][name]["true_extra_completions_ci"],
                                "share_of_oracle": table["rankings"][name]["share_of_oracle"],
                                "normalised_auuc": table["rankings"][name]["normalised_auuc"]} for name in RANKINGS},
            "scenario_outreach": {"contacted": scenario["contacted"],
                                  "model_extra": scenario["extra_completions"],
                                  "true_extra": scenario["true_extra_completions"],
                                  "model_over_truth": scenario["extra_completions"] / scenario["true_extra_completions"]}}


def markdown(results: list[dict], capacities) -> str:
    lines = ["| seed | in progress | " + " | ".join(f"k = {k}: " + ", ".join(RANKINGS) for k in capacities)
             + " | benefit ÷ oracle | Scenarios outreach model ÷ truth |",
             "|---|---|" + "---|" * len(capacities) + "---|---|"]
    for r in results:
        cells = [" / ".join(f"{r['rankings'][n]['true_extra_completions'][str(k)]:.1f}" for n in RANKINGS)
                 for k in capacities]
        shares = " / ".join(f"{r['rankings']['benefit']['share_of_oracle'][str(k)]:.0%}" for k in capacities)
        lines.append(f"| {r['seed']} | {r['in_progress']} | " + " | ".join(cells) + f" | {shares} | "
                     f"{r['scenario_outreach']['model_over_truth']:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--capacity", type=int, nargs="+", default=[25, 100])
    args = parser.parse_args()
    results = []
    for seed in args.seeds:
        results.append(run_seed(args.patients, seed, tuple(args.capacity)))
        print(json.dumps(results[-1]["rankings"]["benefit"]["share_of_oracle"]), flush=True)
    out = ROOT / "bench" / "results" / f"targeting-{args.patients}.json"
    out.write_text(json.dumps({"date": str(date.today()), "machine": f"{platform.machine()}, {platform.system()}",
                               "patients": args.patients, "results": results}, indent=2))
    print(markdown(results, args.capacity))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
