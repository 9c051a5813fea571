"""The cohort filter shared by every page: its fields, its URL query string, and how
it selects rows of the per-patient cohort frame.

Pure functions only (no Dash), so the filter logic is unit-tested without a browser.
The query string is canonical (fixed key order, values in contract order), so one
cohort always has one URL and one cache key.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode

import numpy as np
import pandas as pd

from data import input_errors
from data.input_errors import InvalidInput, kind
from data.analytics.sankey_nodes import node_labels, through_node
from data.analytics.variants import code_for_key, variant_codes, variant_key
from data.pathway import DEFAULT_PATHWAY, Pathway
from data.schema import PATIENT_COLUMNS, PAYERS, RACE_ETHNICITIES, REGIONS, SEXES
from data.schema import PROGRAMS as DEFAULT_PROGRAMS

_AGE_COLUMN = next(c for c in PATIENT_COLUMNS if c.name == "age")
AGE_BOUNDS = (int(_AGE_COLUMN.min_value), int(_AGE_COLUMN.max_value))

# The longest cohort query string accepted from a client. A canonical query naming every
# choice of a large dataset stays well under this; anything longer is not a link we wrote.
MAX_QUERY_CHARS = 8192

RISK_TIERS = ("high", "medium", "low")
RISK_TIER_LABELS = {"high": "High", "medium": "Medium", "low": "Low"}


@dataclass(frozen=True)
class CohortFilter:
    """An empty tuple or None means "no restriction" on that field."""

    programs: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    sexes: tuple[str, ...] = ()
    race_ethnicities: tuple[str, ...] = ()
    payers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    enrolled_from: dt.date | None = None
    enrolled_to: dt.date | None = None
    risk_tiers: tuple[str, ...] = ()
    # A selection made by clicking a chart (Journeys' variants, Pathways' Sankey): a journey
    # variant key (data.analytics.variants) and a Sankey node slug (data.analytics.sankey_nodes).
    variant: str | None = None
    node: str | None = None


@dataclass(frozen=True)
class ChoiceField:
    attribute: str  # CohortFilter attribute
    query_key: str  # key in the URL query string
    column: str | None  # cohort-frame column it restricts (None: not applied yet)
    allowed: tuple[str, ...] | None  # None: values come from the data (programs of the pathway, sites)
    frame_values: dict | None = None  # URL value -> value in the frame column, where they differ


CHOICE_FIELDS = (
    ChoiceField("programs", "program", "program", None),
    ChoiceField("sexes", "sex", "sex", SEXES),
    ChoiceField("race_ethnicities", "race", "race_ethnicity", RACE_ETHNICITIES),
    ChoiceField("payers", "payer", "payer", PAYERS),
    ChoiceField("regions", "region", "region", REGIONS),
    ChoiceField("sites", "site", "site", None),
    # Risk tiers come from the dropout-risk model: only patients awaiting a booked stage
    # have one, so choosing any tier keeps scored patients only.
    ChoiceField("risk_tiers", "risk", "risk_tier", RISK_TIERS, RISK_TIER_LABELS),
)
# Filter fields that restrict an optional patient attribute (CohortFilter field -> column;
# "age" stands for age_min/age_max). An attribute the data does not record, or records
# with one value only, offers no choice: its field is hidden and ignored in a URL.
ATTRIBUTE_FIELDS = {"age": "age", "sexes": "sex", "race_ethnicities": "race_ethnicity", "payers": "payer",
                    "regions": "region", "sites": "site"}
AGE_KEY = "age"
ENROLLED_FROM_KEY = "from"
ENROLLED_TO_KEY = "to"
VARIANT_KEY = "variant"
NODE_KEY = "node"
VARIANT_CODE_COLUMN = "variant_code"  # optional cohort-frame column: data.analytics.variants.variant_codes
SELECTION_KEYS = (VARIANT_KEY, NODE_KEY)  # the chart-click selection, kept apart from the panel's controls


def valid_variant(key, pathway: Pathway = DEFAULT_PATHWAY) -> str | None:
    """The canonical variant key, or None when it names no variant of this pathway."""
    code = code_for_key(str(key) if key else None, pathway)
    return None if code is None else variant_key(code, pathway)


def valid_node(slug, pathway: Pathway = DEFAULT_PATHWAY) -> str | None:
    return slug if isinstance(slug, str) and slug in node_labels(pathway) else None


def with_selection(cohort: CohortFilter, selection: dict | None, pathway: Pathway = DEFAULT_PATHWAY) -> CohortFilter:
    """The filter with the chart selection ({"variant": key, "node": slug}, either optional) validated."""
    selection = selection if isinstance(selection, dict) else {}
    return replace(cohort, variant=valid_variant(selection.get(VARIANT_KEY), pathway),
                   node=valid_node(selection.get(NODE_KEY), pathway))


def selection_of(cohort: CohortFilter) -> dict:
    """The chart selection as the filter panel's store holds it (only the keys set)."""
    return {key: value for key, value in ((VARIANT_KEY, cohort.variant), (NODE_KEY, cohort.node)) if value}


def _canonical(values, allowed: tuple[str, ...] | None) -> tuple[str, ...]:
    """Deduplicate, drop unknown values and put the rest in contract (or sorted) order."""
    chosen = {str(v) for v in (values or ()) if v not in (None, "")}
    if allowed is None:
        return tuple(sorted(chosen))
    return tuple(v for v in allowed if v in chosen)


def _parse_date(text) -> dt.date | None:
    if not text:
        return None
    try:
        # Date pickers may send "YYYY-MM-DDT00:00:00"; the day is all that matters.
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _clip_age(age_min, age_max) -> tuple[int | None, int | None]:
    low, high = AGE_BOUNDS
    try:
        age_min = None if age_min is None else min(max(int(age_min), low), high)
        age_max = None if age_max is None else min(max(int(age_max), low), high)
    except (TypeError, ValueError):
        return None, None
    if age_min is not None and age_max is not None and age_min > age_max:
        age_min, age_max = age_max, age_min
    # The full range is no restriction; store it as such so the URL stays short.
    return (None if age_min == low else age_min), (None if age_max == high else age_max)


def normalise(cohort: CohortFilter, sites: tuple[str, ...] | None = None,
              programs: tuple[str, ...] | None = None) -> CohortFilter:
    """Canonical form: known values only, in contract (or sorted) order, full ranges as None.

    ``sites`` are the sites present in the data and ``programs`` the pathway's programs;
    when given, unknown values are dropped.
    """
    changes = {f.attribute: _canonical(getattr(cohort, f.attribute), f.allowed) for f in CHOICE_FIELDS}
    if sites is not None:
        changes["sites"] = _canonical(changes["sites"], tuple(sorted(sites)))
    if programs is not None:
        changes["programs"] = _canonical(changes["programs"], tuple(sorted(programs)))
    changes["age_min"], changes["age_max"] = _clip_age(cohort.age_min, cohort.age_max)
    start, end = cohort.enrolled_from, cohort.enrolled_to
    if start and end and start > end:
        start, end = end, start
    changes["enrolled_from"], changes["enrolled_to"] = start, end
    return replace(cohort, **changes)


def unavailable_fields(frame: pd.DataFrame) -> tuple[str, ...]:
    """The ATTRIBUTE_FIELDS whose column is absent from ``frame`` or has fewer than two recorded values."""
    return tuple(field for field, column in ATTRIBUTE_FIELDS.items()
                 if column not in frame.columns or frame[column].dropna().nunique() < 2)


def without_fields(cohort: CohortFilter, fields: tuple[str, ...]) -> CohortFilter:
    """The filter with no restriction on ``fields`` (ATTRIBUTE_FIELDS keys)."""
    changes = {field: () for field in fields if field != "age"}
    if "age" in fields:
        changes.update(age_min=None, age_max=None)
    return replace(cohort, **changes)


def parse_query(search: str | None, sites: tuple[str, ...] | None = None,
                unavailable: tuple[str, ...] = (), programs: tuple[str, ...] | None = DEFAULT_PROGRAMS,
                pathway: Pathway = DEFAULT_PATHWAY) -> CohortFilter:
    """Read a URL query string ("?program=diabetes&age=40-65"); bad parts are ignored,
    because a hand-edited or outdated link should still open a page. So are restrictions
    on ``unavailable`` fields (see unavailable_fields): the data cannot apply them, and
    dropping them keeps one cohort on one canonical URL.

    A query that is not text, or longer than MAX_QUERY_CHARS, is not a link at all: it
    raises InvalidInput (the web layer answers 400)."""
    search = input_errors.text_or_none(search, "cohort query", MAX_QUERY_CHARS)
    params = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    values = {f.attribute: tuple(params.get(f.query_key, ())) for f in CHOICE_FIELDS}
    age_min = age_max = None
    if AGE_KEY in params:
        low, _, high = params[AGE_KEY][0].partition("-")
        age_min, age_max = (low or None), (high or None)
    cohort = normalise(
        CohortFilter(
            **values,
            age_min=age_min,
            age_max=age_max,
            enrolled_from=_parse_date(params.get(ENROLLED_FROM_KEY, [None])[0]),
            enrolled_to=_parse_date(params.get(ENROLLED_TO_KEY, [None])[0]),
        ),
        sites,
        programs,
    )
    cohort = with_selection(cohort, {key: params[key][0] for key in SELECTION_KEYS if key in params}, pathway)
    return without_fields(cohort, unavailable)


def to_query(cohort: CohortFilter) -> str:
    """The canonical query string, with its leading "?", or "" for the whole population."""
    cohort = normalise(cohort)
    pairs: list[tuple[str, str]] = []
    for f in CHOICE_FIELDS:
        pairs.extend((f.query_key, v) for v in getattr(cohort, f.attribute))
    if cohort.age_min is not None or cohort.age_max is not None:
        low, high = AGE_BOUNDS
        pairs.append((AGE_KEY, f"{cohort.age_min or low}-{cohort.age_max or high}"))
    if cohort.enrolled_from:
        pairs.append((ENROLLED_FROM_KEY, cohort.enrolled_from.isoformat()))
    if cohort.enrolled_to:
        pairs.append((ENROLLED_TO_KEY, cohort.enrolled_to.isoformat()))
    pairs.extend((key, value) for key, value in selection_of(cohort).items())
    return "?" + urlencode(pairs) if pairs else ""


# Order of the filter controls' values, as the panel callbacks pass them around.
CONTROL_ORDER = ("programs", "age", "sexes", "race_ethnicities", "payers", "regions", "sites",
                 "enrolled_from", "enrolled_to", "risk_tiers")


def from_controls(programs, age, sexes, race_ethnicities, payers, regions, sites,
                  enrolled_from, enrolled_to, risk_tiers) -> CohortFilter:
    """Build the filter from the panel's control values (in CONTROL_ORDER); values of the
    wrong type (a number for a list, an object for a date) raise InvalidInput."""
    programs, sexes, race_ethnicities, payers, regions, sites, risk_tiers = (
        input_errors.list_of_text(value, f"filter {name}") for name, value in (
            ("programs", programs), ("sexes", sexes), ("race_ethnicities", race_ethnicities),
            ("payers", payers), ("regions", regions), ("sites", sites), ("risk_tiers", risk_tiers)))
    if age is not None:
        if not isinstance(age, (list, tuple)) or len(age) > 2:
            raise InvalidInput("filter age", f"expected a list of two numbers, got {kind(age)}")
        for bound in age:
            input_errors.number_or_none(bound, "filter age")
    enrolled_from = input_errors.text_or_none(enrolled_from, "filter enrolled_from", 40)
    enrolled_to = input_errors.text_or_none(enrolled_to, "filter enrolled_to", 40)
    age_min, age_max = (list(age) + [None, None])[:2] if age else (None, None)
    return normalise(CohortFilter(
        programs=tuple(programs or ()), age_min=age_min, age_max=age_max,
        sexes=tuple(sexes or ()), race_ethnicities=tuple(race_ethnicities or ()),
        payers=tuple(payers or ()), regions=tuple(regions or ()), sites=tuple(sites or ()),
        enrolled_from=_parse_date(enrolled_from), enrolled_to=_parse_date(enrolled_to),
        risk_tiers=tuple(risk_tiers or ()),
    ))


def to_controls(cohort: CohortFilter) -> tuple:
    """The panel's control values for this filter (in CONTROL_ORDER)."""
    low, high = AGE_BOUNDS
    return (
        list(cohort.programs),
        [cohort.age_min if cohort.age_min is not None else low,
         cohort.age_max if cohort.age_max is not None else high],
        list(cohort.sexes), list(cohort.race_ethnicities), list(cohort.payers),
        list(cohort.regions), list(cohort.sites),
        cohort.enrolled_from.isoformat() if cohort.enrolled_from else None,
        cohort.enrolled_to.isoformat() if cohort.enrolled_to else None,
        list(cohort.risk_tiers),
    )


def apply_cohort(frame: pd.DataFrame, cohort: CohortFilter, pathway: Pathway = DEFAULT_PATHWAY) -> pd.DataFrame:
    """The rows of a per-patient frame (journeys joined with patient attributes) in the cohort."""
    return frame.loc[cohort_mask(frame, cohort, pathway)]


def cohort_mask(frame: pd.DataFrame, cohort: CohortFilter, pathway: Pathway = DEFAULT_PATHWAY) -> np.ndarray:
    """Whether each row of ``frame`` is in the cohort (apply_cohort without copying the rows:
    the copy of 30 columns is two thirds of apply_cohort's time at 1M patients)."""
    keep = pd.Series(True, index=frame.index)
    for f in CHOICE_FIELDS:
        chosen = getattr(cohort, f.attribute)
        # A frame without the column carries no model output (e.g. journeys alone): no restriction.
        if chosen and f.column is not None and f.column in frame.columns:
            values = [f.frame_values.get(v, v) for v in chosen] if f.frame_values else list(chosen)
            keep &= frame[f.column].isin(values)
    if cohort.age_min is not None:
        keep &= frame["age"] >= cohort.age_min
    if cohort.age_max is not None:
        keep &= frame["age"] <= cohort.age_max
    if cohort.enrolled_from or cohort.enrolled_to:
        enrolled = pd.to_datetime(frame["enrollment_date"])
        if cohort.enrolled_from:
            keep &= enrolled >= pd.Timestamp(cohort.enrolled_from)
        if cohort.enrolled_to:
            # Inclusive of the whole last day, whatever the time of day stored.
            keep &= enrolled < pd.Timestamp(cohort.enrolled_to) + pd.Timedelta(days=1)
    if cohort.variant is not None:
        code = code_for_key(cohort.variant, pathway)
        # The app's cohort frame carries the codes (VARIANT_CODE_COLUMN, derived once at start-up).
        codes = frame[VARIANT_CODE_COLUMN].to_numpy() if VARIANT_CODE_COLUMN in frame.columns \
            else variant_codes(frame, pathway)
        keep &= codes == (-1 if code is None else code)
    if cohort.node is not None:
        keep &= through_node(frame, cohort.node, pathway)
    return keep.to_numpy(dtype=bool)


def is_everyone(cohort: CohortFilter) -> bool:
    return cohort == CohortFilter()

