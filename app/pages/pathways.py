"""Pathways page (placeholder until its slice lands)."""
import dash

from components.cards import coming_soon

dash.register_page(__name__, path="/pathways", name="Pathways", title="CarePath · Pathways", order=1)


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return coming_soon(
        "Pathways",
        "Sankey of stage transitions, time between stages, the bottleneck stage, and "
        "breakdowns by site and payer.",
    )
