"""Read the visible text of a Dash component tree in callback tests."""
from __future__ import annotations


def component_text(component) -> str:
    """All the text under a Dash component (or a list of them)."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(component_text(child) for child in component)
    return component_text(getattr(component, "children", None))
