"""The native API's first routes: who am I, and which lists may I see."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from safelight.service.access import requires
from safelight.service.context import Context
from safelight.service.roles import ALL_ROLES, Principal, Role

router = APIRouter(prefix="/api/v1", tags=["native"])

LIST_READERS = (Role.ADMIN, Role.ANALYST, Role.INVESTIGATOR, Role.AUDITOR, Role.API_CLIENT)


@router.get("/me", summary="The caller: kind, name, roles, list scope (and CSRF token)")
def me(principal: Annotated[Principal, requires(*ALL_ROLES)]) -> dict[str, Any]:
    out = principal.to_dict()
    if principal.session_csrf is not None:
        out["csrf_token"] = principal.session_csrf
    return out


@router.get("/lists", summary="The lists the caller may see, with their entry counts")
def lists(
    principal: Annotated[Principal, requires(*LIST_READERS)], ctx: Context
) -> list[dict[str, Any]]:
    counts = ctx.lists.entry_counts()
    return [
        {**hash_list.to_dict(), "entries": counts.get(hash_list.name, 0)}
        for hash_list in ctx.lists.list()
        if principal.can_use_list(hash_list.name)
    ]
