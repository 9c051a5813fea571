"""Sign-in settings from the environment (see docs/security.md), and the session secret key."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

SECRET_KEY_FILE = "secret_key"


@dataclass(frozen=True)
class AccessSettings:
    secret_key: str | None  # CAREPATH_SECRET_KEY; else generated once into the runtime folder
    cookie_secure: bool  # CAREPATH_COOKIE_SECURE=1 behind HTTPS
    session_hours: float  # CAREPATH_SESSION_HOURS
    oidc_discovery_url: str | None  # CAREPATH_OIDC_DISCOVERY_URL: .../.well-known/openid-configuration
    oidc_client_id: str | None
    oidc_client_secret: str | None
    oidc_role_claim: str  # the claim holding the role (a string, or a list: the first known role wins)
    oidc_sites_claim: str  # the claim holding a coordinator's sites (a list, or a comma-separated string)
    oidc_username_claim: str

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_discovery_url and self.oidc_client_id)


def access_settings() -> AccessSettings:
    env = os.environ.get
    return AccessSettings(
        secret_key=env("CAREPATH_SECRET_KEY") or None,
        cookie_secure=env("CAREPATH_COOKIE_SECURE", "0").lower() in ("1", "true", "yes"),
        session_hours=float(env("CAREPATH_SESSION_HOURS", "8")),
        oidc_discovery_url=env("CAREPATH_OIDC_DISCOVERY_URL") or None,
        oidc_client_id=env("CAREPATH_OIDC_CLIENT_ID") or None,
        oidc_client_secret=env("CAREPATH_OIDC_CLIENT_SECRET") or None,
        oidc_role_claim=env("CAREPATH_OIDC_ROLE_CLAIM", "carepath_role"),
        oidc_sites_claim=env("CAREPATH_OIDC_SITES_CLAIM", "carepath_sites"),
        oidc_username_claim=env("CAREPATH_OIDC_USERNAME_CLAIM", "preferred_username"),
    )


def secret_key(var_dir: Path, configured: str | None) -> str:
    """The configured key, else the one generated on the first start (file mode 0600).
    Every worker reads the same file, so a session signed by one is valid in the others."""
    if configured:
        return configured
    path = Path(var_dir) / SECRET_KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if key:
            return key
        raise RuntimeError(f"{path} is empty: delete it (every session is then signed out) or set CAREPATH_SECRET_KEY")
    key = secrets.token_hex(32)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key
