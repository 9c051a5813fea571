"""What-if levers for the scenario engine, validated at the boundary, and the named presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from data.input_errors import InvalidInput, kind, number_or_none, text_or_none
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


# ---------------------------------------------------------------- from a client
# The levers also arrive from the browser: as slider values, as a preset's name and inside
# the stored state of the projection shown. Each is checked here, so a forged value is an
# InvalidInput (answered 400) rather than an exception deep in the engine.
_NUMBER_FIELDS = ("screening_uptake_pp", "outreach_top_pct", "outreach_effectiveness", "cost_per_contact")
_STAGE_FIELDS = ("attendance_pp", "wait_cut_pct")
MAX_COST_PER_CONTACT = 1_000_000.0


def lever_number(value, field: str) -> float:
    """A control's value as a float (None or empty: 0); InvalidInput for anything else."""
    value = number_or_none(value, field)
    return 0.0 if value is None else float(value)


def preset_levers(name) -> ScenarioLevers:
    """The named preset's levers; InvalidInput for a name that is no preset."""
    text_or_none(name, "scenario preset", 80)
    if name not in PRESETS:
        raise InvalidInput("scenario preset", f"unknown preset (use one of {', '.join(PRESETS)})")
    return PRESETS[name]


def levers_from_dict(values) -> ScenarioLevers:
    """ScenarioLevers from ``to_dict()`` output sent back by a client; unknown keys, wrong
    types and out-of-range values raise InvalidInput naming the lever."""
    if not isinstance(values, dict):
        raise InvalidInput("scenario levers", f"expected an object, got {kind(values)}")
    known = {f for f in ScenarioLevers.__dataclass_fields__}
    unknown = sorted(str(k)[:40] for k in values if k not in known)
    if unknown:
        raise InvalidInput("scenario levers", f"unknown lever {unknown[0]!r} (known: {', '.join(sorted(known))})")
    checked = {}
    for name in _NUMBER_FIELDS:
        if name in values:
            checked[name] = lever_number(values[name], f"scenario levers {name}")
    if checked.get("cost_per_contact", 0.0) > MAX_COST_PER_CONTACT:
        raise InvalidInput("scenario levers cost_per_contact", f"above {MAX_COST_PER_CONTACT:,.0f}")
    for name in _STAGE_FIELDS:
        stages = values.get(name, {})
        if not isinstance(stages, dict):
            raise InvalidInput(f"scenario levers {name}", f"expected an object of stage: fraction, got {kind(stages)}")
        checked[name] = {str(stage)[:40]: lever_number(v, f"scenario levers {name}") for stage, v in stages.items()}
    top_n = values.get("outreach_top_n")
    if top_n is not None:
        if isinstance(top_n, bool) or not isinstance(top_n, int):
            raise InvalidInput("scenario levers outreach_top_n", f"expected a whole number, got {kind(top_n)}")
        checked["outreach_top_n"] = top_n
    try:
        return ScenarioLevers(**checked)
    except ValueError as error:
        raise InvalidInput("scenario levers", str(error)) from None
