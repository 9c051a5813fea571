"""Patient page (placeholder until its slice lands)."""
import dash

from components.cards import coming_soon

dash.register_page(__name__, path="/patient", name="Patient", title="CarePath · Patient", order=4)


def layout(**_query):  # Dash Pages passes the URL's query parameters; the filter panel reads them
    return coming_soon(
        "Patient",
        "One patient's journey timeline, risk and its drivers, and how long they have "
        "been waiting compared with the cohort.",
    )
