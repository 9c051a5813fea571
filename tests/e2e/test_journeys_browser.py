"""Journeys and Quality pages in a real browser: both open cleanly from the nav, and a click
on a journey variant (or a Sankey node) filters every page to its patients, shown as a
removable chip and kept in the URL."""
from urllib.parse import parse_qs, urlparse

import pytest
from dash.testing.wait import until

from callbacks import context
from components import ids

pytestmark = pytest.mark.e2e

GRID = f"#{ids.JOURNEYS_VARIANTS_GRID}"


def _row_cell(key: str, column: str) -> str:
    return f"{GRID} .ag-center-cols-container .ag-row[row-id='{key}'] .ag-cell[col-id='{column}']"


def _open(dash_duo, dash_app, path, query=""):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1440, 900)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS[path]}")
    dash_duo.driver.get(dash_duo.server_url + path + query)


def _click(dash_duo, selector: str) -> None:
    element = dash_duo.wait_for_element(selector, timeout=20)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", element)
    element.click()


def _query(dash_duo) -> dict:
    return parse_qs(urlparse(dash_duo.driver.current_url).query)


def test_journeys_page_opens_with_curves_risk_table_and_variants(dash_duo, dash_app, app_data):
    _open(dash_duo, dash_app, "/journeys")
    dash_duo.wait_for_element(f"#{ids.JOURNEYS_INCIDENCE_GRAPH} .js-plotly-plot", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.JOURNEYS_RISK_TABLE}", "At risk", timeout=20)
    dash_duo.wait_for_element(f"{GRID} .ag-center-cols-container .ag-row", timeout=20)
    assert dash_duo.find_element(f"#{ids.NAV_LINKS['/journeys']}").get_attribute("class").count("active")
    assert dash_duo.get_logs() == []


def test_quality_page_opens_with_the_colorectal_measure(dash_duo, dash_app, app_data):
    _open(dash_duo, dash_app, "/quality")
    dash_duo.wait_for_contains_text(f"#{ids.QUALITY_SUMMARY}", "Wilson", timeout=20)
    dash_duo.wait_for_contains_text(f"#{ids.QUALITY_DEFINITION}", "180", timeout=20)
    dash_duo.wait_for_element(f"#{ids.QUALITY_SITE_TABLE} tbody tr")
    dash_duo.wait_for_element(f"#{ids.QUALITY_TREND_GRAPH} .js-plotly-plot")
    assert dash_duo.get_logs() == []


def test_clicking_a_variant_filters_every_page_and_the_chip_removes_it(dash_duo, dash_app, app_data):
    _open(dash_duo, dash_app, "/journeys")
    dash_duo.wait_for_contains_text(f"#{ids.JOURNEYS_RISK_TABLE}", "At risk", timeout=20)  # the page has its height
    key = "screening.negative"  # a common variant in every generated dataset
    expected = len(context.cohort_frame(f"?variant={key}"))
    assert 0 < expected < len(app_data.cohort_frame)
    _click(dash_duo, _row_cell(key, "label"))

    dash_duo.wait_for_contains_text(f"#{ids.FILTER_CHIPS}", "Journey variant", timeout=15)
    until(lambda: _query(dash_duo).get("variant") == [key], timeout=15)
    # The variants table now holds the selected variant's patients only.
    dash_duo.wait_for_text_to_equal(_row_cell(key, "patients"), f"{expected:,}", timeout=15)
    until(lambda: len(dash_duo.find_elements(f"{GRID} .ag-center-cols-container .ag-row")) == 1, timeout=15)

    # Another page keeps the selection: the Overview counts the same patients.
    _click(dash_duo, f"#{ids.NAV_LINKS['/']}")
    dash_duo.wait_for_text_to_equal(f"#{ids.KPI_PATIENTS}", f"{expected:,}", timeout=20)
    assert _query(dash_duo).get("variant") == [key]

    _click(dash_duo, f"#{ids.FILTER_CHIPS} .filter-chip-remove")
    dash_duo.wait_for_text_to_equal(f"#{ids.KPI_PATIENTS}", f"{len(app_data.cohort_frame):,}", timeout=20)
    until(lambda: "variant" not in _query(dash_duo), timeout=15)
    assert dash_duo.get_logs() == []


def test_clicking_a_sankey_node_filters_to_its_patients(dash_duo, dash_app, app_data):
    _open(dash_duo, dash_app, "/pathways")
    dash_duo.wait_for_element(f"#{ids.SANKEY_GRAPH} .sankey-node", timeout=20)
    expected = len(context.cohort_frame("?node=positive-screen"))
    # Plotly draws each node as a g.sankey-node; its name rides in customdata (the visible
    # labels are annotations beside the nodes): find the "Positive screen" node by its datum.
    clicked = dash_duo.driver.execute_script(f"""
        const nodes = document.querySelectorAll('#{ids.SANKEY_GRAPH} .sankey-node');
        for (const node of nodes) {{
            const datum = node.__data__ && node.__data__.node;
            const name = datum ? String(datum.customdata || datum.label || '') : '';
            if (name.startsWith('Positive screen')) {{
                const rect = node.querySelector('.node-rect');
                rect.dispatchEvent(new MouseEvent('mouseover', {{bubbles: true}}));
                rect.dispatchEvent(new MouseEvent('click', {{bubbles: true}}));
                return true;
            }}
        }}
        return false;
    """)
    assert clicked
    dash_duo.wait_for_contains_text(f"#{ids.FILTER_CHIPS}", "Positive screen", timeout=15)
    until(lambda: _query(dash_duo).get("node") == ["positive-screen"], timeout=15)
    _click(dash_duo, f"#{ids.NAV_LINKS['/']}")
    dash_duo.wait_for_text_to_equal(f"#{ids.KPI_PATIENTS}", f"{expected:,}", timeout=20)
    assert dash_duo.get_logs() == []
