"""The analytics engine (data.warehouse) over the loaded cohort frame, for the pages'
callbacks: the one chosen by CAREPATH_ANALYTICS_ENGINE, opened on first use.

Kept beside the start-up state rather than in it: an engine belongs to one cohort frame, so
it is looked up by that frame (a test or a re-load that swaps the state gets its own), and
its connection is opened lazily in each worker process, never carried across a fork.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from callbacks import context
from data.cohort_filter import CohortFilter
from data.settings import get_settings
from data.warehouse.engine import open_engine
from data.warehouse.numbers import OverviewNumbers, PathwaysNumbers

# Engines of the last few loaded states (a process normally has one; tests load several).
_KEPT = 4
_engines: OrderedDict = OrderedDict()
_lock = threading.Lock()


def engine():
    """The engine over the current cohort frame (opened once per frame and setting)."""
    app_data = context.current()
    setting = get_settings().analytics_engine
    key = (id(app_data.cohort_frame), app_data.fingerprint, setting)
    with _lock:
        found = _engines.get(key)
        # The id of a frame that was freed can be reused: the engine keeps its frame, so compare it.
        if found is None or found.frame is not app_data.cohort_frame:
            found = open_engine(setting, app_data.cohort_frame, app_data.dataset.pathway, app_data.fingerprint,
                                database=app_data.engine_file)
            _engines[key] = found
            while len(_engines) > _KEPT:
                _engines.popitem(last=False)
        _engines.move_to_end(key)
        return found


def overview(cohort: CohortFilter) -> OverviewNumbers:
    return engine().overview(cohort)


def pathways(cohort: CohortFilter) -> PathwaysNumbers:
    return engine().pathways(cohort)


def cohort_rows(cohort: CohortFilter):
    """Positions in the cohort frame of the cohort's patients, ascending."""
    return engine().cohort_rows(cohort)


def variants(cohort: CohortFilter, top: int):
    """The cohort's ``top`` journey variants (data.analytics.variants.journey_variants)."""
    return engine().variants(cohort, top)


def worklist(scores, cohort: CohortFilter, sort: str, sites: tuple[str, ...] | None):
    """Positions in ``scores`` of the cohort's active patients at ``sites`` (None: all), ranked."""
    return engine().worklist(scores, cohort, sort, sites)
