"""Runtime configuration read from the environment, with defaults that work out of the box.

Everything the app writes at run time lives under ``CAREPATH_VAR_DIR`` (git-ignored),
never in the source tree.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    var_dir: Path
    data_dir: Path
    model_dir: Path
    cache_dir: Path
    redis_url: str | None
    host: str
    port: int
    n_patients: int
    seed: int


def get_settings() -> Settings:
    """Read the settings afresh from the environment (cheap; tests change the env)."""
    var_dir = Path(os.environ.get("CAREPATH_VAR_DIR", PROJECT_ROOT / "var")).resolve()
    return Settings(
        var_dir=var_dir,
        data_dir=Path(os.environ.get("CAREPATH_DATA_DIR", var_dir / "data")).resolve(),
        model_dir=Path(os.environ.get("CAREPATH_MODEL_DIR", var_dir / "models")).resolve(),
        cache_dir=Path(os.environ.get("CAREPATH_CACHE_DIR", var_dir / "cache")).resolve(),
        redis_url=os.environ.get("REDIS_URL") or None,
        host=os.environ.get("CAREPATH_HOST", "127.0.0.1"),
        port=int(os.environ.get("CAREPATH_PORT", "8050")),
        n_patients=int(os.environ.get("CAREPATH_PATIENTS", "50000")),
        seed=int(os.environ.get("CAREPATH_SEED", "7")),
    )
