"""OpenMP threads of the learners wait passively: spinning, they starve on a shared machine."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _spin_counts(code: str, **env) -> list[str]:
    """How long the threads of every OpenMP runtime (libgomp) the code loads spin before they
    sleep, as each reports it when it loads: 0 is passive waiting; libgomp's default without a
    policy is 300000 spins, and it reports that as "PASSIVE" too, hence the spin count."""
    environment = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | {
        "OMP_DISPLAY_ENV": "VERBOSE"} | env
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True,
                            timeout=120, check=True)
    return [line.split("=", 1)[1].strip().strip("'") for line in result.stderr.splitlines()
            if line.strip().startswith("GOMP_SPINCOUNT")]


def test_the_app_and_training_load_openmp_with_passive_waiting():
    """Bug guarded: scikit-learn's OpenMP runtime loaded before the ml package sets the policy
    (e.g. a data module importing sklearn), so its threads spin: a grid of shallow
    gradient-boosting fits took 96-121 s instead of 4-5 s on the loaded 2-core machine."""
    for code in ("import app", "import ml.registry", "import ml.targeting.benefit, ml.risk.drop_in"):
        spins = _spin_counts(code + "; import sklearn.ensemble, lightgbm")
        assert len(spins) == 2, (code, spins)  # scikit-learn's own libgomp and LightGBM's
        assert set(spins) == {"0"}, (code, spins)


def test_a_policy_set_by_the_user_stands():
    assert set(_spin_counts("import ml.registry", OMP_WAIT_POLICY="ACTIVE")) != {"0"}
