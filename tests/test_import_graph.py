"""The synthetic world is a leaf: nothing on the path a user's own data takes imports it.

A regression here (say, journeys importing the generator's parameters for a stage list)
would make user data depend on the simulator and its assumptions.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Modules that may import the synthetic world at module level: the generator CLI only.
ALLOWED_TOP_LEVEL = {"data/generate.py"}
USER_PATH_MODULES = ["app", "data.io", "data.ingest", "data.ingest.__main__", "data.validate", "data.validation", "data.journeys",
                     "data.cohorts", "data.cohort_filter", "data.store", "ml.risk.training", "ml.registry",
                     "ml.scenarios.engine", "ml.cli.score", "ml.cli.train", "callbacks.context"]


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:  # module level only: a late import inside a function is a deliberate gate
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_module_outside_the_synthetic_package_imports_it_at_module_level():
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(("data/synthetic/", "tests/", "bench/", ".venv/")) or relative in ALLOWED_TOP_LEVEL:
            continue
        if any(name == "data.synthetic" or name.startswith("data.synthetic.") for name in _top_level_imports(path)):
            offenders.append(relative)
    assert offenders == []


def test_importing_the_user_data_path_does_not_load_the_synthetic_world():
    modules = USER_PATH_MODULES
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('data.synthetic'))\n"
            "print(','.join(loaded))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_synthetic_package_has_no_import_cycle_between_generator_and_ground_truth():
    generator = _top_level_imports(ROOT / "data/synthetic/generator.py")
    ground_truth = _top_level_imports(ROOT / "data/synthetic/ground_truth.py")
    assert "data.synthetic.ground_truth" not in generator
    source = (ROOT / "data/synthetic/generator.py").read_text(encoding="utf-8")
    assert "ground_truth" not in source.split('"""', 2)[-1] or "import" not in [
        line.split()[0] for line in source.splitlines() if "ground_truth" in line and line.strip()]
    assert "data.synthetic.generator" in ground_truth  # the dependency runs one way only
