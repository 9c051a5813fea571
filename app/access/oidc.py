"""OpenID Connect sign-in (authlib), used when CAREPATH_OIDC_DISCOVERY_URL and _CLIENT_ID are set.

The provider's ID token (or user-info) claims give the user name, the role
(CAREPATH_OIDC_ROLE_CLAIM) and a coordinator's sites (CAREPATH_OIDC_SITES_CLAIM). A user
whose claims name no known role is refused. The user is stored (without a password) so the
audit trail and token issuing work as for built-in users.
"""
from __future__ import annotations

from flask import Response, redirect, request, session, url_for

from app.access.gate import safe_next
from callbacks.access_scope import ADMIN, ANALYST, COORDINATOR
from database.users import UserInputError

KNOWN_ROLES = (ADMIN, COORDINATOR, ANALYST)


def role_from_claims(claims: dict, role_claim: str) -> str | None:
    """The claim's role; from a list of roles (e.g. groups) the most privileged known one."""
    value = claims.get(role_claim)
    values = value if isinstance(value, (list, tuple)) else [value]
    named = {str(v).strip().lower() for v in values if v is not None}
    return next((role for role in KNOWN_ROLES if role in named), None)


def sites_from_claims(claims: dict, sites_claim: str) -> tuple[str, ...]:
    value = claims.get(sites_claim) or ()
    if isinstance(value, str):
        value = value.split(",")
    return tuple(s.strip() for s in value if str(s).strip())


class OidcSignIn:
    def __init__(self, server, access):
        from authlib.integrations.flask_client import OAuth

        self.access = access
        self.oauth = OAuth(server)
        self.client = self.oauth.register(
            "carepath_oidc", server_metadata_url=access.oidc_discovery_url, client_id=access.oidc_client_id,
            client_secret=access.oidc_client_secret, client_kwargs={"scope": "openid profile email"})

    def add_routes(self, views, store) -> None:
        from app.access.views import start_session

        @views.get("/auth/oidc/start")
        def oidc_start():
            session["oidc_next"] = safe_next(request.args.get("next"))
            return self.client.authorize_redirect(url_for("carepath_access.oidc_callback", _external=True))

        @views.get("/auth/oidc/callback")
        def oidc_callback():
            try:
                token = self.client.authorize_access_token()
            except Exception as error:  # noqa: BLE001 - authlib raises many types for a bad or replayed response
                return Response(f"Sign-in with your organisation failed: {type(error).__name__}.\n", status=401,
                                mimetype="text/plain")
            claims = dict(token.get("userinfo") or {})
            username = str(claims.get(self.access.oidc_username_claim) or claims.get("sub") or "")
            role = role_from_claims(claims, self.access.oidc_role_claim)
            if not username or role is None:
                return Response(f"Your organisation's account carries no CarePath role (claim "
                                f"'{self.access.oidc_role_claim}'): ask an administrator.\n", status=403,
                                mimetype="text/plain")
            sites = sites_from_claims(claims, self.access.oidc_sites_claim) if role == COORDINATOR else ()
            try:
                user = store.get().users.upsert_external(username, role, sites)
            except UserInputError as error:
                return Response(f"Your account cannot be used here: {error}.\n", status=403, mimetype="text/plain")
            if not user.active:
                return Response("This account is deactivated in CarePath.\n", status=403, mimetype="text/plain")
            target = session.pop("oidc_next", "/")
            start_session(user.id, "oidc")
            return redirect(target)
