"""The Pathways Sankey in a real browser at 1440×900: every node stays inside the plot
after an in-page update (a filter change, Reset), and no two node labels overlap."""
import pytest
from dash.testing.wait import until

from components import ids

pytestmark = pytest.mark.e2e

# Node rectangles and label boxes of the rendered Sankey, and the plot area they must lie in,
# all in page pixels.
SANKEY_GEOMETRY = f"""
const graph = document.querySelector('#{ids.SANKEY_GRAPH} .js-plotly-plot');
if (!graph || !graph._fullLayout || !graph.data || !graph.data.length || graph.data[0].type !== 'sankey') return null;
const svg = graph.querySelector('.main-svg').getBoundingClientRect();
// What the reader sees: plotly's plot area, cut to the graph's box on the page.
const shown = document.getElementById('{ids.SANKEY_GRAPH}').getBoundingClientRect();
const size = graph._fullLayout._size;
const box = (r) => ({{left: r.left, top: r.top, right: r.right, bottom: r.bottom}});
const nodes = Array.from(graph.querySelectorAll('.sankey-node'));
return {{
  plot: {{left: Math.max(shown.left, svg.left + size.l), top: Math.max(shown.top, svg.top + size.t),
          right: Math.min(shown.right, svg.left + size.l + size.w),
          bottom: Math.min(shown.bottom, svg.top + size.t + size.h)}},
  nodes: nodes.map((n) => ({{label: (n.querySelector('.node-label') || {{}}).textContent || '',
                             rect: box(n.querySelector('.node-rect').getBoundingClientRect()),
                             text: n.querySelector('.node-label') ?
                                   box(n.querySelector('.node-label').getBoundingClientRect()) : null}})),
  // Labels drawn as annotations beside the nodes, if the figure uses them.
  annotations: Array.from(graph.querySelectorAll('.annotation')).map((a) => ({{
    label: a.textContent, text: box(a.querySelector('.annotation-text-g').getBoundingClientRect())}})),
  names: graph.data[0].node.customdata,
  enrolled: (() => {{
    const trace = graph.data[0];
    const at = trace.node.customdata.indexOf('Enrolled');
    return trace.link.source.reduce((sum, s, i) => sum + (s === at ? trace.link.value[i] : 0), 0);
  }})(),
}};
"""
TOLERANCE_PX = 1.0


def _geometry(dash_duo):
    return dash_duo.driver.execute_script(SANKEY_GEOMETRY)


def _outside(geometry) -> list[str]:
    plot = geometry["plot"]
    return [node["label"] for node in geometry["nodes"]
            if node["rect"]["top"] < plot["top"] - TOLERANCE_PX or node["rect"]["bottom"] > plot["bottom"] + TOLERANCE_PX
            or node["rect"]["left"] < plot["left"] - TOLERANCE_PX or node["rect"]["right"] > plot["right"] + TOLERANCE_PX]


def _labels(geometry) -> list[dict]:
    """Every visible node label: plotly's own, or annotations; every node must have one."""
    labels = [node for node in geometry["nodes"] if node["text"] and node["label"].strip()]
    labels += [a for a in geometry["annotations"] if a["label"].strip()]
    def squeezed(text):  # wrapped labels lose the space at the line break in textContent
        return "".join(text.split())

    unlabelled = [name for name in geometry["names"]
                  if not any(squeezed(label["label"]).startswith(squeezed(name)) for label in labels)]
    assert unlabelled == [], "nodes without a visible label"
    return labels


def _overlapping_labels(geometry) -> list[tuple[str, str]]:
    labels = _labels(geometry)
    pairs = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            ra, rb = a["text"], b["text"]
            if (min(ra["right"], rb["right"]) - max(ra["left"], rb["left"]) > TOLERANCE_PX
                    and min(ra["bottom"], rb["bottom"]) - max(ra["top"], rb["top"]) > TOLERANCE_PX):
                pairs.append((a["label"], b["label"]))
    return pairs


def _open_pathways(dash_duo, dash_app, query=""):
    dash_duo.start_server(dash_app)
    dash_duo.driver.set_window_size(1440, 900)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/pathways']}")
    dash_duo.driver.get(dash_duo.server_url + "/pathways" + query)


def _wait_for_enrolled(dash_duo, count):
    until(lambda: (_geometry(dash_duo) or {}).get("enrolled") == count, timeout=20)
    # Plotly animates the Sankey's transition; wait until the nodes stop moving.
    previous = None
    for _ in range(40):
        current = _geometry(dash_duo)
        if current == previous:
            return current
        previous = current
        dash_duo.driver.execute_script("return new Promise((r) => setTimeout(r, 150));")
    return previous


def test_sankey_nodes_stay_inside_the_plot_after_filter_changes_and_reset(dash_duo, dash_app, app_data):
    everyone = len(app_data.cohort_frame)
    _open_pathways(dash_duo, dash_app)
    geometry = _wait_for_enrolled(dash_duo, everyone)
    assert _outside(geometry) == []

    dash_duo.select_dcc_dropdown(f"#{ids.FILTER_PROGRAM}", "Depression")
    depression = int((app_data.cohort_frame["program"].astype(str) == "depression").sum())
    geometry = _wait_for_enrolled(dash_duo, depression)
    assert _outside(geometry) == [], geometry["plot"]

    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ids.FILTER_RESET}"))
    geometry = _wait_for_enrolled(dash_duo, everyone)
    assert _outside(geometry) == [], geometry["plot"]
    assert dash_duo.get_logs() == []


def test_sankey_nodes_stay_inside_when_arriving_with_filters(dash_duo, dash_app, app_data):
    _open_pathways(dash_duo, dash_app)
    _wait_for_enrolled(dash_duo, len(app_data.cohort_frame))
    # Arriving from another page with a filter set: the nav link carries the query, no reload.
    dash_duo.driver.get(dash_duo.server_url + "/?program=colorectal")
    dash_duo.wait_for_element(f"#{ids.KPI_PATIENTS}")
    colorectal = int((app_data.cohort_frame["program"].astype(str) == "colorectal").sum())
    dash_duo.driver.execute_script("arguments[0].click();", dash_duo.find_element(f"#{ids.NAV_LINKS['/pathways']}"))
    geometry = _wait_for_enrolled(dash_duo, colorectal)
    assert _outside(geometry) == [], geometry["plot"]
    assert dash_duo.get_logs() == []


def test_no_two_sankey_labels_overlap(dash_duo, dash_app, app_data):
    _open_pathways(dash_duo, dash_app)
    geometry = _wait_for_enrolled(dash_duo, len(app_data.cohort_frame))
    assert _overlapping_labels(geometry) == []
    dash_duo.select_dcc_dropdown(f"#{ids.FILTER_PROGRAM}", "Depression")
    depression = int((app_data.cohort_frame["program"].astype(str) == "depression").sum())
    geometry = _wait_for_enrolled(dash_duo, depression)
    assert _overlapping_labels(geometry) == []
    assert dash_duo.get_logs() == []
