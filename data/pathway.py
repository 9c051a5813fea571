"""Pathway rules shared by the generator, the journey derivation and the models.

An allowed window is the number of days, counted from the decision point (or from
enrollment, for screening), within which the indicated stage must happen.  A stage
that has not happened when its window closes is a dropout; one whose window is
still open at the as-of date is in progress (censored).
"""
from __future__ import annotations

from data.schema import PROGRAMS, STAGES

# Days allowed for each stage, counted from the event that indicated it.
ALLOWED_WINDOW_DAYS = {
    "colorectal": {"screening": 180, "diagnosis": 180, "treatment": 90, "follow_up": 180},
    "diabetes": {"screening": 180, "diagnosis": 90, "treatment": 60, "follow_up": 120},
    "depression": {"screening": 180, "diagnosis": 60, "treatment": 60, "follow_up": 90},
}

DECISION_STAGES = ("diagnosis", "treatment", "follow_up")
"""Stages a patient can be awaiting at a decision point (the stage *after* the decision event)."""

PREVIOUS_STAGE = {"diagnosis": "screening", "treatment": "diagnosis", "follow_up": "treatment"}


def outcome_horizon_days(program: str, awaiting_stage: str) -> int:
    """Days after a decision point by which its pathway outcome is certainly known.

    The label "drops out before completing the pathway" is only final once every
    remaining stage's window has closed, each in the worst case opening at the end
    of the previous one.  Labelling earlier would keep only fast completers.
    """
    windows = ALLOWED_WINDOW_DAYS[program]
    start = STAGES.index(awaiting_stage)
    return sum(windows[s] for s in STAGES[start:])


def _check() -> None:
    for program in PROGRAMS:
        assert set(ALLOWED_WINDOW_DAYS[program]) == set(STAGES), program


_check()


# What each stage is called in each program, for sentences a coordinator reads.
STAGE_NAMES = {
    "colorectal": {"screening": "stool test", "diagnosis": "colonoscopy", "treatment": "treatment",
                   "follow_up": "surveillance follow-up"},
    "diabetes": {"screening": "A1c screen", "diagnosis": "confirmatory A1c test", "treatment": "treatment start",
                 "follow_up": "3-month follow-up"},
    "depression": {"screening": "PHQ screen", "diagnosis": "diagnostic assessment", "treatment": "treatment start",
                   "follow_up": "follow-up visit"},
}


def stage_name(program: str, stage: str) -> str:
    return STAGE_NAMES.get(program, {}).get(stage, stage.replace("_", "-"))
