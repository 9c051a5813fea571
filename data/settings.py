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
    # True when CAREPATH_DATA_DIR names the folder: then it is the user's data, only ever
    # read. Otherwise data_dir is the app's own runtime folder, where the synthetic
    # dataset is generated on first run.
    data_dir_configured: bool
    model_dir: Path
    cache_dir: Path
    redis_url: str | None
    host: str
    port: int
    n_patients: int
    seed: int
    as_of: str | None = None  # CAREPATH_AS_OF: the data's as-of date when the folder does not state one
    # CAREPATH_DATABASE_URL: where the outreach log lives (any SQLAlchemy URL, e.g.
    # postgresql+psycopg://user@host/db); default a SQLite file in the runtime folder.
    database_url: str = ""
    # CAREPATH_MAX_REQUEST_BYTES: the largest request body accepted (413 beyond).
    max_request_bytes: int = 1024 * 1024
    # CAREPATH_TRUSTED_HOSTS: comma-separated names the Host header may carry (400 otherwise);
    # "*" switches the check off (behind a proxy that already checks).
    trusted_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    # CAREPATH_ANALYTICS_ENGINE: what computes the Overview and Pathways numbers (data.warehouse):
    # "duckdb" (in-process, default), "pandas" (the reference code), or a connection URL of a
    # warehouse Ibis can reach (e.g. postgresql+psycopg://user@host/db), where the population is kept.
    analytics_engine: str = "duckdb"


def get_settings() -> Settings:
    """Read the settings afresh from the environment (cheap; tests change the env)."""
    var_dir = Path(os.environ.get("CAREPATH_VAR_DIR", PROJECT_ROOT / "var")).resolve()
    configured_data_dir = os.environ.get("CAREPATH_DATA_DIR") or None
    return Settings(
        var_dir=var_dir,
        data_dir=Path(configured_data_dir or var_dir / "data").resolve(),
        data_dir_configured=configured_data_dir is not None,
        model_dir=Path(os.environ.get("CAREPATH_MODEL_DIR", var_dir / "models")).resolve(),
        cache_dir=Path(os.environ.get("CAREPATH_CACHE_DIR", var_dir / "cache")).resolve(),
        redis_url=os.environ.get("REDIS_URL") or None,
        host=os.environ.get("CAREPATH_HOST", "127.0.0.1"),
        port=int(os.environ.get("CAREPATH_PORT", "8050")),
        n_patients=int(os.environ.get("CAREPATH_PATIENTS", "50000")),
        seed=int(os.environ.get("CAREPATH_SEED", "7")),
        as_of=os.environ.get("CAREPATH_AS_OF") or None,
        database_url=os.environ.get("CAREPATH_DATABASE_URL") or f"sqlite:///{var_dir / 'carepath.db'}",
        max_request_bytes=int(os.environ.get("CAREPATH_MAX_REQUEST_BYTES") or 1024 * 1024),
        trusted_hosts=_trusted_hosts(os.environ.get("CAREPATH_TRUSTED_HOSTS"), os.environ.get("CAREPATH_HOST")),
        analytics_engine=(os.environ.get("CAREPATH_ANALYTICS_ENGINE") or "duckdb").strip(),
    )


def _trusted_hosts(text: str | None, bind_host: str | None) -> tuple[str, ...]:
    """The setting's names; by default the loopback names plus the address the server binds
    (CAREPATH_HOST), unless that is a wildcard, which names no host."""
    if text:
        return tuple(name.strip() for name in text.split(",") if name.strip())
    extra = (bind_host,) if bind_host and bind_host not in ("0.0.0.0", "::", *Settings.trusted_hosts) else ()
    return Settings.trusted_hosts + extra
