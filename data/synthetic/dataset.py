"""The default synthetic dataset: simulated patients and events plus their ground truth.

Kept apart from the simulator so that the generator and the ground truth do not
import each other: both are used here, neither uses this module.
"""
from __future__ import annotations

import pandas as pd

from data.synthetic.generator import (DEFAULT_AS_OF, GENERATOR_VERSION, allowed_cost_to_date, draw_population,
                                      events_table, outreach_table, simulate)
from data.synthetic.ground_truth import ground_truth_table
from data.synthetic.params import GeneratorParams

__all__ = ["DEFAULT_AS_OF", "generate_tables"]


def generate_tables(n_patients: int, seed: int, as_of=DEFAULT_AS_OF,
                    params: GeneratorParams | None = None) -> tuple[dict, dict]:
    """Generate patients, events, the pilot's outreach log and ground truth; return (tables, manifest)."""
    params = params or GeneratorParams()
    population, draws = draw_population(n_patients, seed, as_of, params)
    sim = simulate(population, draws, params)
    events = events_table(sim, params, draws)
    patients = population.patients.copy()
    patients["allowed_cost_to_date"] = allowed_cost_to_date(patients, events)
    tables = {"patients": patients, "events": events, "outreach": outreach_table(sim, params, draws),
              "ground_truth": ground_truth_table(sim, params)}
    manifest = {
        "generator": "carepath.synthetic", "generator_version": GENERATOR_VERSION, "seed": seed,
        "n_patients": n_patients, "as_of": str(pd.Timestamp(as_of).date()),
        "params": params.to_dict(), "rows": {k: int(len(v)) for k, v in tables.items()},
    }
    return tables, manifest
