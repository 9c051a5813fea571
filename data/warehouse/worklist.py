"""The Worklist's cohort filtering and ranking: which scored patients of a cohort (and of the
user's sites) are active, in the order the coordinator chose. The pandas reference (``ranked``,
``active_positions``) and the same as one columnar query over a table of the scored patients
registered in the engine (``ranking_query``); both return positions in the scores frame.

The engine's table holds no identifiers: the scores frame's row position stands for the patient
and the rank of the patient id in sorted order breaks ties, so the order is the reference's to
the last row. Access control stays with the caller (callbacks.access_scope): it passes the sites
the user may see, and filters the rows it gets back again.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from data.cohort_filter import CohortFilter, apply_cohort
from data.pathway import DEFAULT_PATHWAY, Pathway

# How the list can be ranked: (label, the ordering it means). "gain" needs the benefit model.
GAIN, RISK, DEADLINE = "gain", "risk", "deadline"
SORTS = {
    GAIN: "expected gain if called",
    RISK: "risk of dropping out",
    DEADLINE: "window closing soonest",
}
# Ranking keys, (column, ascending): ties go to the higher risk, then the patient id; a
# missing value sorts last whichever the direction.
RANKING_KEYS = {
    GAIN: (("expected_gain", False), ("risk", False), ("patient_id", True)),
    DEADLINE: (("window_closes", True), ("risk", False), ("patient_id", True)),
    RISK: (("risk", False), ("patient_id", True)),
}
SCORE_ROW = "score_row"  # the scored patient's position in the scores frame
ID_RANK = "id_rank"  # the patient id's position in sorted order (the last tie-break)
SITE = "site"


def ranked(active: pd.DataFrame, sort: str) -> pd.DataFrame:
    """The patients in the chosen order (RANKING_KEYS)."""
    keys = RANKING_KEYS.get(sort, RANKING_KEYS[RISK])
    return active.sort_values([k for k, _ in keys], ascending=[a for _, a in keys], kind="stable",
                              na_position="last").reset_index(drop=True)


def active_positions(cohort_frame: pd.DataFrame, scores: pd.DataFrame, cohort: CohortFilter, sort: str,
                     sites: tuple[str, ...] | None, pathway: Pathway = DEFAULT_PATHWAY) -> np.ndarray:
    """The reference: positions in ``scores`` of the cohort's scored patients at ``sites``
    (None: every site), ranked by ``sort``."""
    cohort_rows = apply_cohort(cohort_frame, cohort, pathway)
    if sites is not None:
        cohort_rows = cohort_rows[cohort_rows[SITE].isin(sites)] if SITE in cohort_rows.columns else cohort_rows[:0]
    scored_ids = cohort_rows.loc[cohort_rows["risk"].notna(), "patient_id"].to_numpy(dtype=object)
    active = scores.assign(**{SCORE_ROW: np.arange(len(scores))})
    active = active[active["patient_id"].isin(scored_ids)]
    return ranked(active, sort)[SCORE_ROW].to_numpy(dtype="int64")


def worklist_frame(cohort_frame: pd.DataFrame, scores: pd.DataFrame, filter_columns: tuple[str, ...]) -> pd.DataFrame:
    """The scored patients as the engine stores them: ranking keys, the cohort frame's columns the
    filter reads (and whether the cohort frame carries a risk for them), the scores row and the
    id's rank; no identifier."""
    columns = [c for c in dict.fromkeys((*filter_columns, SITE, "risk")) if c in cohort_frame.columns]
    if "risk" in cohort_frame.columns:
        # Only patients the cohort frame carries a risk for can be listed (ranking_query's first
        # predicate): joining just those rows, not every patient's (7.5 s of a worker's first
        # Worklist at 10M patients), leaves every other scored patient without a cohort risk, as before.
        cohort_frame = cohort_frame[cohort_frame["risk"].notna()]
    attributes = cohort_frame[["patient_id", *columns]].rename(columns={"risk": "cohort_risk"})
    keys = [k for k in ("expected_gain", "risk", "window_closes") if k in scores.columns]
    frame = scores[["patient_id", *keys]].assign(**{SCORE_ROW: np.arange(len(scores), dtype="int64")})
    frame = frame.merge(attributes, on="patient_id", how="left", validate="one_to_one")
    frame[ID_RANK] = frame["patient_id"].astype(str).rank(method="first").astype("int64")
    return frame.drop(columns=["patient_id"])


def ranking_query(table, cohort: CohortFilter, sort: str, sites: tuple[str, ...] | None,
                  pathway: Pathway = DEFAULT_PATHWAY):
    """The Ibis expression for ``active_positions`` over the registered worklist table."""
    import ibis

    from data.warehouse.filters import cohort_predicates

    predicates = [table.cohort_risk.notnull(), *cohort_predicates(table, cohort, pathway)]
    if sites is not None:
        predicates.append(table[SITE].isin(list(sites)) if sites else ibis.literal(False))
    order = []
    for column, ascending in RANKING_KEYS.get(sort, RANKING_KEYS[RISK]):
        column = ID_RANK if column == "patient_id" else column
        if column in table.columns:
            order.append(ibis.asc(column, nulls_first=False) if ascending else ibis.desc(column, nulls_first=False))
    return table.filter(predicates).order_by(order).select(SCORE_ROW)
