"""Manage CarePath's built-in users: ``python -m app.users add|token|revoke|passwd|deactivate|list``.

    python -m app.users add alice --role coordinator --site North --site East   (password on stdin)
    python -m app.users token alice        # prints a new API token on its last line
    python -m app.users revoke alice       # revokes all of alice's tokens

The password is read from standard input (asked twice, hidden, at a terminal); only its
argon2 hash is stored, and only the sha256 of a token. Uses CAREPATH_DATABASE_URL (default
the SQLite file in the runtime folder).
"""
from __future__ import annotations

import argparse
import getpass
import secrets
import sys

from database.users import MIN_PASSWORD_CHARS, ROLES, UserInputError


def _read_password(stdin=None) -> str:
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass(f"Password (at least {MIN_PASSWORD_CHARS} characters): ")
        if getpass.getpass("Again: ") != first:
            raise UserInputError("password: the two entries differ")
        return first
    return stdin.readline().rstrip("\r\n")


def _store(url):
    from app.access.store import open_store

    return open_store(url=url)


def main(argv=None, stdin=None, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m app.users", description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="SQLAlchemy URL (default: CAREPATH_DATABASE_URL or var/carepath.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user; the password is read from standard input")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--site", action="append", default=[], help="a coordinator's site (repeat for several)")
    first = commands.add_parser("first-admin", help="create an admin with a random one-time password when "
                                                    "there are no users yet (used by scripts/serve.sh)")
    first.add_argument("name", nargs="?", default="admin")
    for name, text in (("token", "print a new API token for the user (last line)"),
                       ("revoke", "revoke all of the user's API tokens"),
                       ("passwd", "set the user's password (read from standard input)"),
                       ("deactivate", "stop the user signing in; revokes their tokens"),
                       ("activate", "let a deactivated user sign in again")):
        commands.add_parser(name, help=text).add_argument("name")
    commands.add_parser("list", help="list users, roles and sites")
    args = parser.parse_args(argv)
    try:
        store = _store(args.url)
    except Exception as error:  # noqa: BLE001 - unreachable server, bad URL, missing driver: say so, no traceback
        print(f"error: the users database cannot be opened: {str(error).splitlines()[0][:200]}", file=sys.stderr)
        if args.command == "first-admin":  # serve.sh goes on: the app starts and says the same
            print("Create the first admin once it is reachable: python -m app.users add admin --role admin",
                  file=sys.stderr)
            return 0
        return 2
    try:
        users = store.users
        if args.command == "add":
            user = users.add(args.name, args.role, _read_password(stdin), args.site)
            sites = f" (sites: {', '.join(user.sites)})" if user.sites else ""
            print(f"added {user.username} as {user.role}{sites}", file=out)
        elif args.command == "first-admin":
            if users.count():
                print(f"{users.count()} users exist; none created", file=out)
                return 0
            password = secrets.token_urlsafe(12)
            users.add(args.name, "admin", password)
            print(f"Created the first CarePath user: {args.name} (admin), one-time password: {password}\n"
                  f"Sign in at /login and change it: python -m app.users passwd {args.name}", file=out)
        elif args.command == "token":
            token = users.issue_token(args.name)
            print(f"API token for {args.name} (shown once; send it as 'Authorization: Bearer TOKEN'):", file=out)
            print(token, file=out)
        elif args.command == "revoke":
            print(f"revoked {users.revoke_tokens(args.name)} tokens of {args.name}", file=out)
        elif args.command == "passwd":
            users.set_password(args.name, _read_password(stdin))
            print(f"password of {args.name} changed", file=out)
        elif args.command in ("deactivate", "activate"):
            users.set_active(args.name, args.command == "activate")
            print(f"{args.name} {args.command}d", file=out)
        else:
            for user in users.all():
                sites = ",".join(user.sites) or ("all" if user.role == "admin" else "-")
                print(f"{user.username}\t{user.role}\tsites={sites}\t{'active' if user.active else 'deactivated'}",
                      file=out)
        store.engine.dispose()
    except UserInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
