"""Fingerprints of the code and pathway definition that shape derived tables and models, so a
cache or registry key changes when a rule changes (not only when the data does)."""
from __future__ import annotations

import hashlib
import importlib
import inspect
from dataclasses import asdict, is_dataclass

# Derived tables (journeys, decision points, cohort frame): the journey rules and the pathway reader.
DERIVATION_MODULES = ("data.journeys", "data.pathway")
# Models and their report: the derivation plus features, labels, learners, calibration,
# evaluation, monitoring reference, ground-truth yardstick, drop-in weights and the benefit model.
MODEL_MODULES = DERIVATION_MODULES + (
    "data.readiness", "ml.features", "ml.risk.models", "ml.risk.training", "ml.risk.calibration", "ml.risk.evaluation",
    "ml.risk.decision_analysis", "ml.monitor", "ml.monitor.drift", "ml.monitor.performance", "ml.risk.oracle",
    "ml.risk.explain", "ml.risk.drivers", "ml.risk.drop_in", "ml.targeting.benefit", "ml.targeting.rows", "ml.targeting.train",
    "ml.sampling", "ml.category_codes", "ml.risk.folds",
)

# The analytics engine's file of the served cohort frame (data.warehouse.engine_file): how the
# frame's columns are derived and stored, and the tables built from them.
ENGINE_FILE_MODULES = DERIVATION_MODULES + (
    "data.cohorts", "data.cohort_filter", "data.analytics.variants", "data.warehouse.tables",
    "data.warehouse.engine_file", "ml.service",
)


def source_fingerprint(modules=MODEL_MODULES) -> str:
    """sha256 over the source text of ``modules`` (by name, so it is importable without them loaded)."""
    digest = hashlib.sha256()
    for name in modules:
        digest.update(name.encode())
        digest.update(inspect.getsource(importlib.import_module(name)).encode())
    return digest.hexdigest()[:20]


def pathway_fingerprint(pathway) -> str:
    """sha256 of the pathway definition's content (stages, results, windows, programs), not of
    where it was read from: the same definition in another folder is the same pathway."""
    content = asdict(pathway) if is_dataclass(pathway) else dict(pathway)
    content.pop("source", None)
    return hashlib.sha256(repr(content).encode()).hexdigest()[:20]
