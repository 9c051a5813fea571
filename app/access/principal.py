"""From a stored user to the Principal that callbacks see (callbacks.access_scope)."""
from __future__ import annotations

from callbacks.access_scope import ADMIN, ANALYST, COORDINATOR, Principal
from database.users import UserRecord


def principal_for(user: UserRecord, via: str) -> Principal:
    if user.role == ADMIN:
        sites = None
    elif user.role == COORDINATOR:
        sites = tuple(user.sites)
    else:
        sites = ()
    return Principal(username=user.username, role=user.role if user.role in (ADMIN, COORDINATOR, ANALYST) else ANALYST,
                     sites=sites, via=via)
