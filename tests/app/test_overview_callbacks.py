"""Overview callbacks called directly (no browser) on the small generated dataset."""
import dash_bootstrap_components as dbc

from data.cohort_filter import apply_cohort, parse_query
from components import ids
from callbacks.overview import EMPTY_COHORT_MESSAGE, overview_view, update_overview
from data.cohorts import cohort_kpis


def test_whole_population(app_data):
    view = overview_view("")
    frame = app_data.cohort_frame
    kpis = cohort_kpis(frame)
    assert view.message is None
    assert view.patients == f"{len(frame):,}"
    assert view.screening_uptake[0] == f"{kpis.screening_uptake:.1%}"
    assert view.completion_rate[0] == f"{kpis.completion_rate:.1%}"
    assert view.dropout_rate[0] == f"{kpis.dropout_rate:.1%}"
    # Each percentage with its numerator and denominator beneath it.
    resolved = kpis.completed + kpis.dropped_out
    assert view.completion_rate[1].children == f"{kpis.completed:,} of {resolved:,}"
    assert view.dropout_rate[1].children == f"{kpis.dropped_out:,} of {resolved:,}"
    assert view.screening_uptake[1].children == f"{kpis.screened:,} of {kpis.screened + kpis.not_screened:,}"
    assert view.in_progress == f"{kpis.in_progress:,}"
    high = app_data.models.scores["risk_tier"] == "High"
    assert view.high_risk == f"{int(high.sum()):,}"
    assert int(high.sum()) > 0


def test_kpi_patient_count_equals_first_funnel_bar(app_data):
    for query in ("", "?program=diabetes", "?sex=F&age=50-80"):
        view = overview_view(query)
        assert view.patients == f"{view.funnel.data[0].x[0]:,}"


def test_program_filter_changes_the_numbers(app_data):
    for program in ("colorectal", "diabetes", "depression"):
        expected = apply_cohort(app_data.cohort_frame, parse_query(f"?program={program}"))
        view = overview_view(f"?program={program}")
        assert view.patients == f"{len(expected):,}"
        assert 0 < len(expected) < len(app_data.cohort_frame)
        assert sum(view.trend.data[0].y) == len(expected)


def test_empty_cohort_gets_a_friendly_message(app_data):
    view = overview_view("?from=2100-01-01")
    assert isinstance(view.message, dbc.Alert)
    assert view.message.children == EMPTY_COHORT_MESSAGE
    assert view.patients == "0"
    assert view.completion_rate == "—"
    assert view.screening_uptake == "—"
    # The figures explain themselves instead of showing empty axes.
    assert view.funnel.layout.annotations[0].text
    assert view.trend.layout.annotations[0].text


def test_update_overview_returns_one_value_per_output(app_data):
    outputs = update_overview("?program=colorectal")
    assert len(outputs) == 11


def test_kpi_cards_explain_their_denominators():
    from callbacks.overview import kpi_definitions as kpis
    from data.pathway import DEFAULT_PATHWAY

    notes = {value_id: note for _, value_id, note in kpis(DEFAULT_PATHWAY)}
    assert notes[ids.KPI_SCREENING_UPTAKE] == "screened ÷ (screened + not screened, window closed)"
    assert "positive screen patients whose pathway resolved" in notes[ids.KPI_COMPLETION_RATE]
    assert "dropped out at diagnosis, treatment or follow-up" in notes[ids.KPI_DROPOUT_RATE]
    assert "exits and in progress excluded" in notes[ids.KPI_DROPOUT_RATE]


def test_how_these_numbers_relate_reconciles_completion_and_adherence(app_data):
    """Overview's completion rate and Scenarios' adherence were two numbers under one name."""
    from callbacks import context
    from callbacks.overview import open_reconciliation
    from data.cohorts import completion_reconciliation
    from ml.scenarios.levers import ScenarioLevers
    from tests.app.component_text import component_text

    body, is_open = open_reconciliation(1, "?program=colorectal")
    assert is_open is True
    text = component_text(body)
    frame = context.cohort_frame("?program=colorectal")
    counts = completion_reconciliation(frame)
    kpis = cohort_kpis(frame)
    baseline = app_data.scenarios.project(ScenarioLevers(), cohort_ids=frame["patient_id"], with_truth=False)
    for shown in (f"{kpis.completion_rate:.1%}", f"{kpis.screening_uptake:.1%}",
                  f"{baseline['baseline_completion_rate']:.1%}", f"{counts.screened / counts.enrolled:.1%}",
                  f"completed {counts.completed:,} + dropped out {counts.dropped_out:,}"):
        assert shown in text, shown
    assert "Adherence (not lost to follow-up)" in text and "Completion rate" in text
