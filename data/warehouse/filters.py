"""The cohort filter (data.cohort_filter.CohortFilter) as an Ibis boolean expression, so any
engine selects the same patients as data.cohort_filter.apply_cohort does in pandas."""
from __future__ import annotations

import datetime as dt
import functools
import operator


from data.analytics.sankey_nodes import node_labels
from data.analytics.variants import code_for_key
from data.cohort_filter import CHOICE_FIELDS, VARIANT_CODE_COLUMN, CohortFilter
from data.cohorts import sankey_layout
from data.pathway import DEFAULT_PATHWAY, Pathway


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, value.day)


def cohort_predicates(table, cohort: CohortFilter, pathway: Pathway = DEFAULT_PATHWAY) -> list:
    """One predicate per restriction of ``cohort`` (none for the whole population).
    A NULL attribute fails every restriction on it, as NaN does in pandas."""
    columns = set(table.columns)
    predicates = []
    for f in CHOICE_FIELDS:
        chosen = getattr(cohort, f.attribute)
        if chosen and f.column is not None and f.column in columns:
            values = [f.frame_values.get(v, v) for v in chosen] if f.frame_values else list(chosen)
            predicates.append(table[f.column].isin(values))
    if cohort.age_min is not None:
        predicates.append(table.age >= cohort.age_min)
    if cohort.age_max is not None:
        predicates.append(table.age <= cohort.age_max)
    if cohort.enrolled_from:
        predicates.append(table.enrollment_date >= _day(cohort.enrolled_from))
    if cohort.enrolled_to:
        # Inclusive of the whole last day, whatever the time of day stored.
        predicates.append(table.enrollment_date < _day(cohort.enrolled_to + dt.timedelta(days=1)))
    if cohort.variant is not None:
        code = code_for_key(cohort.variant, pathway)
        predicates.append(table[VARIANT_CODE_COLUMN] == (-1 if code is None else code))
    if cohort.node is not None:
        label = node_labels(pathway).get(cohort.node)
        pairs = [key for key, path in sankey_layout(pathway).paths.items() if label in path]
        through = [(table.status == status) & (table.status_stage == stage) for status, stage in pairs]
        # A slug that names no node selects nobody, as through_node does.
        predicates.append(functools.reduce(operator.or_, through) if through else table.status.isnull()
                          & table.status.notnull())
    return predicates


def filtered(table, cohort: CohortFilter, pathway: Pathway = DEFAULT_PATHWAY):
    """The rows of the registered cohort table in the cohort."""
    predicates = cohort_predicates(table, cohort, pathway)
    return table.filter(predicates) if predicates else table


