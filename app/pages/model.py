"""Model page (placeholder until its slice lands)."""
import dash

from components.cards import coming_soon

dash.register_page(__name__, path="/model", name="Model", title="CarePath · Model", order=2)


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return coming_soon(
        "Model",
        "Both dropout-risk models side by side: discrimination, calibration, feature "
        "importance and fairness by subgroup.",
    )
