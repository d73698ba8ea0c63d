"""Lists and their entries: create, read, update, delete; entries paged and filtered.

Readers (every role but none) see the lists in their scope; admins and analysts change
them. A token scoped to lists sees and touches only those: any other list is "not found" to
it, so a scoped token cannot even learn which other lists exist. Every change is audited in
the transaction that makes it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from safelight.constants import PDQ_MATCH_THRESHOLD
from safelight.errors import PermissionDeniedError
from safelight.lists.editing import ListEditor
from safelight.lists.models import HashList
from safelight.lists.store import ListNotFoundError
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal, Role

router = APIRouter(prefix="/api/v1/lists", tags=["lists"])

READERS = (Role.ADMIN, Role.ANALYST, Role.INVESTIGATOR, Role.AUDITOR, Role.API_CLIENT)
EDITORS = (Role.ADMIN, Role.ANALYST)
Reader = Annotated[Principal, requires(*READERS)]
Editor = Annotated[Principal, requires(*EDITORS)]
PAGE_MAX = 1000


class NewList(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    source: str = ""
    terms_of_use: str = ""
    pdq_threshold: int = PDQ_MATCH_THRESHOLD
    default_signal_type: str | None = None
    enabled: bool = True


class ListChanges(BaseModel):
    description: str | None = None
    source: str | None = None
    terms_of_use: str | None = None
    pdq_threshold: int | None = None
    default_signal_type: str | None = None
    enabled: bool | None = None


class NewEntry(BaseModel):
    value: str = Field(min_length=1, max_length=1_000_000)
    type: str | None = Field(
        default=None, description="Signal type; required for a bare 64-hex value."
    )
    labels: list[str] = []
    note: str | None = None


class EntryChanges(BaseModel):
    labels: list[str] | None = Field(default=None, description="Replaces the entry's labels.")
    note: str | None = Field(default=None, description="The new note ('' clears it).")


class Disable(BaseModel):
    until: datetime | None = Field(
        default=None, description="ISO-8601; absent: until enabled again. Must be in the future."
    )


def in_scope(who: Principal, name: str) -> None:
    """A list outside the caller's scope does not exist, as far as the caller can tell."""
    if not who.can_use_list(name):
        raise ListNotFoundError([name], sorted(who.lists or ()))


def editor(ctx: ServiceContext) -> ListEditor:
    return ListEditor(ctx.lists)


def summary(ctx: ServiceContext, name: str) -> dict[str, Any]:
    return ctx.lists.summary(name).to_dict()


@router.post("", status_code=201, summary="Create a list")
def create_list(body: NewList, who: Editor, ctx: Context) -> dict[str, Any]:
    if not who.can_use_list(body.name):
        raise PermissionDeniedError(f"list {body.name!r} is outside this token's scope")

    def audit(conn: Connection, created: HashList) -> None:
        details = body.model_dump(exclude={"name"})
        ctx.audit.record(who.actor, "list.create", created.name, details, conn=conn)

    created = ctx.lists.create(**body.model_dump(), in_transaction=audit)
    return summary(ctx, created.name)


@router.get("/{name}", summary="A list: provenance, threshold, counts, latest imports")
def read_list(name: str, who: Reader, ctx: Context) -> dict[str, Any]:
    in_scope(who, name)
    return summary(ctx, name)


@router.patch("/{name}", summary="Change a list's description, source, terms, threshold...")
def update_list(name: str, body: ListChanges, who: Editor, ctx: Context) -> dict[str, Any]:
    in_scope(who, name)
    changes = body.model_dump(exclude_unset=True)
    with ctx.db.begin(lock=True) as conn:
        changed = editor(ctx).update_list(conn, name, changes)
        ctx.audit.record(who.actor, "list.update", name, changes, conn=conn)
    return summary(ctx, changed.name)


@router.delete("/{name}", status_code=204, summary="Delete a list with all its entries")
def delete_list(name: str, who: Editor, ctx: Context) -> Response:
    in_scope(who, name)
    with ctx.db.begin(lock=True) as conn:
        removed = editor(ctx).delete_list(conn, name)
        ctx.audit.record(who.actor, "list.delete", name, {"entries": removed}, conn=conn)
    return Response(status_code=204)


# --- entries -------------------------------------------------------------------------------


@router.get("/{name}/entries", summary="Entries in id order, filtered; page with 'after'")
def list_entries(
    name: str,
    who: Reader,
    ctx: Context,
    label: str | None = None,
    type: Annotated[str | None, Query(description="Signal type (or alias).")] = None,
    prefix: Annotated[str | None, Query(description="Hex digits the value starts with.")] = None,
    state: Annotated[Literal["enabled", "disabled"] | None, Query()] = None,
    after: Annotated[int | None, Query(ge=0, description="The previous page's next_after.")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
) -> dict[str, Any]:
    in_scope(who, name)
    found = ctx.lists.find_entries(
        name,
        label=label,
        signal_type=type,
        prefix=prefix,
        disabled=None if state is None else state == "disabled",
        after_id=after,
        limit=limit + 1,
    )
    page = found[:limit]
    more = len(found) > limit
    return {
        "entries": [entry.to_dict() for entry in page],
        "next_after": page[-1].id if more else None,
    }


@router.post("/{name}/entries", status_code=201, summary="Add one entry (typed as in imports)")
def add_entry(
    name: str, body: NewEntry, who: Editor, ctx: Context, response: Response
) -> dict[str, Any]:
    in_scope(who, name)
    with ctx.db.begin(lock=True) as conn:
        entry, new = editor(ctx).add_entry(
            conn,
            name,
            body.value,
            signal_type=body.type,
            labels=body.labels,
            note=body.note,
            by=who.actor,
        )
        details = {"id": entry.id, "type": entry.signal_type, "new": new, "labels": body.labels}
        ctx.audit.record(who.actor, "entry.add", name, details, conn=conn)
    if not new:
        response.status_code = 200
    return entry.to_dict()


@router.get("/{name}/entries/{entry_id}", summary="One entry")
def read_entry(name: str, entry_id: int, who: Reader, ctx: Context) -> dict[str, Any]:
    in_scope(who, name)
    with ctx.db.connect() as conn:
        return editor(ctx).get_entry(conn, name, entry_id).to_dict()


@router.patch("/{name}/entries/{entry_id}", summary="Replace an entry's labels or note")
def update_entry(
    name: str, entry_id: int, body: EntryChanges, who: Editor, ctx: Context
) -> dict[str, Any]:
    in_scope(who, name)
    with ctx.db.begin(lock=True) as conn:
        entry = editor(ctx).update_entry(
            conn,
            name,
            entry_id,
            labels=body.labels,
            note=body.note or None,
            clear_note=body.note == "",
        )
        details = {"id": entry_id, **body.model_dump(exclude_unset=True)}
        ctx.audit.record(who.actor, "entry.update", name, details, conn=conn)
    return entry.to_dict()


@router.post("/{name}/entries/{entry_id}/disable", summary="Disable an entry (until a time)")
def disable_entry(
    name: str, entry_id: int, body: Disable, who: Editor, ctx: Context
) -> dict[str, Any]:
    in_scope(who, name)
    until = body.until
    if until is not None and until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    with ctx.db.begin(lock=True) as conn:
        entry = editor(ctx).set_entry_enabled(conn, name, entry_id, enabled=False, until=until)
        details = {"id": entry_id, "until": None if until is None else until.isoformat()}
        ctx.audit.record(who.actor, "entry.disable", name, details, conn=conn)
    return entry.to_dict()


@router.post("/{name}/entries/{entry_id}/enable", summary="Enable an entry again")
def enable_entry(name: str, entry_id: int, who: Editor, ctx: Context) -> dict[str, Any]:
    in_scope(who, name)
    with ctx.db.begin(lock=True) as conn:
        entry = editor(ctx).set_entry_enabled(conn, name, entry_id, enabled=True)
        ctx.audit.record(who.actor, "entry.enable", name, {"id": entry_id}, conn=conn)
    return entry.to_dict()


@router.delete("/{name}/entries/{entry_id}", status_code=204, summary="Delete one entry")
def delete_entry(name: str, entry_id: int, who: Editor, ctx: Context) -> Response:
    in_scope(who, name)
    with ctx.db.begin(lock=True) as conn:
        entry = editor(ctx).delete_entry(conn, name, entry_id)
        details = {"id": entry_id, "type": entry.signal_type, "value": entry.value}
        ctx.audit.record(who.actor, "entry.delete", name, details, conn=conn)
    return Response(status_code=204)
