"""The pathway definition: stages, what their results mean, allowed windows and outcome
horizons, read from a declarative TOML file (``data/pathways/default.toml`` unless a
dataset ships its own ``pathway.toml``).

Every rule of the pathway is read from here; nothing else spells out a stage list, a
result that leads on, or a window. An allowed window is the number of days, counted
from the decision point (or from enrollment, for the first stage), within which the
indicated stage must happen. A stage that has not happened when its window closes is a
dropout; one whose window is still open at the as-of date is in progress (censored).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PATHWAY_FILE = Path(__file__).resolve().parent / "pathways" / "default.toml"
PATHWAY_FILE_NAME = "pathway.toml"  # the name a dataset folder's own definition goes by
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PathwayError(ValueError):
    """The pathway definition is unusable; the message names the file, the field and the rule."""


@dataclass(frozen=True)
class Stage:
    name: str
    label: str
    leads_on: tuple[str, ...] = ()  # results that make the next stage indicated
    ends: tuple[str, ...] = ()  # results that end the pathway appropriately (not a dropout)
    done: str = ""  # patients who had it, as a chart label ("Screened")
    missed: str = ""  # patients who needed it and did not get it ("Not screened")
    result_labels: dict[str, str] = field(default_factory=dict)  # result -> label ("Positive screen")

    def result_label(self, result: str) -> str:
        return self.result_labels.get(result, result.replace("_", " ").capitalize())

    @property
    def results(self) -> tuple[str, ...]:
        return self.leads_on + self.ends

    @property
    def has_results(self) -> bool:
        return bool(self.results)


@dataclass(frozen=True)
class Program:
    name: str
    label: str
    windows: dict[str, int]  # stage -> allowed days
    stage_names: dict[str, str] = field(default_factory=dict)  # stage -> what the program calls it
    horizons: dict[str, int] = field(default_factory=dict)  # awaited stage -> outcome horizon, if stated
    measures: tuple[Measure, ...] = ()  # quality measures defined for this program (may be none)


@dataclass(frozen=True)
class Measure:
    """A follow-up quality measure: of patients whose ``index_stage`` had one of
    ``index_results`` (the index event) and whose age at it lies in [age_min, age_max],
    the share who had ``follow_up_stage`` within ``within_days`` days of it.
    Computed by ``data.measures``; the format is in docs/pathway.md."""

    name: str
    label: str
    index_stage: str
    index_results: tuple[str, ...]
    follow_up_stage: str
    within_days: int
    age_min: int | None = None
    age_max: int | None = None
    reference: str = ""  # the published measure it follows, in words


@dataclass(frozen=True)
class Pathway:
    stages: tuple[Stage, ...]
    programs: tuple[Program, ...]
    source: str = "<memory>"
    milestone_stage: str = ""  # the headline wait runs from the first decision point to this stage

    @property
    def milestone(self) -> str:
        return self.milestone_stage or self.last_stage

    # --- stages ---------------------------------------------------------------------
    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    @property
    def first_stage(self) -> str:
        return self.stages[0].name

    @property
    def last_stage(self) -> str:
        return self.stages[-1].name

    @property
    def decision_stages(self) -> tuple[str, ...]:
        """Stages a patient can be awaiting at a decision point: every stage after the first,
        reached through an appointment booked at the event before it."""
        return self.stage_names[1:]

    @property
    def previous_stage(self) -> dict[str, str]:
        names = self.stage_names
        return dict(zip(names[1:], names[:-1]))

    @property
    def next_stage(self) -> dict[str, str]:
        names = self.stage_names
        return dict(zip(names[:-1], names[1:]))

    def stage(self, name: str) -> Stage:
        return self.stages[self.stage_names.index(name)]

    @property
    def results(self) -> tuple[str, ...]:
        """Every result value any stage can carry, in definition order."""
        return tuple(dict.fromkeys(r for s in self.stages for r in s.results))

    @property
    def stage_labels(self) -> dict[str, str]:
        return {s.name: s.label for s in self.stages}

    # --- programs -------------------------------------------------------------------
    @property
    def program_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.programs)

    @property
    def program_labels(self) -> dict[str, str]:
        return {p.name: p.label for p in self.programs}

    def program(self, name: str) -> Program:
        return self.programs[self.program_names.index(name)]

    @property
    def measures(self) -> tuple[tuple[str, Measure], ...]:
        """(program, measure) for every quality measure the definition gives, in file order."""
        return tuple((p.name, m) for p in self.programs for m in p.measures)

    def window_days(self, program: str, stage: str) -> int:
        return self.program(program).windows[stage]

    @property
    def windows(self) -> dict[str, dict[str, int]]:
        return {p.name: dict(p.windows) for p in self.programs}

    def minimum_horizon_days(self, program: str, awaiting_stage: str) -> int:
        """Every remaining stage's window, each in the worst case opening at the end of the previous one."""
        names = self.stage_names
        windows = self.program(program).windows
        return sum(windows[s] for s in names[names.index(awaiting_stage):])

    def outcome_horizon_days(self, program: str, awaiting_stage: str) -> int:
        """Days after a decision point by which its pathway outcome is certainly known.

        The label "drops out before completing the pathway" is only final once every
        remaining stage's window has closed. Labelling earlier would keep only fast
        completers. A definition may state a longer horizon, never a shorter one.
        """
        stated = self.program(program).horizons.get(awaiting_stage)
        return stated if stated is not None else self.minimum_horizon_days(program, awaiting_stage)

    def stage_name(self, program: str, stage: str) -> str:
        """What ``program`` calls ``stage`` in a sentence ("colonoscopy")."""
        if program in self.program_names:
            named = self.program(program).stage_names.get(stage)
            if named:
                return named
        return self.stage_labels.get(stage, stage.replace("_", " ")).lower()


# --- reading a definition -------------------------------------------------------------

def _fail(source: str, where: str, rule: str, message: str) -> PathwayError:
    return PathwayError(f"{source}, {where} [{rule}]: {message}")


def _names(value, source: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and _NAME.match(v) for v in value):
        raise _fail(source, where, "names", "must be a list of lower-case names such as [\"positive\"]")
    return tuple(value)


def _stages(raw, source: str) -> tuple[Stage, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise _fail(source, "stages", "stages", "give at least two [[stages]] in pathway order")
    stages = []
    for i, entry in enumerate(raw):
        where = f"stages[{i}]"
        if not isinstance(entry, dict):
            raise _fail(source, where, "stage", "each [[stages]] entry is a table with name, label, leads_on, ends")
        unknown = set(entry) - {"name", "label", "leads_on", "ends", "done", "missed", "result_labels"}
        if unknown:
            raise _fail(source, where, "unknown_key", f"unknown key(s) {sorted(unknown)}")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _fail(source, f"{where}.name", "name", f"{name!r} is not a lower-case name such as \"diagnosis\"")
        leads_on = _names(entry.get("leads_on"), source, f"{where}.leads_on")
        ends = _names(entry.get("ends"), source, f"{where}.ends")
        if ends and not leads_on:
            raise _fail(source, f"{where}.leads_on", "leads_on",
                        "a stage whose results can end the pathway needs at least one result that leads on")
        if set(leads_on) & set(ends):
            raise _fail(source, where, "results", f"{sorted(set(leads_on) & set(ends))} both leads on and ends")
        label = str(entry.get("label", name.replace("_", " ").capitalize()))
        result_labels = entry.get("result_labels", {})
        if not isinstance(result_labels, dict) or set(result_labels) - set(leads_on + ends):
            raise _fail(source, f"{where}.result_labels", "result_labels",
                        f"keys must be this stage's results {list(leads_on + ends)}")
        stages.append(Stage(name, label, leads_on, ends, str(entry.get("done", label)),
                            str(entry.get("missed", f"No {label.lower()}")),
                            {k: str(v) for k, v in result_labels.items()}))
    names = [s.name for s in stages]
    if len(set(names)) != len(names):
        raise _fail(source, "stages", "duplicate_stage", f"stage names repeat: {names}")
    if stages[-1].has_results:
        raise _fail(source, f"stages[{len(stages) - 1}]", "last_stage",
                    "the last stage completes the pathway and carries no results")
    return tuple(stages)


def _positive_days(value, source: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise _fail(source, where, "days", f"{value!r} must be a whole number of days between 1 and 3650")
    return value


def _programs(raw, stages: tuple[Stage, ...], source: str) -> tuple[Program, ...]:
    if not isinstance(raw, dict) or not raw:
        raise _fail(source, "programs", "programs", "give at least one [programs.NAME] table")
    names = [s.name for s in stages]
    programs = []
    for name, entry in raw.items():
        where = f"programs.{name}"
        if not _NAME.match(name) or not isinstance(entry, dict):
            raise _fail(source, where, "program", "a program is a [programs.lower_case_name] table")
        unknown = set(entry) - {"label", "windows", "stage_names", "outcome_horizon_days", "measures"}
        if unknown:
            raise _fail(source, where, "unknown_key", f"unknown key(s) {sorted(unknown)}")
        windows = entry.get("windows")
        if not isinstance(windows, dict) or set(windows) != set(names):
            found = sorted(windows) if isinstance(windows, dict) else windows
            raise _fail(source, f"{where}.windows", "windows",
                        f"give a window in days for every stage {names} (found {found})")
        windows = {s: _positive_days(windows[s], source, f"{where}.windows.{s}") for s in names}
        stage_names = entry.get("stage_names", {})
        if not isinstance(stage_names, dict) or set(stage_names) - set(names):
            raise _fail(source, f"{where}.stage_names", "stage_names", f"keys must be stages among {names}")
        program = Program(name, str(entry.get("label", name.replace("_", " ").capitalize())), windows,
                          {k: str(v) for k, v in stage_names.items()})
        horizons = entry.get("outcome_horizon_days", {})
        if not isinstance(horizons, dict) or set(horizons) - set(names[1:]):
            raise _fail(source, f"{where}.outcome_horizon_days", "horizons",
                        f"keys must be stages awaited at a decision point, among {names[1:]}")
        checked = {}
        partial = Pathway(stages, (program,), source)
        for stage, days in horizons.items():
            days = _positive_days(days, source, f"{where}.outcome_horizon_days.{stage}")
            minimum = partial.minimum_horizon_days(name, stage)
            if days < minimum:
                raise _fail(source, f"{where}.outcome_horizon_days.{stage}", "horizon",
                            f"{days} days is shorter than the remaining windows ({minimum} days): the outcome "
                            "would be labelled before it is known")
            checked[stage] = days
        programs.append(Program(program.name, program.label, windows, program.stage_names, checked,
                                _measures(entry.get("measures", []), stages, source, f"{where}.measures")))
    return tuple(programs)


_MEASURE_KEYS = {"name", "label", "reference", "index_stage", "index_results", "follow_up_stage", "within_days",
                 "age_min", "age_max"}


def _age(value, source: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
        raise _fail(source, where, "age", f"{value!r} must be a whole number of years between 0 and 120")
    return value


def _measures(raw, stages: tuple[Stage, ...], source: str, where: str) -> tuple[Measure, ...]:
    """A program's [[programs.NAME.measures]] entries (none is fine)."""
    if not isinstance(raw, list):
        raise _fail(source, where, "measures", "give measures as [[programs.NAME.measures]] tables")
    names = [s.name for s in stages]
    measures = []
    for i, entry in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(entry, dict):
            raise _fail(source, at, "measure", "each measure is a table")
        unknown = set(entry) - _MEASURE_KEYS
        if unknown:
            raise _fail(source, at, "unknown_key", f"unknown key(s) {sorted(unknown)}")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _fail(source, f"{at}.name", "name", f"{name!r} is not a lower-case name such as \"follow_up\"")
        index_stage, follow_up_stage = entry.get("index_stage"), entry.get("follow_up_stage")
        if index_stage not in names[:-1]:
            raise _fail(source, f"{at}.index_stage", "index_stage",
                        f"{index_stage!r} must be a stage before the last: {names[:-1]}")
        if follow_up_stage not in names or names.index(follow_up_stage) <= names.index(index_stage):
            raise _fail(source, f"{at}.follow_up_stage", "follow_up_stage",
                        f"{follow_up_stage!r} must be a stage after {index_stage!r}: {names[names.index(index_stage) + 1:]}")
        index_results = _names(entry.get("index_results"), source, f"{at}.index_results")
        stage = stages[names.index(index_stage)]
        if stage.has_results and (not index_results or set(index_results) - set(stage.leads_on)):
            raise _fail(source, f"{at}.index_results", "index_results",
                        f"give results of {index_stage!r} that lead on, among {list(stage.leads_on)}")
        if not stage.has_results and index_results:
            raise _fail(source, f"{at}.index_results", "index_results", f"{index_stage!r} carries no results")
        age_min, age_max = _age(entry.get("age_min"), source, f"{at}.age_min"), _age(entry.get("age_max"), source,
                                                                                     f"{at}.age_max")
        if age_min is not None and age_max is not None and age_min > age_max:
            raise _fail(source, f"{at}.age_min", "age", f"age_min {age_min} is above age_max {age_max}")
        measures.append(Measure(name, str(entry.get("label", name.replace("_", " ").capitalize())), index_stage,
                                index_results, follow_up_stage,
                                _positive_days(entry.get("within_days"), source, f"{at}.within_days"),
                                age_min, age_max, str(entry.get("reference", ""))))
    if len({m.name for m in measures}) != len(measures):
        raise _fail(source, where, "duplicate_measure", "measure names repeat")
    return tuple(measures)


def parse_pathway(text: str, source: str = "<memory>") -> Pathway:
    """A pathway from TOML text; ``PathwayError`` names the field and the rule broken."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, "file", "toml", f"not valid TOML: {exc}") from None
    unknown = set(raw) - {"stages", "programs", "milestone"}
    if unknown:
        raise _fail(source, "file", "unknown_key", f"unknown top-level key(s) {sorted(unknown)}; "
                                                   "expected milestone, [[stages]] and [programs.NAME]")
    stages = _stages(raw.get("stages"), source)
    milestone = raw.get("milestone", "")
    if milestone and milestone not in [s.name for s in stages[1:]]:
        raise _fail(source, "milestone", "milestone",
                    f"{milestone!r} must be one of the stages after the first: {[s.name for s in stages[1:]]}")
    return Pathway(stages, _programs(raw.get("programs"), stages, source), source, milestone)


def load_pathway(path) -> Pathway:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(str(path), "file", "encoding", "the file is not UTF-8 text") from None
    return parse_pathway(text, str(path))


def pathway_for_folder(folder) -> Pathway:
    """The dataset folder's own ``pathway.toml`` if it has one, else the default pathway."""
    own = Path(folder) / PATHWAY_FILE_NAME
    return load_pathway(own) if own.is_file() else DEFAULT_PATHWAY


DEFAULT_PATHWAY = load_pathway(DEFAULT_PATHWAY_FILE)

# The default pathway's rules under the names the synthetic world and the pages use.
# They are views of the definition above, not copies.
STAGES = DEFAULT_PATHWAY.stage_names
DECISION_STAGES = DEFAULT_PATHWAY.decision_stages
PREVIOUS_STAGE = DEFAULT_PATHWAY.previous_stage
ALLOWED_WINDOW_DAYS = DEFAULT_PATHWAY.windows


def outcome_horizon_days(program: str, awaiting_stage: str, pathway: Pathway = DEFAULT_PATHWAY) -> int:
    return pathway.outcome_horizon_days(program, awaiting_stage)


def stage_name(program: str, stage: str, pathway: Pathway = DEFAULT_PATHWAY) -> str:
    return pathway.stage_name(program, stage)
