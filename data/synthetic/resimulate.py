"""What-if re-simulation: the same patients and random draws under changed parameters.

Because every draw comes from its own stream and outcomes are a deterministic
function of (parameters, draws), a lever changes only what it touches: a patient
who attended in the baseline at a stage whose wait was not cut still attends.
This gives the *true* effect of a scenario, the yardstick for the scenario engine.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data.synthetic.generator import Simulation, draw_population, outcome_by_patient, simulate
from data.synthetic.params import GeneratorParams, Levers


@dataclass
class PathwayOutcomes:
    """Full-future outcome counts for a set of patients."""
    patients: int
    completed: int
    exited: int
    dropped_out: int

    @property
    def completion_rate(self) -> float:
        """Completed / (completed + dropped out): adherence among patients who needed care."""
        needing = self.completed + self.dropped_out
        return self.completed / needing if needing else float("nan")


class Resimulator:
    """Holds one population and its draws; simulates it under any levers."""

    def __init__(self, n_patients: int, seed: int, as_of, params: GeneratorParams | None = None):
        self.params = params or GeneratorParams()
        self.population, self.draws = draw_population(n_patients, seed, as_of, self.params)
        self._baseline: Simulation | None = None

    @classmethod
    def from_manifest(cls, manifest: dict) -> "Resimulator":
        """Rebuild the generator run that wrote a dataset (synthetic data only)."""
        if manifest.get("generator") != "carepath.synthetic":
            raise ValueError("this dataset was not made by the CarePath generator: no ground truth to re-simulate")
        params = GeneratorParams(**manifest["params"])
        return cls(int(manifest["n_patients"]), int(manifest["seed"]), manifest["as_of"], params)

    @property
    def baseline(self) -> Simulation:
        if self._baseline is None:
            self._baseline = simulate(self.population, self.draws, self.params)
        return self._baseline

    def run(self, levers: Levers | None = None) -> Simulation:
        levers = levers or Levers()
        if levers.is_baseline():
            return self.baseline
        return simulate(self.population, self.draws, self.params, levers)

    def outcomes(self, sim: Simulation, patient_mask: np.ndarray | None = None) -> PathwayOutcomes:
        outcome = outcome_by_patient(sim)
        if patient_mask is not None:
            outcome = outcome[patient_mask]
        return PathwayOutcomes(
            patients=int(len(outcome)),
            completed=int((outcome == "completed").sum()),
            exited=int((outcome == "exited").sum()),
            dropped_out=int((outcome == "dropped_out").sum()),
        )
