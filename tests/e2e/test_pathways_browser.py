"""Pathways page in a real browser: the Sankey, the bottleneck sentence and the
breakdown grids load cleanly and follow the program filter."""
import pytest

from data.cohort_filter import apply_cohort, parse_query
from components import ids
from data.cohorts import bottleneck_text, breakdown, sankey_flows, stage_durations, stage_losses

pytestmark = pytest.mark.e2e

# Patients leaving the Enrolled node of the rendered Sankey (the whole cohort).
SANKEY_ENROLLED = f"""
const graph = document.querySelector('#{ids.SANKEY_GRAPH} .js-plotly-plot');
if (!graph || !graph.data || !graph.data.length || graph.data[0].type !== 'sankey') return null;
const trace = graph.data[0];
const enrolled = trace.node.customdata.indexOf('Enrolled');
return trace.link.source.reduce((sum, s, i) => sum + (s === enrolled ? trace.link.value[i] : 0), 0);
"""


def _expected(app_data, query):
    frame = apply_cohort(app_data.cohort_frame, parse_query(query))
    headline = bottleneck_text(stage_losses(sankey_flows(frame)), stage_durations(frame))
    return len(frame), headline, breakdown(frame, "payer")


def _wait_for_sankey_enrolled(dash_duo, count):
    from dash.testing.wait import until

    until(lambda: dash_duo.driver.execute_script(SANKEY_ENROLLED) == count, timeout=15)


def _open_pathways(dash_duo, dash_app, query=""):
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/pathways']}")
    dash_duo.driver.get(dash_duo.server_url + "/pathways" + query)


def test_pathways_loads_with_sankey_and_bottleneck(dash_duo, dash_app, app_data):
    patients, headline, payers = _expected(app_data, "")
    _open_pathways(dash_duo, dash_app)
    dash_duo.wait_for_contains_text(f"#{ids.BOTTLENECK_TEXT}", headline, timeout=15)
    assert "indicated and resolved" in dash_duo.find_element(f"#{ids.BOTTLENECK_TEXT}").text
    _wait_for_sankey_enrolled(dash_duo, patients)
    dash_duo.wait_for_element(f"#{ids.DURATIONS_GRAPH} .js-plotly-plot")
    dash_duo.wait_for_element(f"#{ids.DURATIONS_TABLE} tbody tr")
    # The payer grid lists the worst dropout rate first.
    dash_duo.wait_for_text_to_equal(
        f"#{ids.BREAKDOWN_PAYER_GRID} .ag-row[row-index='0'] .ag-cell[col-id='group']", payers["group"][0])
    assert len(dash_duo.find_elements(f"#{ids.BREAKDOWN_SITE_GRID} .ag-center-cols-container .ag-row")) > 1
    assert dash_duo.get_logs() == []


def test_program_filter_changes_sankey_and_bottleneck(dash_duo, dash_app, app_data):
    everyone, everyone_headline, _ = _expected(app_data, "")
    _open_pathways(dash_duo, dash_app)
    dash_duo.wait_for_contains_text(f"#{ids.BOTTLENECK_TEXT}", everyone_headline, timeout=15)
    _wait_for_sankey_enrolled(dash_duo, everyone)

    dash_duo.select_dcc_dropdown(f"#{ids.FILTER_PROGRAM}", "Depression")
    patients, headline, _ = _expected(app_data, "?program=depression")
    assert headline != everyone_headline and patients < everyone
    dash_duo.wait_for_contains_text(f"#{ids.BOTTLENECK_TEXT}", headline, timeout=15)
    _wait_for_sankey_enrolled(dash_duo, patients)
    assert dash_duo.get_logs() == []
