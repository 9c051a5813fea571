"""Worklist page (placeholder until its slice lands)."""
import dash

from components.cards import coming_soon

dash.register_page(__name__, path="/worklist", name="Worklist", title="CarePath · Worklist", order=3)


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return coming_soon(
        "Worklist",
        "Active patients ranked by calibrated dropout risk, with their top drivers and "
        "days waiting, exportable to CSV.",
    )
