"""The Quality page's numerator-gap list is patient-level: an analyst never gets it, a
coordinator gets only their sites' patients, and every list shown is audited."""
from __future__ import annotations

import pandas as pd

from callbacks import access_scope, context
from callbacks.access_scope import Principal
from callbacks.measures import quality_view
from data.measures import measure_result
from tests.app.component_text import component_text

QUERY = "?program=colorectal"
ANALYST = Principal("t-analyst", "analyst", ())


def _gap_ids() -> list[str]:
    program, measure = context.pathway().measures[0]
    result = measure_result(context.cohort_frame(QUERY), program, measure, context.current().dataset.as_of)
    return [str(p) for p in result.gap_patient_ids]


def _linked_ids(gap) -> list[str]:
    found = []

    def walk(node):
        href = getattr(node, "href", None)
        if isinstance(href, str) and href.startswith("/patient?id="):
            found.append(href.split("id=", 1)[1].split("&", 1)[0])
        children = getattr(node, "children", None)
        for child in children if isinstance(children, (list, tuple)) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child)

    walk(gap)
    return found


def _recorded(monkeypatch) -> list[tuple]:
    events = []
    monkeypatch.setattr(access_scope, "_audit_recorder",
                        lambda principal, action, page, patient_ids, count: events.append(
                            (principal.username, action, page, tuple(patient_ids))))
    return events


def test_an_analyst_gets_no_gap_patient_ids(app_data, as_user, monkeypatch):
    gap_ids = _gap_ids()
    assert gap_ids
    events = _recorded(monkeypatch)
    with as_user(ANALYST):
        view = quality_view(QUERY, None)
    shown = str(view.gap.to_plotly_json() if hasattr(view.gap, "to_plotly_json") else view.gap)
    assert not _linked_ids(view.gap)
    assert not any(pid in shown for pid in gap_ids)
    assert "coordinator" in component_text(view.gap).lower()
    assert events == []
    # The aggregate page still renders for the analyst.
    assert view.summary is not None


def test_a_coordinator_sees_only_their_sites_gap_patients_and_the_view_is_audited(app_data, as_user, monkeypatch):
    gap_ids = _gap_ids()
    sites = app_data.dataset.patients.set_index(app_data.dataset.patients["patient_id"].astype(str))["site"]
    gap_sites = pd.Series(gap_ids).map(sites)
    site = gap_sites.value_counts().index[0]
    own = [pid for pid, s in zip(gap_ids, gap_sites) if s == site]
    assert 0 < len(own) < len(gap_ids)  # the gap spans several sites, so the filter shows
    events = _recorded(monkeypatch)
    with as_user(Principal("t-coordinator", "coordinator", (site,))):
        view = quality_view(QUERY, None)
    linked = _linked_ids(view.gap)
    assert linked and set(linked) <= set(own)
    assert f"{len(own):,} patients in the numerator gap" in component_text(view.gap)
    assert events == [("t-coordinator", "quality_gap_view", "/quality", tuple(linked))]
