"""OpenID Connect sign-in (app/access/oidc.py) against an in-process fake provider on loopback:
discovery, the authorisation-code round trip, a signed ID token checked against the provider's
keys, and the role claim mapped to a CarePath role."""
from __future__ import annotations

import threading
import time
import urllib.parse
import uuid

import pytest
import requests
from flask import Flask, jsonify, redirect, request
from werkzeug.serving import make_server

from app.access.settings import AccessSettings
from scripts.local_server import free_port

CLIENT_ID, CLIENT_SECRET = "carepath-test", "provider-secret"


class FakeProvider:
    """Just enough of an OpenID provider: discovery, authorize (auto-approves), token, JWKS."""

    def __init__(self, claims: dict):
        from joserfc.jwk import RSAKey

        self.claims = claims
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.codes: dict[str, str] = {}  # code -> nonce
        app = Flask("fake-oidc")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(issuer=self.issuer, authorization_endpoint=f"{self.issuer}/authorize",
                           token_endpoint=f"{self.issuer}/token", jwks_uri=f"{self.issuer}/jwks",
                           response_types_supported=["code"], subject_types_supported=["public"],
                           id_token_signing_alg_values_supported=["RS256"])

        @app.get("/authorize")
        def authorize():
            assert request.args["client_id"] == CLIENT_ID and request.args["response_type"] == "code"
            code = uuid.uuid4().hex
            self.codes[code] = request.args.get("nonce")
            query = urllib.parse.urlencode({"code": code, "state": request.args["state"]})
            return redirect(f"{request.args['redirect_uri']}?{query}")

        @app.post("/token")
        def token():
            from joserfc import jwt

            nonce = self.codes.pop(request.form["code"])
            now = int(time.time())
            id_token = jwt.encode({"alg": "RS256", "kid": "k1"},
                                  {"iss": self.issuer, "aud": CLIENT_ID, "sub": "u-123", "iat": now, "exp": now + 300,
                                   "nonce": nonce, **self.claims}, self.key)
            return jsonify(access_token="at-" + uuid.uuid4().hex, token_type="Bearer", expires_in=300,
                           id_token=id_token)

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        self.server = make_server("127.0.0.1", self.port, app)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.server.shutdown()


class _Store:
    def __init__(self, store):
        self.store = store

    def get(self, raise_error=True):
        return self.store


def _client_app(provider, tmp_path):
    from app.access.oidc import OidcSignIn
    from app.access.ratelimit import SignInLimiter
    from app.access.store import open_store
    from app.access.views import make_blueprint

    settings = AccessSettings(secret_key="k", cookie_secure=False, session_hours=1,
                              oidc_discovery_url=f"{provider.issuer}/.well-known/openid-configuration",
                              oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
                              oidc_role_claim="groups", oidc_sites_claim="carepath_sites",
                              oidc_username_claim="preferred_username")
    server = Flask("carepath-oidc-test")
    server.config["SECRET_KEY"] = "test-secret"
    store = open_store(url=f"sqlite:///{tmp_path / 'oidc.db'}")
    server.register_blueprint(make_blueprint(_Store(store), SignInLimiter(), OidcSignIn(server, settings)))
    return server, store


def _round_trip(client, next_path="/worklist"):
    start = client.get(f"/auth/oidc/start?next={next_path}")
    assert start.status_code == 302
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302
    callback = urllib.parse.urlsplit(at_provider.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def test_openid_connect_signs_in_a_coordinator_with_sites_from_the_claims(tmp_path):
    claims = {"preferred_username": "nina@example.org", "groups": ["staff", "coordinator"],
              "carepath_sites": ["North", "East"]}
    with FakeProvider(claims) as provider:
        server, store = _client_app(provider, tmp_path)
        client = server.test_client()
        done = _round_trip(client)
        assert done.status_code == 302 and done.headers["Location"] == "/worklist"
        with client.session_transaction() as session:
            user = store.users.by_id(session["uid"])
            assert session["via"] == "oidc"
        assert (user.username, user.role, user.sites) == ("nina@example.org", "coordinator", ("North", "East"))
        assert store.users.verify_password("nina@example.org", "") is None  # no password: OIDC only


def test_openid_connect_refuses_an_account_without_a_carepath_role(tmp_path):
    with FakeProvider({"preferred_username": "sam", "groups": ["staff"]}) as provider:
        server, store = _client_app(provider, tmp_path)
        client = server.test_client()
        refused = _round_trip(client)
        assert refused.status_code == 403
        with client.session_transaction() as session:
            assert "uid" not in session
        assert store.users.get("sam") is None


def test_a_forged_callback_without_the_providers_state_is_refused(tmp_path):
    with FakeProvider({"preferred_username": "eve", "groups": ["admin"]}) as provider:
        server, store = _client_app(provider, tmp_path)
        response = server.test_client().get("/auth/oidc/callback?code=made-up&state=made-up")
        assert response.status_code == 401
        assert store.users.get("eve") is None


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
