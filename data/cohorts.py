"""Cohort metrics: KPIs, the stage funnel, pathway flows, stage waits, the bottleneck
and breakdowns, each defined once here for the app's pages and the scenario engine.

Pure pandas over a per-patient journeys frame (the columns of
``data.journeys.derive_journeys``, optionally joined with patient attributes such as
site and payer), so every number is unit-tested on a hand-made frame.

Definitions used everywhere:

- **Screening uptake** = screened ÷ (screened + not screened whose screening window
  has closed). Patients still inside their screening window are left out.
- **Completion rate** = completed ÷ (completed + dropped out at diagnosis, treatment
  or follow-up): of patients with a positive screen whose pathway has resolved, the
  share who completed it. Appropriate exits (negative screen, ruled out) and patients
  in progress are excluded, and so are patients never screened (they count against
  screening uptake instead).
- **Dropout rate** (loss to follow-up) = dropped out at diagnosis, treatment or
  follow-up ÷ the same denominator, so completion + dropout = 100%.
- **Bottleneck** = the booked stage (diagnosis, treatment, follow-up) with the highest
  dropout share among patients for whom it was indicated and resolved (they got it,
  or its window closed without it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.journeys import MILESTONE_DAYS, STATUS_COMPLETED, STATUS_DROPPED_OUT, STATUS_EXITED, STATUS_IN_PROGRESS
from data.journeys import duration_columns
from data.pathway import DEFAULT_PATHWAY, Pathway

COMPLETED, EXITED, DROPPED_OUT, IN_PROGRESS = (
    STATUS_COMPLETED, STATUS_EXITED, STATUS_DROPPED_OUT, STATUS_IN_PROGRESS)


# --- KPIs ---------------------------------------------------------------------------

def _outcome_flags(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """Per patient, the booleans every rate is built from (one definition for all).
    "screened" means the pathway's first stage happened, whatever it is called."""
    return outcome_flags_from(frame["status"], frame["status_stage"], frame[f"{pathway.first_stage}_date"].notna(),
                              pathway)


def outcome_flags_from(status: pd.Series, stage: pd.Series, screened: pd.Series,
                       pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """The OUTCOME_FLAGS from a journey's status, status stage and whether its first stage
    happened: per patient, or per row of counts grouped by those (data.warehouse)."""
    first = pathway.first_stage
    return pd.DataFrame({
        "screened": screened,
        "not_screened": (status == DROPPED_OUT) & (stage == first),  # first stage's window closed
        "completed": status == COMPLETED,
        "dropped_out": (status == DROPPED_OUT) & stage.isin(pathway.decision_stages),
        "exited": status == EXITED,
        "in_progress": status == IN_PROGRESS,
    }, index=status.index)


def _ratio(numerator, denominator):
    """numerator / denominator, NaN where the denominator is 0 (scalars or Series)."""
    if np.ndim(denominator) == 0:
        return numerator / denominator if denominator else math.nan
    return (numerator / denominator.where(denominator > 0)).astype("float64")


def _none_if_nan(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


@dataclass(frozen=True)
class CohortKpis:
    patients: int  # everyone in the cohort: the funnel's first bar
    screened: int
    not_screened: int  # never screened and the screening window has closed
    screening_uptake: float | None  # screened / (screened + not_screened)
    completed: int
    dropped_out: int  # dropped out at diagnosis, treatment or follow-up
    exited: int  # appropriately exited (negative screen or ruled out)
    in_progress: int  # an indicated stage's window is still open (any stage)
    completion_rate: float | None  # completed / (completed + dropped_out)
    dropout_rate: float | None  # dropped_out / (completed + dropped_out)
    median_days_to_milestone: float | None  # first decision point -> milestone stage (journeys.MILESTONE_DAYS)

    @property
    def resolved_after_positive_screen(self) -> int:
        """The denominator of the completion and dropout rates."""
        return self.completed + self.dropped_out


def cohort_kpis(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> CohortKpis:
    """Headline numbers for a cohort, with the definitions in this module's docstring.

    Rates are None when their denominator is empty (e.g. nobody has resolved yet).
    """
    flags = _outcome_flags(frame, pathway).sum()
    return kpis_from_counts(len(frame), {flag: int(flags[flag]) for flag in OUTCOME_FLAGS},
                            frame[MILESTONE_DAYS].median())


OUTCOME_FLAGS = ("screened", "not_screened", "completed", "dropped_out", "exited", "in_progress")


def kpis_from_counts(patients: int, flags: dict, median_days_to_milestone) -> CohortKpis:
    """The KPIs from the cohort's size, its OUTCOME_FLAGS counts and the median wait: the
    rates are computed here, once, whichever engine counted (data.warehouse)."""
    screened, not_screened = int(flags["screened"]), int(flags["not_screened"])
    completed, dropped_out = int(flags["completed"]), int(flags["dropped_out"])
    resolved = completed + dropped_out
    return CohortKpis(
        patients=int(patients),
        screened=screened,
        not_screened=not_screened,
        screening_uptake=_none_if_nan(_ratio(screened, screened + not_screened)),
        completed=completed,
        dropped_out=dropped_out,
        exited=int(flags["exited"]),
        in_progress=int(flags["in_progress"]),
        completion_rate=_none_if_nan(_ratio(completed, resolved)),
        dropout_rate=_none_if_nan(_ratio(dropped_out, resolved)),
        median_days_to_milestone=_none_if_nan(median_days_to_milestone),
    )


# --- How the rates relate -----------------------------------------------------------

@dataclass(frozen=True)
class CompletionReconciliation:
    """The counts behind every rate that speaks of screening or completion, so a reader can
    see how the Overview's completion rate, the funnel's step conversions and the Scenarios'
    adherence relate. positive = completed + exited_after_positive + dropped_out +
    in_progress_after_positive."""

    enrolled: int
    screened: int
    not_screened: int  # window closed without a screen
    awaiting_screening: int  # window still open
    positive: int  # the first stage's result led on (e.g. a positive screen)
    completed: int
    exited_after_positive: int  # a later stage ended the pathway appropriately (ruled out)
    dropped_out: int  # at a booked stage
    in_progress_after_positive: int

    @property
    def screening_uptake(self) -> float | None:
        return _none_if_nan(_ratio(self.screened, self.screened + self.not_screened))

    @property
    def screened_of_enrolled(self) -> float | None:
        """The funnel's "of previous" for its screened step: those still awaiting a screen count here."""
        return _none_if_nan(_ratio(self.screened, self.enrolled))

    @property
    def completion_rate(self) -> float | None:
        return _none_if_nan(_ratio(self.completed, self.completed + self.dropped_out))

    @property
    def adherence_bounds(self) -> tuple[float | None, float | None]:
        """Share of positive screens not lost to follow-up if every patient in progress dropped
        out, and if none did; the Scenarios page puts them in between by their calibrated risk."""
        kept = self.completed + self.exited_after_positive
        return (_none_if_nan(_ratio(kept, self.positive)),
                _none_if_nan(_ratio(kept + self.in_progress_after_positive, self.positive)))


def completion_reconciliation(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> CompletionReconciliation:
    flags = _outcome_flags(frame, pathway)
    after_first = frame["status_stage"] != pathway.first_stage
    positive = _funnel_masks(frame, pathway).get(f"{pathway.first_stage}_led_on", flags["screened"])
    return CompletionReconciliation(
        enrolled=len(frame),
        screened=int(flags["screened"].sum()),
        not_screened=int(flags["not_screened"].sum()),
        awaiting_screening=int((flags["in_progress"] & ~after_first).sum()),
        positive=int(positive.fillna(False).sum()),
        completed=int(flags["completed"].sum()),
        exited_after_positive=int((flags["exited"] & after_first).sum()),
        dropped_out=int(flags["dropped_out"].sum()),
        in_progress_after_positive=int((flags["in_progress"] & after_first).sum()),
    )


# --- Stage funnel -------------------------------------------------------------------

def funnel_steps(pathway: Pathway = DEFAULT_PATHWAY) -> tuple[tuple[str, str, str], ...]:
    """(step, label, what losing patients at this step means): enrolled, then per stage
    the patients who had it and, for a stage whose results can end the pathway, those
    whose result led on."""
    steps = [("enrolled", "Enrolled", "")]
    for stage in pathway.stages:
        steps.append((f"{stage.name}_done", stage.done,
                      f"{stage.missed.lower()}: dropped out or still in progress"))
        if stage.ends and stage.name != pathway.last_stage:
            endings = " or ".join(stage.result_label(r).lower() for r in stage.ends)
            steps.append((f"{stage.name}_led_on", _led_on_label(stage), f"{endings}: pathway ends appropriately"))
    return tuple(steps)


def _led_on_label(stage) -> str:
    return " or ".join(stage.result_label(r) for r in stage.leads_on)


FUNNEL_STEPS = funnel_steps(DEFAULT_PATHWAY)


def _funnel_masks(frame: pd.DataFrame, pathway: Pathway) -> dict[str, pd.Series]:
    # Each step also requires the one before, so the funnel can never widen even if
    # a user's data holds, say, a treatment without a recorded diagnosis.
    reached = pd.Series(True, index=frame.index)
    masks = {"enrolled": reached}
    for stage in pathway.stages:
        reached = reached & frame[f"{stage.name}_date"].notna()
        masks[f"{stage.name}_done"] = reached
        if stage.ends and stage.name != pathway.last_stage:
            reached = reached & frame[f"{stage.name}_result"].isin(stage.leads_on)
            masks[f"{stage.name}_led_on"] = reached
    return masks


def funnel_reached(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.Series:
    """Per patient, how many of ``funnel_steps`` after "enrolled" they reached: the steps are
    nested, so patients reaching step k are those with a value of at least k (0: enrolled only;
    1: the first stage happened, i.e. "screened")."""
    masks = _funnel_masks(frame, pathway)
    reached = pd.Series(0, index=frame.index, dtype="int64")
    for step, _, _ in funnel_steps(pathway)[1:]:
        reached += masks[step].fillna(False).astype("int64")
    return reached


def funnel_counts(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """One row per funnel step: patients, conversion from the previous step (0-1, NaN for
    the first), drop-off (patients lost since the previous step), share of enrolled."""
    masks = _funnel_masks(frame, pathway)
    return funnel_from_counts([int(masks[step].fillna(False).sum()) for step, _, _ in funnel_steps(pathway)], pathway)


def funnel_from_counts(counts: list[int], pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """The funnel table from the patients reaching each of ``funnel_steps`` (in order)."""
    steps = funnel_steps(pathway)
    counts = [int(c) for c in counts]
    previous = [None, *counts[:-1]]
    enrolled = counts[0]
    return pd.DataFrame({
        "step": [step for step, _, _ in steps],
        "label": [label for _, label, _ in steps],
        "patients": counts,
        "conversion": [math.nan if p is None else (c / p if p else math.nan) for c, p in zip(counts, previous)],
        "drop_off": [0 if p is None else p - c for c, p in zip(counts, previous)],
        "drop_off_meaning": [meaning for _, _, meaning in steps],
        "share_of_enrolled": [c / enrolled if enrolled else math.nan for c in counts],
    })


# --- Monthly trend ------------------------------------------------------------------

def _last_stage_date(frame: pd.DataFrame, pathway: Pathway) -> pd.Series:
    stage_dates = frame[[f"{stage}_date" for stage in pathway.stage_names]]
    return stage_dates.apply(pd.to_datetime).max(axis=1)


def completion_month(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.Series:
    """Per patient, the first day of the month they completed the pathway in (dated by their
    last stage, as monthly_trend counts them); NaT for patients who did not complete."""
    month = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    completed = frame["status"] == COMPLETED
    if completed.any():
        month.loc[completed] = _last_stage_date(frame.loc[completed], pathway).dt.to_period("M").dt.to_timestamp()
    return month


def monthly_trend(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """Per calendar month: patients enrolled, and patients completing the pathway
    (dated by their last stage). Months without either are filled with zeros."""
    enrolled_month = pd.to_datetime(frame["enrollment_date"]).dt.to_period("M")
    completed = frame["status"] == COMPLETED
    completed_month = _last_stage_date(frame.loc[completed], pathway).dt.to_period("M")
    return trend_from_month_counts(enrolled_month.value_counts(), completed_month.value_counts())


def trend_from_month_counts(enrolled: pd.Series, finished: pd.Series) -> pd.DataFrame:
    """The monthly trend from patients enrolled and completing per month (Series indexed by
    monthly Periods), every month between the first and the last filled in."""
    months = enrolled.index.union(finished.index)
    if len(months) == 0:
        return pd.DataFrame({"month": pd.Series([], dtype="datetime64[ns]"), "enrolled": [], "completed": []})
    every_month = pd.period_range(months.min(), months.max(), freq="M")
    return pd.DataFrame({
        "month": every_month.to_timestamp(),
        "enrolled": enrolled.reindex(every_month, fill_value=0).to_numpy(dtype="int64"),
        "completed": finished.reindex(every_month, fill_value=0).to_numpy(dtype="int64"),
    })


# --- Pathway flows (Sankey) ---------------------------------------------------------

ENROLLED = "Enrolled"


@dataclass(frozen=True)
class SankeyLayout:
    """Every (status, status_stage) a journey can end in and its path of nodes from
    Enrolled to its terminal node, built from the pathway definition. A link's flow is
    the number of patients whose path uses it, so every inner node's inflow equals its
    outflow and the terminal totals are the status counts, by construction."""

    paths: dict  # (status, status_stage) -> tuple of node labels
    stage_nodes: dict  # stage -> (node its patients come from, node they reach when they get it)

    @property
    def terminal_status(self) -> dict:
        """Terminal node -> the journey status it collects."""
        return {path[-1]: status for (status, _), path in self.paths.items()}

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        """Every link once, ordered by depth so the figure lays the pathway out left to right."""
        links: dict[tuple[str, str], int] = {}
        for path in self.paths.values():
            for depth, link in enumerate(zip(path[:-1], path[1:])):
                links.setdefault(link, depth)
        return tuple(sorted(links, key=links.get))


def sankey_layout(pathway: Pathway = DEFAULT_PATHWAY) -> SankeyLayout:
    paths, stage_nodes = {}, {}
    prefix = (ENROLLED,)
    for stage in pathway.stages:
        name = stage.name
        paths[(DROPPED_OUT, name)] = (*prefix, f"{stage.missed} (dropped out)")
        paths[(IN_PROGRESS, name)] = (*prefix, f"Awaiting {stage.label.lower()}")
        if name == pathway.last_stage:
            done = f"{stage.done} (completed)"
            paths[(COMPLETED, name)] = (*prefix, done)
        else:
            done = stage.done
            if stage.ends:
                endings = " or ".join(stage.result_label(r) for r in stage.ends)
                paths[(EXITED, name)] = (*prefix, done, endings, f"Exited after {endings.lower()}")
        stage_nodes[name] = (prefix[-1], done)
        prefix = (*prefix, done, _led_on_label(stage)) if stage.ends else (*prefix, done)
    return SankeyLayout(paths, stage_nodes)


_DEFAULT_SANKEY = sankey_layout(DEFAULT_PATHWAY)
SANKEY_PATHS = _DEFAULT_SANKEY.paths
SANKEY_TERMINAL_STATUS = _DEFAULT_SANKEY.terminal_status
SANKEY_LINKS = _DEFAULT_SANKEY.links


def _terminal_counts(counts: pd.Series, layout: SankeyLayout) -> pd.Series:
    """Patients per (status, status_stage); refuses combinations no journey can end in."""
    unknown = [key for key in counts.index if key not in layout.paths]
    if unknown:
        raise ValueError(f"journeys: (status, status_stage) pairs outside the pathway: {unknown[:5]}")
    return counts


def sankey_flows(journeys: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """One row per pathway link (all links, zero flows included): source, target,
    patients, and target_status (the journey status a terminal target collects, None
    for an inner node).

    Screened → Positive → Diagnosed / dropped out / in progress, and so on at every
    stage; each inner node's inflow equals its outflow, and the terminal totals per
    status equal the status counts of ``derive_journeys``.
    """
    return flows_from_terminal_counts(journeys.groupby(["status", "status_stage"]).size(), pathway)


def flows_from_terminal_counts(counts: pd.Series, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """The Sankey flows from the patients per (status, status_stage) (a Series on that pair)."""
    layout = sankey_layout(pathway)
    counts = _terminal_counts(counts, layout)
    links = layout.links
    flow = dict.fromkeys(links, 0)
    for key, patients in counts.items():
        path = layout.paths[key]
        for link in zip(path[:-1], path[1:]):
            flow[link] += int(patients)
    terminal = layout.terminal_status
    return pd.DataFrame({
        "source": [s for s, _ in links],
        "target": [t for _, t in links],
        "patients": [flow[link] for link in links],
        "target_status": [terminal.get(t) for _, t in links],
    })


# --- Stage losses and the bottleneck ------------------------------------------------

def stage_phrases(pathway: Pathway = DEFAULT_PATHWAY) -> dict[str, str]:
    """How a sentence names each stage in context: "diagnosis after a positive screen"."""
    phrases = {pathway.first_stage: pathway.stages[0].label.lower()}
    for previous, stage in zip(pathway.stages[:-1], pathway.stages[1:]):
        after = f"a {_led_on_label(previous).lower()}" if previous.leads_on else previous.label.lower()
        phrases[stage.name] = f"{stage.label.lower()} after {after}"
    return phrases


STAGE_PHRASES = stage_phrases(DEFAULT_PATHWAY)


def stage_losses(flows: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """Per stage, from ``sankey_flows``: patients for whom it was indicated, who got
    it, dropped out (window closed without it), are still in progress, the resolved
    (got it + dropped out) and dropout_share = dropped out / resolved (NaN if none)."""
    rows = []
    for stage, (before, after) in sankey_layout(pathway).stage_nodes.items():
        out = flows[flows["source"] == before]
        got = int(out.loc[out["target"] == after, "patients"].sum())
        dropped = int(out.loc[out["target_status"] == DROPPED_OUT, "patients"].sum())
        waiting = int(out.loc[out["target_status"] == IN_PROGRESS, "patients"].sum())
        rows.append({"stage": stage, "booked": stage in pathway.decision_stages,
                     "indicated": got + dropped + waiting, "got": got, "dropped_out": dropped,
                     "in_progress": waiting, "resolved": got + dropped,
                     "dropout_share": _ratio(dropped, got + dropped)})
    return pd.DataFrame(rows)


def bottleneck(losses: pd.DataFrame) -> pd.Series | None:
    """The booked stage with the highest dropout share among patients for whom it was
    indicated and resolved (ties: more patients lost); None if none has resolved."""
    candidates = losses[losses["booked"] & (losses["resolved"] > 0)]
    if candidates.empty:
        return None
    return candidates.sort_values(["dropout_share", "dropped_out"], ascending=False, kind="stable").iloc[0]


def _booked_stage_list(pathway: Pathway) -> str:
    labels = [pathway.stage(s).label.lower() for s in pathway.decision_stages]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def bottleneck_definition(pathway: Pathway = DEFAULT_PATHWAY) -> str:
    return (f"Bottleneck: the booked stage ({_booked_stage_list(pathway)}) with the highest dropout "
            "share among patients for whom it was indicated and resolved (they got it, or its window "
            "closed without it); patients still inside the window are left out. Slowest step: the highest "
            "median wait between consecutive stages.")


BOTTLENECK_DEFINITION = bottleneck_definition(DEFAULT_PATHWAY)


def _patients(count: int) -> str:
    return f"{count:,} patient" + ("" if count == 1 else "s")


def bottleneck_text(losses: pd.DataFrame, durations: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> str:
    """The bottleneck and the slowest step in one sentence, e.g. "Biggest loss: diagnosis
    after a positive screen — 44% of patients who needed it did not get it (1,234
    patients); slowest step: screen → diagnosis, median 48 days."."""
    worst = bottleneck(losses)
    if worst is None:
        loss = "Biggest loss: not known yet — no booked stage has resolved patients in this cohort"
    elif worst["dropped_out"] == 0:
        loss = (f"No losses: every patient who needed {_booked_stage_list(pathway).replace(' or ', ' and ')} "
                "and resolved got it")
    else:
        loss = (f"Biggest loss: {stage_phrases(pathway)[worst['stage']]} — {worst['dropout_share']:.0%} of patients "
                f"who needed it did not get it ({int(worst['dropped_out']):,} of {_patients(int(worst['resolved']))} "
                "resolved)")
    slowest = slowest_step(durations)
    if slowest is None:
        wait = "slowest step: not known yet"
    else:
        wait = f"slowest step: {slowest['label'][0].lower()}{slowest['label'][1:]}, median {slowest['median']:,.0f} days"
    return f"{loss}; {wait}."


# --- Time between stages ------------------------------------------------------------

def duration_steps(pathway: Pathway = DEFAULT_PATHWAY) -> tuple[tuple[str, str, bool], ...]:
    """(journeys column, label, consecutive stages?): each step of the pathway, then the
    headline wait from the first decision point to the milestone stage (unless the milestone
    is the stage right after the first, whose step already is that wait)."""
    labels = ["Enrollment", *(stage.label for stage in pathway.stages)]
    steps = [(column, f"{a} → {b.lower()}", True)
             for column, a, b in zip(duration_columns(pathway), labels[:-1], labels[1:])]
    if pathway.milestone != pathway.stage_names[1]:  # else the same span as the first step after the first stage
        first = pathway.stages[0]
        start = _led_on_label(first) if first.leads_on else first.label
        steps.append((MILESTONE_DAYS, f"{start} → {pathway.stage(pathway.milestone).label.lower()}", False))
    return tuple(steps)


DURATION_STEPS = duration_steps(DEFAULT_PATHWAY)
DURATION_QUANTILES = {"p05": 0.05, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95}


def stage_durations(frame: pd.DataFrame, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """Per step, days between the two stages among patients who had both: n, median,
    IQR (p25-p75) and p05/p95 (the distribution figure's whiskers)."""
    stats = {}
    for column, _, _ in duration_steps(pathway):
        days = frame[column].dropna()
        stats[column] = (len(days), days.quantile(list(DURATION_QUANTILES.values())).to_numpy()
                         if len(days) else [math.nan] * len(DURATION_QUANTILES))
    return durations_from_stats(stats, pathway)


def quantiles_from_counts(values, counts, quantiles) -> list[float]:
    """Exact quantiles (linear interpolation, as pandas' Series.quantile) of the values that
    ``values`` and ``counts`` tabulate (each distinct value and how many times it occurs):
    the k-th smallest value is found in the cumulative counts, never approximated. NaN when
    the counts are all zero."""
    order = np.argsort(np.asarray(values, dtype="float64"), kind="stable")
    values = np.asarray(values, dtype="float64")[order]
    ends = np.cumsum(np.asarray(counts, dtype="int64")[order])  # rank (0-based) of each value's last copy + 1
    n = int(ends[-1]) if len(ends) else 0
    if n == 0:
        return [math.nan] * len(quantiles)
    out = []
    for q in quantiles:
        # numpy's "linear" method: virtual index (n - 1) q, and its lerp, term for term.
        index = n * q + (1 - q) - 1
        below = math.floor(index)
        above = min(below + 1, n - 1)
        low = values[np.searchsorted(ends, below, side="right")]
        high = values[np.searchsorted(ends, above, side="right")]
        t = index - below
        diff = high - low
        out.append(float(high - diff * (1 - t) if t >= 0.5 else low + diff * t))
    return out


def median_from_counts(values, counts) -> float:
    return quantiles_from_counts(values, counts, [0.5])[0]


def durations_from_stats(stats: dict, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """The durations table from, per duration column, (n, the DURATION_QUANTILES in order)."""
    rows = []
    for column, label, consecutive in duration_steps(pathway):
        n, quantiles = stats[column]
        # Engines interpolate the same quantile in a different order of operations (28.65 in
        # pandas, 28.650000000000002 in DuckDB); days to 9 decimals are the same number on screen.
        quantiles = [math.nan if q is None else round(float(q), 9) for q in quantiles]
        rows.append({"step": column, "label": label, "consecutive": consecutive, "n": int(n),
                     **dict(zip(DURATION_QUANTILES, map(float, quantiles)))})
    return pd.DataFrame(rows)


def slowest_step(durations: pd.DataFrame) -> pd.Series | None:
    """The step between consecutive stages with the highest median wait."""
    consecutive = durations[durations["consecutive"] & (durations["n"] > 0)]
    if consecutive.empty:
        return None
    return consecutive.sort_values("median", ascending=False, kind="stable").iloc[0]


# --- Breakdowns ---------------------------------------------------------------------

NOT_RECORDED_GROUP = "not recorded"
BREAKDOWN_COLUMNS = ("group", "patients", "resolved", "completion_rate", "dropout_rate",
                     "median_days_to_milestone", "in_progress", "completed", "dropped_out")


def breakdown(frame: pd.DataFrame, by: str, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """Per value of ``by`` (e.g. site, payer): patients, resolved (the rates' denominator),
    completion and dropout rate (the KPI definitions), median days positive screen → treatment, in progress; sorted by
    dropout rate, highest first (groups without resolved patients last)."""
    flags = _outcome_flags(frame, pathway)
    # Patients without a recorded value form their own group rather than vanishing from the table.
    groups = frame[by].astype(object).where(frame[by].notna(), NOT_RECORDED_GROUP)
    grouped = flags.groupby(groups, observed=True)
    totals = grouped[["completed", "dropped_out", "in_progress"]].sum()
    totals["patients"] = grouped.size()
    totals["median_days_to_milestone"] = frame.groupby(groups, observed=True)[MILESTONE_DAYS].median()
    return breakdown_from_totals(totals)


def breakdown_from_totals(totals: pd.DataFrame) -> pd.DataFrame:
    """The breakdown table from per-group totals (index: the group; columns patients,
    completed, dropped_out, in_progress, median_days_to_milestone), in the table's order."""
    totals = totals.astype({"patients": "int64", "completed": "int64", "dropped_out": "int64",
                            "in_progress": "int64", "median_days_to_milestone": "float64"})
    resolved = totals["completed"] + totals["dropped_out"]
    table = pd.DataFrame({
        "group": totals.index.astype(str),
        "patients": totals["patients"].to_numpy(),
        "resolved": resolved.to_numpy(),
        "completion_rate": _ratio(totals["completed"], resolved).to_numpy(),
        "dropout_rate": _ratio(totals["dropped_out"], resolved).to_numpy(),
        "median_days_to_milestone": totals["median_days_to_milestone"].to_numpy(dtype="float64"),
        "in_progress": totals["in_progress"].to_numpy(),
        "completed": totals["completed"].to_numpy(),
        "dropped_out": totals["dropped_out"].to_numpy(),
    }, columns=list(BREAKDOWN_COLUMNS))
    table = table.sort_values(["dropout_rate", "patients", "group"], ascending=[False, False, True],
                              na_position="last", kind="stable")
    return table.reset_index(drop=True)
