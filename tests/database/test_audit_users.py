"""Built-in users and API tokens (database/users.py, python -m app.users)."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import text

from database.engine import make_engine
from database.migrate import upgrade_to_head
from database.users import UserInputError, UserStore
from tests.database.conftest import BACKENDS

PASSWORD = "a-long-enough-secret"


@pytest.fixture
def users(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade_to_head(engine)
    yield UserStore(engine)
    engine.dispose()


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_password_is_stored_as_an_argon2_hash_not_plaintext(users):
    users.add("alice", "coordinator", PASSWORD, ["North"])
    with users.engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users WHERE username = 'alice'")).scalar_one()
    assert PASSWORD not in stored and stored.startswith("$argon2id$")
    assert users.verify_password("alice", PASSWORD).sites == ("North",)
    assert users.verify_password("alice", PASSWORD + "x") is None
    assert users.verify_password("nobody", PASSWORD) is None


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_tokens_are_stored_hashed_and_stop_working_when_revoked_or_deactivated(users):
    users.add("bob", "admin", PASSWORD)
    token = users.issue_token("bob")
    with users.engine.connect() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalar_one()
    assert token not in stored and len(stored) == 64
    assert users.user_for_token(token).username == "bob"
    assert users.user_for_token(token[:-1]) is None and users.user_for_token("") is None
    users.revoke_tokens("bob")
    assert users.user_for_token(token) is None
    second = users.issue_token("bob")
    users.set_active("bob", False)
    assert users.user_for_token(second) is None and users.verify_password("bob", PASSWORD) is None


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("name, role, sites, password, field", [
    ("carol", "coordinator", [], PASSWORD, "site"), ("carol", "nurse", [], PASSWORD, "role"),
    ("carol", "analyst", ["North"], PASSWORD, "site"), ("carol", "analyst", [], "short", "password"),
    ("bad name", "analyst", [], PASSWORD, "username")])
def test_bad_users_are_refused_naming_the_field(users, name, role, sites, password, field):
    with pytest.raises(UserInputError, match=f"^{field}:"):
        users.add(name, role, password, sites)


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_users_command_line_reads_the_password_from_stdin_and_prints_the_token_last(empty_database_url, users):
    from app.users import main

    out = io.StringIO()
    assert main(["--url", empty_database_url, "add", "dana", "--role", "coordinator", "--site", "North",
                 "--site", "East"], stdin=io.StringIO(PASSWORD + "\n"), out=out) == 0
    assert "dana as coordinator (sites: North, East)" in out.getvalue()
    assert users.verify_password("dana", PASSWORD) is not None
    out = io.StringIO()
    assert main(["--url", empty_database_url, "token", "dana"], out=out) == 0
    token = out.getvalue().strip().splitlines()[-1]
    assert users.user_for_token(token).username == "dana"
    out = io.StringIO()
    assert main(["--url", empty_database_url, "first-admin"], out=out) == 0
    assert "none created" in out.getvalue()


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_first_admin_prints_a_one_time_password_that_signs_in(empty_database_url, users):
    from app.users import main

    out = io.StringIO()
    assert main(["--url", empty_database_url, "first-admin"], out=out) == 0
    password = out.getvalue().split("one-time password: ", 1)[1].split()[0]
    assert users.verify_password("admin", password).role == "admin"
