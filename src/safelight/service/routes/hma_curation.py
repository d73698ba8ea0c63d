"""HMA's curation routes (``/c``): banks (Safelight lists), content items (entries), and the
signal and content types (views of the registry). See docs/hma.md for the mapping."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from safelight.constants import HMA_CONTENT_TYPES, HMA_MAX_DISABLE_SECONDS, HMA_NOTE_MAX_LENGTH
from safelight.hma.banks import Bank, ContentItem, until_of
from safelight.hma.signals import HmaError, HmaSignalType, hma_type, hma_types
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal
from safelight.service.routes.hma_common import (
    CURATION_READERS,
    CURATORS,
    VOCABULARY,
    Form,
    JsonBody,
    bank_or_404,
    banks_of,
    engine,
    family_b,
    form_body,
    index_figures,
    json_body,
    query_params,
    true_ci,
    visible_bank,
)
from safelight.service.routes.hma_hashing import hash_form, hash_url
from safelight.service.routes.hma_matching import chosen_types

router = APIRouter(prefix="/c", tags=["hma"])

Curator = Annotated[Principal, requires(*CURATORS)]
Reader = Annotated[Principal, requires(*CURATION_READERS)]


# --- banks -----------------------------------------------------------------------------------


class NewBank(BaseModel):
    name: str
    enabled_ratio: float | None = 1.0
    enabled: bool | None = None


class BankChange(BaseModel):
    name: str | None = None
    enabled_ratio: float | None = None
    enabled: bool | None = None


def check_ratio(ratio: float) -> float:
    """HMA stores any number; a ratio is a fraction of lookups, so Safelight keeps 0-1."""
    if not 0.0 <= ratio <= 1.0:
        raise HmaError.message(400, "enabled_ratio must be between 0 and 1")
    return float(ratio)


def in_scope(who: Principal, name: str) -> None:
    if not who.can_use_list(name):
        raise HmaError.message(403, f"this token's lists do not include {name!r}")


@router.get("/banks", summary="HMA: every bank (list)")
def get_banks(who: Reader, ctx: Context) -> list[dict[str, Any]]:
    return [b.to_dict() for b in banks_of(ctx).banks() if who.can_use_list(b.name)]


@router.post("/banks", status_code=201, summary="HMA: create a bank (list)")
def create_bank(
    who: Curator, body: Annotated[JsonBody, Depends(json_body)], ctx: Context
) -> dict[str, Any]:
    given = body.value if body.is_json and not body.malformed else None
    new = family_b(NewBank, given)
    # HMA ignores "enabled" unless enabled_ratio is explicitly null; Safelight honours it
    # whenever enabled_ratio is not given (docs/hma.md).
    explicit = isinstance(given, dict) and given.get("enabled_ratio") is not None
    if explicit and new.enabled_ratio is not None:
        ratio = new.enabled_ratio
    elif new.enabled is not None:
        ratio = 1.0 if new.enabled else 0.0
    else:
        ratio = 1.0
    ratio = check_ratio(ratio)
    in_scope(who, new.name)
    bank = banks_of(ctx).create_bank(new.name, ratio)
    ctx.audit.record(who.actor, "list.create", bank.name, {"matching_enabled_ratio": ratio})
    return bank.to_dict()


@router.get("/bank/{bank_name}", summary="HMA: one bank")
def get_bank(bank_name: str, who: Reader, ctx: Context) -> dict[str, Any]:
    return bank_or_404(ctx, who, bank_name).to_dict()


@router.put("/bank/{bank_name}", summary="HMA: rename a bank or set its ratio")
def update_bank(
    bank_name: str,
    who: Curator,
    body: Annotated[JsonBody, Depends(json_body)],
    ctx: Context,
) -> dict[str, Any]:
    given = body.value if body.is_json and not body.malformed else None
    change = family_b(BankChange, given)
    if visible_bank(ctx, who, bank_name) is None:
        raise HmaError.message(404, "Bank not found")
    ratio = None
    if change.enabled is not None:
        ratio = 1.0 if change.enabled else 0.0
    if change.enabled_ratio is not None:
        ratio = change.enabled_ratio
    if ratio is not None:
        ratio = check_ratio(ratio)
    if change.name is not None:
        in_scope(who, change.name)
    bank = banks_of(ctx).update_bank(bank_name, change.name, ratio)
    details = {"name": bank.name, "matching_enabled_ratio": bank.ratio}
    ctx.audit.record(who.actor, "list.update", bank_name, details)
    return bank.to_dict()


@router.delete("/bank/{bank_name}", summary="HMA: delete a bank and its content")
def delete_bank(bank_name: str, who: Curator, ctx: Context) -> dict[str, str]:
    if visible_bank(ctx, who, bank_name) is not None:
        banks_of(ctx).delete_bank(bank_name)
        ctx.audit.record(who.actor, "list.delete", bank_name, {})
    return {"message": "Done"}


# --- content ---------------------------------------------------------------------------------


class UserMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    content_id: str | None = Field(default=None, strict=True)
    content_uri: str | None = Field(default=None, strict=True)
    json_data: dict[str, Any] | None = Field(default=None, alias="json")


def parse_note(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise HmaError.message(400, "note should be a string")
    if len(raw) > HMA_NOTE_MAX_LENGTH:
        raise HmaError.message(400, f"note must be at most {HMA_NOTE_MAX_LENGTH} characters")
    return raw or None


def parse_metadata(raw: object) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise HmaError.message(400, "metadata should be a json object")
    given = {k: v for k, v in raw.items() if k != "collab"}  # HMA drops a client's collab
    if "json_data" in given and "json" not in given:
        given["json"] = given.pop("json_data")
    try:
        parsed = UserMetadata.model_validate(given)
    except ValidationError as exc:
        raise HmaError.message(400, f"Invalid metadata: {exc}") from None
    out = {
        "content_id": parsed.content_id,
        "content_uri": parsed.content_uri,
        "json": parsed.json_data,
    }
    return out if any(v is not None for v in out.values()) else None


def metadata_and_note(body: JsonBody, form: Form) -> tuple[dict[str, Any] | None, str | None]:
    """From a JSON body ``{metadata, note}`` or the multipart text fields."""
    if body.is_json and isinstance(body.value, dict):
        return parse_metadata(body.value.get("metadata")), parse_note(body.value.get("note"))
    raw = form.fields.get("metadata")
    metadata = None
    if raw is not None:
        try:
            metadata = parse_metadata(json.loads(raw))
        except ValueError:
            raise HmaError.message(400, "metadata form field must be valid JSON") from None
    return metadata, parse_note(form.fields.get("note"))


def store_signals(
    ctx: ServiceContext,
    who: Principal,
    bank: Bank,
    signals: dict[HmaSignalType, str],
    note: str | None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    content_id = banks_of(ctx).add_content(bank, signals, note=note, metadata=metadata)
    shown = {kind.name: value for kind, value in signals.items()}
    ctx.audit.record(
        who.actor, "entry.add", bank.name, {"content_id": content_id, "signals": shown}
    )
    return {"id": content_id, "signals": shown}


def validated(name: str, raw: object) -> tuple[HmaSignalType, str]:
    kind = hma_type(name)
    if kind is None:
        raise HmaError.message(400, f"No such signal type {name}")
    try:
        return kind, kind.normalise(raw)
    except ValueError as exc:
        raise HmaError.message(400, f"Invalid {kind.name} signal: {exc}") from None


@router.post(
    "/bank/{bank_name}/content",
    summary="HMA: hash an upload (or a URL) into a bank",
    openapi_extra=query_params("url", "content_type", "types"),
)
def add_content(
    bank_name: str,
    who: Curator,
    request: Request,
    body: Annotated[JsonBody, Depends(json_body)],
    form: Annotated[Form, Depends(form_body)],
    ctx: Context,
) -> dict[str, Any]:
    bank = bank_or_404(ctx, who, bank_name)
    query = dict(request.query_params)
    if query.get("url"):
        metadata, note = metadata_and_note(body, form)
        produced = hash_url(ctx, request)
    elif form.files:
        metadata, note = metadata_and_note(body, form)
        produced = hash_form(form, query.get("types"))
    else:
        raise HmaError.message(400, "Neither `url` nor multipart file upload was received")
    signals = dict(validated(name, value) for name, value in produced.items())
    return store_signals(ctx, who, bank, signals, note, metadata)


@router.post("/bank/{bank_name}/signal", summary="HMA: add hashes to a bank as one item")
def add_signal(
    bank_name: str,
    who: Curator,
    body: Annotated[JsonBody, Depends(json_body)],
    ctx: Context,
) -> dict[str, Any]:
    bank = bank_or_404(ctx, who, bank_name)
    data = body.require()
    if not isinstance(data, dict):
        raise HmaError.message(400, "Request input was not a dict")
    note = parse_note(data.get("note"))
    names = [k for k in data if k != "note"]
    if not names:
        raise HmaError.message(400, "No signals given")
    signals = dict(validated(name, data[name]) for name in names)
    return store_signals(ctx, who, bank, signals, note)


def content_in(ctx: ServiceContext, bank: Bank, raw_id: str) -> ContentItem:
    """The item of the path id in the path bank (HMA ignores the bank; Safelight does
    not: an item of another bank is not found here)."""
    item = None
    if raw_id.isascii() and raw_id.isdigit():
        item = banks_of(ctx).content(int(raw_id))
    if item is None or item.bank.id != bank.id:
        raise HmaError.message(404, f"content {raw_id!r} not found")
    return item


@router.get(
    "/bank/{bank_name}/content/{content_id}",
    summary="HMA: one content item",
    openapi_extra=query_params("include_signals", "include_metadata"),
)
def get_content(
    bank_name: str, content_id: str, who: Reader, request: Request, ctx: Context
) -> dict[str, Any]:
    item = content_in(ctx, bank_or_404(ctx, who, bank_name), content_id)
    query = request.query_params
    out: dict[str, Any] = {
        "bank": item.bank.to_dict(),
        "disable_until_ts": item.disable_until_ts,
        "id": item.id,
        "original_media_uri": None,
    }
    if true_ci(query.get("include_signals"), False):
        out["signals"] = item.signals
    if item.note is not None:
        out["note"] = item.note
    if true_ci(query.get("include_metadata"), True) and item.metadata:
        out["metadata"] = {"collab": None, **item.metadata}
    return out


def parse_until(raw: object) -> int:
    """HMA's ``disable_until_ts``: an int, a numeric string, a float (truncated) or a bool."""
    if raw is None or (isinstance(raw, str) and not raw.strip().lstrip("-").isdigit()):
        raise HmaError.message(400, f"Invalid int: {raw!r}")
    if not isinstance(raw, int | float | str):
        raise HmaError.message(400, f"Invalid int: {raw!r}")
    try:
        value = int(raw)
    except (ValueError, OverflowError):  # NaN, Infinity (Python's json reads them)
        raise HmaError.message(400, f"Invalid int: {raw!r}") from None
    if value < 0:
        raise HmaError.message(400, "disable_until_ts must be a non-negative integer")
    if value > time.time() + HMA_MAX_DISABLE_SECONDS:
        raise HmaError.message(400, "disable_until_ts must be less than 5 years in the future")
    return value


@router.put("/bank/{bank_name}/content/{content_id}", summary="HMA: disable or annotate an item")
def update_content(
    bank_name: str,
    content_id: str,
    who: Curator,
    body: Annotated[JsonBody, Depends(json_body)],
    ctx: Context,
) -> dict[str, Any]:
    bank = bank_or_404(ctx, who, bank_name)
    data = body.require()
    item = content_in(ctx, bank, content_id)
    if not isinstance(data, dict):
        raise HmaError.message(400, "Request input was not a dict")
    changes: dict[str, Any] = {}
    if "disable_until_ts" in data:
        changes["disabled_until"] = until_of(parse_until(data["disable_until_ts"]))
    if "note" in data:
        changes["note"] = parse_note(data["note"])
    if changes:
        item = banks_of(ctx).update_content(item, changes)
        details = {"content_id": item.id, "disable_until_ts": item.disable_until_ts}
        ctx.audit.record(who.actor, "entry.update", bank.name, details)
    return {
        "bank": item.bank.to_dict(),
        "collab_metadata": {},
        "disable_until_ts": item.disable_until_ts,
        "id": item.id,
        "note": item.note,
        "original_media_uri": None,
        "user_metadata": item.metadata,
    }


@router.delete("/bank/{bank_name}/content/{content_id}", summary="HMA: delete a content item")
def delete_content(bank_name: str, content_id: str, who: Curator, ctx: Context) -> dict[str, int]:
    bank = bank_or_404(ctx, who, bank_name)
    try:
        item = content_in(ctx, bank, content_id)
    except HmaError:
        return {"deleted": 0}
    deleted = banks_of(ctx).delete_content(item.id)
    ctx.audit.record(who.actor, "entry.delete", bank.name, {"content_id": item.id})
    return {"deleted": deleted}


# --- types -----------------------------------------------------------------------------------


@router.get("/signal_type", summary="HMA: the signal types (the registry, by HMA name)")
def signal_types(who: Annotated[Principal, requires(*VOCABULARY)]) -> list[dict[str, Any]]:
    return [{"enabled_ratio": 1.0, "name": kind.name} for kind in hma_types()]


@router.get("/content_type", summary="HMA: the content types")
def content_types(who: Annotated[Principal, requires(*VOCABULARY)]) -> list[dict[str, Any]]:
    return [{"enabled": True, "name": name} for name in HMA_CONTENT_TYPES]


@router.get(
    "/signal_type/index",
    summary="HMA: stored signals against each type's index",
    openapi_extra=query_params("signal_type"),
)
def signal_type_index(
    who: Annotated[Principal, requires(*VOCABULARY)], request: Request, ctx: Context
) -> dict[str, Any]:
    chosen = chosen_types(request.query_params.get("signal_type"))
    stored = banks_of(ctx).stored_counts()
    state = engine(ctx).state()
    out = {}
    for kind in chosen:
        db_size, newest = stored.get(kind.kind.name, (0, -1))
        size, built_to = index_figures(state, kind.kind.name)
        out[kind.name] = {
            "db_size": db_size,
            "index_built_to": built_to,
            "index_out_of_date": (db_size, newest) != (size, built_to),
            "index_size": size,
            "newest_db_item": newest,
        }
    return out
