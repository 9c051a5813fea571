"""Built-in users and their API tokens: add, change, verify a password, issue and revoke tokens.

Passwords are stored as argon2id hashes (argon2-cffi); API tokens as the sha256 of a
random 256-bit token, so a copy of the database gives neither passwords nor tokens.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, insert, select, update

from database.access_tables import ApiToken, User
from database.engine import write_transaction

ROLES = ("analyst", "coordinator", "admin")
USERNAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
MIN_PASSWORD_CHARS = 10
TOKEN_PREFIX = "cp_"

_hasher = PasswordHasher()
# Verified against when the user is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("carepath-no-such-user")


class UserInputError(ValueError):
    """A name, role, site or password breaks a rule; the message names it."""


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    role: str
    sites: tuple[str, ...]
    active: bool
    has_password: bool


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _record(row) -> UserRecord:
    return UserRecord(id=row.id, username=row.username, role=row.role, sites=tuple(json.loads(row.sites or "[]")),
                      active=bool(row.active), has_password=row.password_hash is not None)


def check_new_user(username: str, role: str, sites, password: str | None) -> tuple[str, ...]:
    if not USERNAME_RULE.match(username or ""):
        raise UserInputError(f"username: {username[:40]!r} must be 1-128 letters, digits or . _ @ -, "
                             "starting with a letter or digit")
    if role not in ROLES:
        raise UserInputError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    sites = tuple(dict.fromkeys(str(s).strip() for s in (sites or ()) if str(s).strip()))
    if role == "coordinator" and not sites:
        raise UserInputError("site: a coordinator needs at least one --site (the sites whose patients they see)")
    if role != "coordinator" and sites:
        raise UserInputError(f"site: only coordinators are limited to sites; a {role} sees {'all' if role == 'admin' else 'no'} patients")
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise UserInputError(f"password: must be at least {MIN_PASSWORD_CHARS} characters")
    return sites


class UserStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # -- users ------------------------------------------------------------------------------
    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(User.__table__)).scalar_one()

    def add(self, username: str, role: str, password: str | None, sites=()) -> UserRecord:
        sites = check_new_user(username, role, sites, password)
        users = User.__table__
        with write_transaction(self.engine) as connection:
            if connection.execute(select(users.c.id).where(users.c.username == username)).first() is not None:
                raise UserInputError(f"username: {username!r} already exists")
            connection.execute(insert(users).values(
                username=username, role=role, sites=json.dumps(list(sites)),
                password_hash=None if password is None else _hasher.hash(password), active=True, created_at=_now()))
        return self.get(username)

    def upsert_external(self, username: str, role: str, sites=()) -> UserRecord:
        """A user signed in through OpenID Connect: their role and sites follow the provider's claims."""
        sites = check_new_user(username, role, sites, None)
        users = User.__table__
        with write_transaction(self.engine) as connection:
            found = connection.execute(select(users.c.id).where(users.c.username == username)).first()
            if found is None:
                connection.execute(insert(users).values(username=username, role=role, sites=json.dumps(list(sites)),
                                                        password_hash=None, active=True, created_at=_now()))
            else:
                connection.execute(update(users).where(users.c.id == found.id)
                                   .values(role=role, sites=json.dumps(list(sites))))
        return self.get(username)

    def get(self, username: str) -> UserRecord | None:
        users = User.__table__
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else _record(row)

    def by_id(self, user_id: int) -> UserRecord | None:
        users = User.__table__
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _record(row)

    def all(self) -> list[UserRecord]:
        with self.engine.connect() as connection:
            return [_record(r) for r in connection.execute(select(User.__table__).order_by(User.__table__.c.username))]

    def set_password(self, username: str, password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise UserInputError(f"password: must be at least {MIN_PASSWORD_CHARS} characters")
        self._update(username, password_hash=_hasher.hash(password))

    def set_active(self, username: str, active: bool) -> None:
        self._update(username, active=active)
        if not active:
            self.revoke_tokens(username)

    def _update(self, username: str, **values) -> None:
        users = User.__table__
        with write_transaction(self.engine) as connection:
            changed = connection.execute(update(users).where(users.c.username == username).values(**values)).rowcount
        if not changed:
            raise UserInputError(f"username: no user {username!r}")

    def verify_password(self, username: str, password: str) -> UserRecord | None:
        """The user when the password is right and the account active; None otherwise."""
        users = User.__table__
        with self.engine.connect() as connection:
            row = connection.execute(select(users).where(users.c.username == username)).first()
        stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or not row.password_hash or not row.active:
            return None
        if _hasher.check_needs_rehash(stored):
            self._update(username, password_hash=_hasher.hash(password))
        return _record(row)

    # -- tokens -----------------------------------------------------------------------------
    def issue_token(self, username: str) -> str:
        user = self.get(username)
        if user is None:
            raise UserInputError(f"username: no user {username!r}")
        if not user.active:
            raise UserInputError(f"username: {username!r} is deactivated")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with write_transaction(self.engine) as connection:
            connection.execute(insert(ApiToken.__table__).values(user_id=user.id, token_hash=token_digest(token),
                                                                 created_at=_now()))
        return token

    def revoke_tokens(self, username: str) -> int:
        user = self.get(username)
        if user is None:
            raise UserInputError(f"username: no user {username!r}")
        tokens = ApiToken.__table__
        with write_transaction(self.engine) as connection:
            return connection.execute(update(tokens).where(tokens.c.user_id == user.id, tokens.c.revoked_at.is_(None))
                                      .values(revoked_at=_now())).rowcount

    def user_for_token(self, token: str) -> UserRecord | None:
        if not token or not token.startswith(TOKEN_PREFIX):
            return None
        tokens, users = ApiToken.__table__, User.__table__
        with self.engine.connect() as connection:
            row = connection.execute(
                select(users).join(tokens, tokens.c.user_id == users.c.id)
                .where(tokens.c.token_hash == token_digest(token), tokens.c.revoked_at.is_(None),
                       users.c.active.is_(True))).first()
        return None if row is None else _record(row)
