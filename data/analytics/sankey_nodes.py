"""Selecting the patients behind a node of the pathway Sankey (data.cohorts.sankey_layout).

A node is named in a URL by a slug of its label ("not-screened-dropped-out"); the patients
"through" a node are those whose path from Enrolled to their terminal node passes it.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from data.cohorts import sankey_layout
from data.pathway import DEFAULT_PATHWAY, Pathway


def node_slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(label).lower()).strip("-")


def node_labels(pathway: Pathway = DEFAULT_PATHWAY) -> dict[str, str]:
    """slug -> node label, for every node of the pathway's Sankey."""
    layout = sankey_layout(pathway)
    nodes = dict.fromkeys(node for path in layout.paths.values() for node in path)
    return {node_slug(node): node for node in nodes}


def node_from_click(point: dict | None, pathway: Pathway = DEFAULT_PATHWAY) -> str | None:
    """The slug of the node a Plotly Sankey click hit (its customdata, or its label before
    " · count"), or None for a click on a link or on nothing the pathway knows."""
    if not isinstance(point, dict) or "source" in point or "target" in point:
        return None  # a link, not a node
    known = node_labels(pathway)
    for candidate in (point.get("customdata"), str(point.get("label", "")).split(" · ")[0]):
        if isinstance(candidate, str) and node_slug(candidate) in known:
            return node_slug(candidate)
    return None


def through_node(frame: pd.DataFrame, slug: str, pathway: Pathway = DEFAULT_PATHWAY) -> pd.Series:
    """Whether each patient's Sankey path passes the node named by ``slug``."""
    label = node_labels(pathway).get(slug)
    pairs = [key for key, path in sankey_layout(pathway).paths.items() if label in path]
    # Pair by pair on the two columns: a MultiIndex of a million (status, stage) keys took 0.4 s.
    status, stage = frame["status"].to_numpy(dtype=object), frame["status_stage"].to_numpy(dtype=object)
    through = np.zeros(len(frame), dtype=bool)
    for pair_status, pair_stage in pairs:
        through |= (status == pair_status) & (stage == pair_stage)
    return pd.Series(through, index=frame.index)
