"""What-if levers for the scenario engine, validated at the boundary, and the named presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from data.pathway import DECISION_STAGES


@dataclass(frozen=True)
class ScenarioLevers:
    screening_uptake_pp: float = 0.0                  # +probability among invited (0.05 = +5 pp)
    attendance_pp: dict = field(default_factory=dict)  # booked stage -> +probability of attending the first booking
    wait_cut_pct: dict = field(default_factory=dict)   # booked stage -> fraction of the wait removed
    outreach_top_pct: float = 0.0                      # share of in-progress patients contacted, by risk
    outreach_top_n: int | None = None                  # or a fixed number (coordinator capacity)
    outreach_effectiveness: float = 0.0                # relative cut in a contacted patient's dropout
    cost_per_contact: float = 0.0

    def __post_init__(self):
        problems = []
        if not -1 <= self.screening_uptake_pp <= 1:
            problems.append("screening_uptake_pp must be within [-1, 1]")
        for name, values in (("attendance_pp", self.attendance_pp), ("wait_cut_pct", self.wait_cut_pct)):
            for stage, value in values.items():
                if stage not in DECISION_STAGES:
                    problems.append(f"{name}: unknown stage {stage!r} (use {', '.join(DECISION_STAGES)})")
                elif not (0 <= value < 1 if name == "wait_cut_pct" else 0 <= value <= 1):
                    allowed = "[0, 1)" if name == "wait_cut_pct" else "[0, 1]"
                    problems.append(f"{name}[{stage}] = {value} is out of range (levers improve the pathway: "
                                    f"use a fraction in {allowed})")
        if not 0 <= self.outreach_top_pct <= 1 or not 0 <= self.outreach_effectiveness <= 1:
            problems.append("outreach_top_pct and outreach_effectiveness must be within [0, 1]")
        if self.cost_per_contact < 0 or (self.outreach_top_n is not None and self.outreach_top_n < 0):
            problems.append("cost_per_contact and outreach_top_n must not be negative")
        if problems:
            raise ValueError("; ".join(problems))

    def to_dict(self) -> dict:
        return asdict(self)


ALL_STAGES_30 = {stage: 0.3 for stage in DECISION_STAGES}
PRESETS = {
    "pathway_optimisation": ScenarioLevers(wait_cut_pct=ALL_STAGES_30, outreach_top_pct=0.2,
                                           outreach_effectiveness=0.3, cost_per_contact=45.0),
    "shorter_waits": ScenarioLevers(wait_cut_pct=ALL_STAGES_30),
    "navigator_outreach": ScenarioLevers(outreach_top_pct=0.2, outreach_effectiveness=0.3, cost_per_contact=45.0),
    "screening_drive": ScenarioLevers(screening_uptake_pp=0.10),
}
PRESET_LABELS = {
    "pathway_optimisation": "Pathway optimisation: waits −30 %, outreach to top 20 % (30 % effective)",
    "shorter_waits": "Shorter waits: −30 % at every booked stage",
    "navigator_outreach": "Navigator outreach: top 20 % by risk, 30 % effective",
    "screening_drive": "Screening drive: +10 pp uptake",
}
