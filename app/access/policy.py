"""Which requests need which role: public paths, patient-level pages and callback outputs, admin ones.

Checked for every request before Flask or Dash handles it (app.access.gate), so a callback
answering with patient-level data is refused at the dispatch, with 403 and nothing else.
"""
from __future__ import annotations

import json
import re

from components import ids
from components.layout import PATIENT_LEVEL_PAGES

# Reachable without signing in: the sign-in itself, the health check, static files.
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/favicon.ico", "/_favicon.ico", "/auth/oidc/start",
                          "/auth/oidc/callback"})
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
# Answered with 401 (not a redirect to the sign-in page) when nobody is signed in.
MACHINE_PREFIXES = ("/_dash-", "/api/")

ADMIN_PAGES = ("/admin",)

# Outputs of callbacks that answer with patient-level data (or write it).
PATIENT_LEVEL_OUTPUTS = frozenset({
    ids.WORKLIST_MESSAGE, ids.WORKLIST_BODY, ids.WORKLIST_SUMMARY, ids.WORKLIST_GRID, ids.WORKLIST_DOWNLOAD,
    ids.WORKLIST_EXPORT_NOTE,
    ids.OUTREACH_PATIENT, ids.OUTREACH_SAVE, ids.OUTREACH_ASSIGN, ids.OUTREACH_FEEDBACK, ids.WORKLIST_REFRESH,
    ids.TEAM_SUMMARY_GRID,
    ids.PATIENT_MESSAGE, ids.PATIENT_DETAILS, ids.PATIENT_HEADER, ids.PATIENT_RISK, ids.PATIENT_DRIVERS_GRAPH,
    ids.PATIENT_DRIVERS_LIST, ids.PATIENT_TIMELINE_GRAPH, ids.PATIENT_ATTRIBUTES,
})
ADMIN_OUTPUTS = frozenset({ids.AUDIT_GRID, ids.AUDIT_SUMMARY, ids.ADMIN_MODELS_CURRENT, ids.ADMIN_RETRAIN_RESULT})

_OUTPUT_ID = re.compile(r"(?:^|\.\.)([A-Za-z0-9_-]+)\.[A-Za-z_]+")


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_machine(path: str) -> bool:
    return path.startswith(MACHINE_PREFIXES)


def output_ids(body) -> set[str]:
    """The component ids a /_dash-update-component request asks for (pattern-matching ids by their type)."""
    if not isinstance(body, dict):
        return set()
    found = set()
    outputs = body.get("outputs")
    for item in outputs if isinstance(outputs, list) else [outputs]:
        if isinstance(item, dict):
            component = item.get("id")
            if isinstance(component, dict):
                found.add(str(component.get("type")))
            elif component is not None:
                found.add(str(component))
    output = body.get("output")
    if isinstance(output, str):
        found.update(_OUTPUT_ID.findall(output))
        for part in re.findall(r"\{[^{}]*\}", output):  # pattern-matching ids are JSON in the output string
            try:
                found.add(str(json.loads(part).get("type")))
            except (ValueError, AttributeError):
                continue
    return found


def page_needs(path: str) -> str | None:
    """'patient' or 'admin' for a page that shows only such data, else None."""
    if any(path == p or path.startswith(p + "/") for p in ADMIN_PAGES):
        return "admin"
    if any(path == p or path.startswith(p + "/") for p in PATIENT_LEVEL_PAGES):
        return "patient"
    return None


def callback_needs(body) -> str | None:
    requested = output_ids(body)
    if requested & ADMIN_OUTPUTS:
        return "admin"
    if requested & PATIENT_LEVEL_OUTPUTS:
        return "patient"
    return None
