"""The Patient page's pure figure builders on tiny frames."""
import pandas as pd

from components.figures import (RISK_DOWN_COLOUR, RISK_UP_COLOUR, journey_timeline_figure,
                                risk_drivers_figure)


def test_drivers_waterfall_runs_from_typical_to_patient():
    drivers = pd.DataFrame({"label": ["Date passed", "Uses the portal", "All other factors (3)"],
                            "contribution": [0.20, -0.05, 0.03]})
    fig = risk_drivers_figure(drivers, reference_risk=0.40, risk=0.58)
    (trace,) = fig.data
    assert list(trace.y) == ["Typical patient", *drivers["label"], "This patient"]
    assert list(trace.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert list(trace.text) == ["40%", "+20.0 pts", "−5.0 pts", "+3.0 pts", "58%"]
    assert trace.increasing.marker.color == RISK_UP_COLOUR and trace.decreasing.marker.color == RISK_DOWN_COLOUR
    assert fig.layout.yaxis.autorange == "reversed"


def test_timeline_marks_events_booking_window_and_as_of():
    events = pd.DataFrame({"row": ["Enrolled", "Stool test"],
                           "date": pd.to_datetime(["2026-01-02", "2026-02-03"]),
                           "detail": ["Enrolled", "Stool test: positive"]})
    fig = journey_timeline_figure(["Enrolled", "Stool test", "Colonoscopy"], events, pd.Timestamp("2026-03-31"),
                                  booked={"row": "Colonoscopy", "date": pd.Timestamp("2026-03-01"), "passed": True,
                                          "detail": "booked"},
                                  window_closes={"date": pd.Timestamp("2026-08-02"), "label": "Window closes"})
    happened, booked = fig.data
    assert list(happened.x) == ["2026-01-02", "2026-02-03"] and booked.y == ("Colonoscopy",)
    assert [s.x0 for s in fig.layout.shapes] == ["2026-08-02", "2026-03-31"]
    window, as_of = fig.layout.annotations
    assert (window.text, as_of.text) == ("Window closes", "Data as of 31 Mar 2026")
    # An open window's label sits right of its line, the as-of label left of its own: no overlap.
    assert window.xanchor == "left" and as_of.xanchor == "right"
    assert [trace.name for trace in fig.data] == ["Happened", "Booked"]


def test_timeline_without_booking_or_window():
    events = pd.DataFrame({"row": ["Enrolled"], "date": [pd.Timestamp("2026-01-02")], "detail": ["Enrolled"]})
    fig = journey_timeline_figure(["Enrolled", "PHQ screen"], events, pd.Timestamp("2026-03-31"))
    assert len(fig.data) == 1 and len(fig.layout.shapes) == 1
