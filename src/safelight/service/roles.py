"""Roles, and who is asking (``Principal``): a signed-in user or an API token.

Deny by default: a route serves a principal only if it holds one of the roles the route
declares (``safelight.service.access.requires``). A token may also be scoped to lists: it
sees and acts on those lists only (``Principal.can_use_list``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from safelight.errors import UsageError


class Role(StrEnum):
    ADMIN = "admin"  # accounts, tokens, every list
    ANALYST = "analyst"  # lists and entries: curate, import, review matches
    INVESTIGATOR = "investigator"  # network cases, scans, lookups
    AUDITOR = "auditor"  # read-only: lists, the audit trail
    API_CLIENT = "api_client"  # machines: lookups and hashing, within their list scope


ALL_ROLES: frozenset[Role] = frozenset(Role)


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Role names as given (``api_client``, ``API-client``) to roles; an unknown one is a
    UsageError naming the choices."""
    roles = set()
    for name in names:
        key = name.strip().lower().replace("-", "_")
        try:
            roles.add(Role(key))
        except ValueError:
            choices = ", ".join(role.value for role in Role)
            raise UsageError(f"unknown role {name!r}: one of {choices}", field="role") from None
    if not roles:
        raise UsageError("give at least one role", field="role")
    return frozenset(roles)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as. ``lists`` is None for every list, else the names in scope."""

    kind: str  # "user" or "token"
    name: str
    roles: frozenset[Role]
    lists: frozenset[str] | None = None
    session_csrf: str | None = None  # set for browser sessions (unsafe methods check it)

    @property
    def actor(self) -> str:
        """How the audit trail names this principal: ``user:NAME`` or ``token:NAME``."""
        return f"{self.kind}:{self.name}"

    def has_any(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)

    def can_use_list(self, name: str) -> bool:
        return self.lists is None or name in self.lists

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "roles": sorted(role.value for role in self.roles),
            "lists": None if self.lists is None else sorted(self.lists),
        }
