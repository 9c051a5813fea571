"""The URL <-> filter panel callbacks, called directly."""
from dash import no_update

from data.cohort_filter import AGE_BOUNDS, CohortFilter, to_controls
from callbacks.filter_panel import CONTROLS, controls_update, nav_links, query_from_controls
from components.layout import NAV_PAGES

EVERYONE = to_controls(CohortFilter())


def test_url_sets_the_controls(app_data):
    values = controls_update("?program=diabetes&age=40-65", False, EVERYONE)
    assert len(values) == len(CONTROLS)
    assert values[0] == ["diabetes"]
    assert values[1] == [40, 65]


def test_controls_already_matching_the_url_are_left_alone(app_data):
    current = to_controls(CohortFilter(programs=("diabetes",)))
    assert controls_update("?program=diabetes", False, current) == (no_update,) * len(CONTROLS)


def test_reset_clears_the_controls(app_data):
    current = to_controls(CohortFilter(programs=("diabetes",)))
    values = controls_update("?program=diabetes", True, current)
    assert values == EVERYONE
    assert values[1] == list(AGE_BOUNDS)


def test_unknown_sites_in_the_url_are_dropped(app_data):
    site = app_data.sites[0]
    values = controls_update(f"?site={site}&site=No+such+site", False, EVERYONE)
    assert values[6] == [site]


def test_controls_become_a_canonical_query():
    controls = list(EVERYONE)
    controls[0] = ["diabetes", "colorectal"]
    assert query_from_controls(*controls) == "?program=colorectal&program=diabetes"
    assert query_from_controls(*EVERYONE) == ""


def test_nav_links_keep_the_cohort_and_mark_the_current_page():
    values = nav_links("/pathways", "?program=diabetes")
    hrefs, active = values[:len(NAV_PAGES)], values[len(NAV_PAGES):2 * len(NAV_PAGES)]
    assert hrefs[0] == "/?program=diabetes"
    assert hrefs[1] == "/pathways?program=diabetes"
    assert active == tuple(path == "/pathways" for path, _ in NAV_PAGES)


def test_dropped_url_parameters_are_named(app_data):
    """A bad link used to be cleaned up without a word."""
    from callbacks.filter_panel import dropped_parameters, url_notice
    from callbacks import context

    search = "?program=xyz&age=abc&program=diabetes&from=not-a-date&colour=blue&n=25&sort=risk"
    dropped = dict(dropped_parameters(search, context.cohort_filter(search)))
    assert set(dropped) == {"program=xyz", "age=abc", "from=not-a-date", "colour=blue"}
    assert "age range" in dropped["age=abc"] and "date" in dropped["from=not-a-date"]
    notice = str(url_notice(search))
    assert "program=xyz" in notice and "age=abc" in notice


def test_valid_and_canonicalised_parameters_are_not_reported(app_data):
    from callbacks.filter_panel import dropped_parameters, url_notice
    from callbacks import context

    site = app_data.sites[0]
    for search in ("", "?program=diabetes&age=40-65", f"?site={site}", "?age=0-120", "?risk=high",
                   "?from=2025-06-30&to=2024-01-01", "?id=P0000001"):
        assert dropped_parameters(search, context.cohort_filter(search)) == [], search
    assert url_notice("?program=diabetes") is None


def test_chart_selections_in_a_link_are_not_reported_unless_unknown(app_data):
    """variant= and node= are cohort keys of the Journeys/Sankey selection: the notice must not
    call a valid one unknown, and must name one the pathway does not have."""
    from callbacks.filter_panel import dropped_parameters
    from callbacks import context
    from data.analytics.sankey_nodes import node_labels

    node = next(iter(node_labels(context.pathway())))
    search = f"?node={node}"
    assert dropped_parameters(search, context.cohort_filter(search)) == []
    bad = "?node=no-such-node"
    assert [written for written, _ in dropped_parameters(bad, context.cohort_filter(bad))] == ["node=no-such-node"]


def test_the_patient_level_links_are_hidden_from_an_analyst_only(as_user):
    from callbacks.access_scope import Principal
    from components.layout import PATIENT_LEVEL_PAGES

    with as_user(Principal("t-analyst", "analyst", ())):
        analyst = nav_links("/", "")
    with as_user(Principal("t-coordinator", "coordinator", ("North",))):
        coordinator = nav_links("/", "")
    assert len(analyst) == 2 * len(NAV_PAGES) + len(PATIENT_LEVEL_PAGES)
    assert analyst[2 * len(NAV_PAGES):] == tuple({"display": "none"} for _ in PATIENT_LEVEL_PAGES)
    assert coordinator[2 * len(NAV_PAGES):] == tuple({} for _ in PATIENT_LEVEL_PAGES)
