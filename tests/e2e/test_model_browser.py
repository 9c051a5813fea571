"""Model page in a real browser: both models' metrics, the ROC and calibration curves and the
subgroup grid load cleanly, and the model selector switches the grid."""
import pytest

from components import ids
from ml.risk.models import MODEL_LABELS, MODEL_NAMES

pytestmark = pytest.mark.e2e

ROC_TRACES = f"""
const graph = document.querySelector('#{ids.MODEL_ROC_GRAPH} .js-plotly-plot');
return graph && graph.data ? graph.data.length : null;
"""


def test_model_page_shows_both_models_and_curves(dash_duo, dash_app, app_data):
    from dash.testing.wait import until

    report = app_data.models.report
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/model']}")
    dash_duo.driver.get(dash_duo.server_url + "/model")
    for name in MODEL_NAMES:
        dash_duo.wait_for_contains_text(f"#{ids.MODEL_COMPARISON}", f"{report['models'][name]['roc_auc']:.3f}",
                                        timeout=15)
    until(lambda: dash_duo.driver.execute_script(ROC_TRACES) == 3, timeout=15)
    dash_duo.wait_for_element(f"#{ids.MODEL_CALIBRATION_GRAPH} .js-plotly-plot")
    dash_duo.wait_for_element(f"#{ids.MODEL_COEFFICIENTS} tbody tr")
    assert "do not retrain" in dash_duo.find_element(".scope-note").text

    primary = report["primary_model"]
    other = next(name for name in MODEL_NAMES if name != primary)
    first = report["models"][primary]["subgroups"][0]["roc_auc"]
    dash_duo.wait_for_text_to_equal(
        f"#{ids.MODEL_SUBGROUP_GRID} .ag-row[row-index='0'] .ag-cell[col-id='roc_auc']", f"{first:.3f}", timeout=15)
    labels = dash_duo.find_elements(f"#{ids.MODEL_SUBGROUP_MODEL} label")
    label = next(label for label in labels if label.text == MODEL_LABELS[other])
    # A script click: in the narrow test window the sticky filter panel can cover the radio.
    dash_duo.driver.execute_script("arguments[0].click();", label)
    dash_duo.wait_for_text_to_equal(
        f"#{ids.MODEL_SUBGROUP_GRID} .ag-row[row-index='0'] .ag-cell[col-id='roc_auc']",
        f"{report['models'][other]['subgroups'][0]['roc_auc']:.3f}", timeout=15)
    assert dash_duo.get_logs() == []


DECISION_TRACES = f"""
const graph = document.querySelector('#{ids.MODEL_DECISION_CURVE_GRAPH} .js-plotly-plot');
return graph && graph.data ? graph.data.length : null;
"""


def test_model_page_leads_with_the_decision_day_and_shows_decisions_and_monitoring(dash_duo, dash_app, app_data):
    from dash.testing.wait import until

    report = app_data.models.report
    day = report["models"][report["primary_model"]]["decision_day"]
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(f"#{ids.NAV_LINKS['/model']}")
    dash_duo.driver.get(dash_duo.server_url + "/model")
    dash_duo.wait_for_contains_text(f"#{ids.MODEL_HEADLINE}", f"{day['roc_auc']:.3f}", timeout=15)
    assert "DECISION-DAY ROC-AUC" in dash_duo.find_element(f"#{ids.MODEL_HEADLINE}").text.upper()  # CSS capitals
    # the headline comes before the comparison table on the page
    order = dash_duo.driver.execute_script(
        f"return document.getElementById('{ids.MODEL_HEADLINE}').compareDocumentPosition("
        f"document.getElementById('{ids.MODEL_COMPARISON}'));")
    assert order & 4  # DOCUMENT_POSITION_FOLLOWING
    dash_duo.wait_for_element(f"#{ids.MODEL_HORIZON} tbody tr")
    dash_duo.wait_for_element(f"#{ids.MODEL_CALIBRATION_SET} tbody tr[data-model='{report['primary_model']}']")
    # calls in the small data's history are handled as drop-in: calibration is against the uncalled
    dash_duo.wait_for_contains_text(f"#{ids.MODEL_CALIBRATION_CAPTION}", "no one called", timeout=10)
    assert "no one called" in dash_duo.find_element(f"#{ids.MODEL_CALIBRATION_SET} .calibration-denominator").text
    until(lambda: (dash_duo.driver.execute_script(DECISION_TRACES) or 0) >= 4, timeout=15)
    dash_duo.wait_for_element(f"#{ids.MODEL_CAPACITY} tbody tr[data-ranking='random']")
    dash_duo.wait_for_element(f"#{ids.MODEL_MONITORING} .drift-table tbody tr")
    dash_duo.wait_for_element(f"#{ids.MODEL_MONITORING_GRAPH} .js-plotly-plot")
    assert dash_duo.get_logs() == []
