"""The error for a value a client sent (a URL, a control, a callback input) that breaks a rule.

Raised by the parsers at the boundary (cohort query, scenario levers and state, patient id,
worklist controls); the web layer answers it with 400 and its message, never a 500.
"""
from __future__ import annotations

import math


class InvalidInput(ValueError):
    """``field`` names the input, the message says the rule it broke, for a person.
    The message never repeats the value itself: it may be huge or carry patient data."""

    def __init__(self, field: str, rule: str):
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def kind(value) -> str:
    """A short name for a JSON value's type, for messages ("a list", "a number")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def text_or_none(value, field: str, max_chars: int):
    """``value`` when it is text (or None) of at most ``max_chars`` characters."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"expected text, got {kind(value)}")
    if len(value) > max_chars:
        raise InvalidInput(field, f"longer than {max_chars:,} characters ({len(value):,})")
    return value


def number_or_none(value, field: str):
    """``value`` when it is a finite number (or None); text and booleans are refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(field, f"expected a number, got {kind(value)}")
    if not math.isfinite(value):
        raise InvalidInput(field, "expected a finite number")
    return value


def list_of_text(value, field: str, max_items: int = 1000, max_chars: int = 200) -> list:
    """``value`` when it is a list (or None) of short texts."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise InvalidInput(field, f"expected a list of text, got {kind(value)}")
    if len(value) > max_items:
        raise InvalidInput(field, f"more than {max_items:,} items")
    for item in value:
        if not isinstance(item, str):
            raise InvalidInput(field, f"expected a list of text, found {kind(item)} in it")
        if len(item) > max_chars:
            raise InvalidInput(field, f"an item is longer than {max_chars:,} characters")
    return value
