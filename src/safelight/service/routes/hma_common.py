"""What every HMA route shares: HMA-shaped errors, request bodies read as HMA reads them,
HMA's three ways of parsing booleans, roles, and the bank a principal may touch.

HMA's error families (shared/reference/hma-api.md, 0): A is ``{"message": text}``, B a 422
list of pydantic errors, C an HTML page for routing failures. Safelight answers A and B as
HMA does; C becomes family A with the same status (JSON clients cannot read HTML anyway).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from safelight.hma.banks import Bank, HmaBanks
from safelight.hma.lookup import LookupEngine, MatcherLookup, engine_of
from safelight.hma.signals import HmaError
from safelight.service.context import ServiceContext
from safelight.service.http_errors import register_error_format
from safelight.service.roles import Principal, Role

HMA_PREFIXES = ("/h/", "/m/", "/c/")

# Who may call what (docs/hma.md, "Roles"). Hashing and matching serve the platforms that
# call on every upload (API clients) and the people who review; curation changes lists.
HASHERS = (Role.ADMIN, Role.ANALYST, Role.INVESTIGATOR, Role.API_CLIENT)
MATCHERS = HASHERS
VOCABULARY = tuple(Role)  # signal and content types, index state: nothing sensitive
CURATION_READERS = (Role.ADMIN, Role.ANALYST, Role.AUDITOR)
CURATORS = (Role.ADMIN, Role.ANALYST)

JSON_415 = (
    "Did not attempt to load JSON data because the request Content-Type was not 'application/json'."
)
JSON_400 = "The browser (or proxy) sent a request that this server could not understand."
PYDANTIC_TRUE = {"true", "1", "yes", "on", "t", "y"}
PYDANTIC_FALSE = {"false", "0", "no", "off", "f", "n"}


# --- errors ----------------------------------------------------------------------------------


def hma_error_format(status: int, code: str, message: str, details: dict[str, Any]) -> JSONResponse:
    """Errors raised outside the HMA routes' own code (authentication, roles, unknown paths,
    a 500) in HMA's shape: family B for request validation, family A for the rest."""
    if status == 422 and "fields" in details:
        body: object = [
            {"type": "invalid", "loc": [f["field"]], "msg": f["message"]} for f in details["fields"]
        ]
    else:
        body = {"message": message}
    return JSONResponse(body, status_code=status)


async def _hma_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HmaError)
    return JSONResponse(exc.body, status_code=exc.status)


def install_hma_errors(app: FastAPI) -> None:
    app.add_exception_handler(HmaError, _hma_error)
    for prefix in HMA_PREFIXES:
        register_error_format(app, prefix, hma_error_format)


def family_b(model: type[BaseModel], data: object) -> Any:
    """``model`` validated from ``data``; HMA's 422 list of pydantic errors if it fails."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = json.loads(exc.json())
        raise HmaError(422, errors) from None


# --- request bodies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class JsonBody:
    """A request's body as HMA's JSON-only handlers see it: ``is_json`` (Content-Type),
    ``value`` (parsed; None when absent or not JSON), ``malformed``."""

    is_json: bool
    value: Any = None
    malformed: bool = False

    def require(self) -> Any:
        """The parsed body, or HMA's 415/400."""
        if not self.is_json:
            raise HmaError.message(415, JSON_415)
        if self.malformed:
            raise HmaError.message(400, JSON_400)
        return self.value


async def json_body(request: Request) -> JsonBody:
    """The dependency reading a JSON body (a multipart body is left to ``uploads``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        return JsonBody(False)
    raw = await request.body()
    try:
        return JsonBody(True, json.loads(raw) if raw else None, malformed=not raw)
    except (ValueError, UnicodeDecodeError):
        return JsonBody(True, malformed=True)


@dataclass(frozen=True)
class Form:
    """A multipart body: its files as (field name, file), its text fields."""

    files: list[tuple[str, UploadFile]]
    fields: dict[str, str]

    def one_file(self) -> tuple[str, UploadFile]:
        """HMA's rule: exactly one file; its field name is the content type."""
        if not self.files:
            raise HmaError.message(400, "Missing multipart/form-data file upload")
        if len(self.files) > 1:
            raise HmaError.message(400, "Only one file allowed per request")
        return self.files[0]


async def form_body(request: Request) -> AsyncIterator[Form]:
    """The dependency reading a multipart body; empty for any other body. Starlette spools
    each file to a temporary file (memory first, disk past 1 MiB), closed once the route
    has answered: nothing of an upload is kept after hashing."""
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith("multipart/form-data"):
        yield Form([], {})
        return
    limit = request.app.state.service.settings.hma_max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HmaError.message(413, "Content too large")
    form = await request.form()
    try:
        files: list[tuple[str, UploadFile]] = []
        fields: dict[str, str] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if (value.size or 0) > limit:
                    raise HmaError.message(413, "Content too large")
                files.append((name, value))
            else:
                fields[name] = value
        yield Form(files, fields)
    finally:
        await form.close()


# --- booleans -----------------------------------------------------------------------------


def pydantic_bool(name: str, raw: str | None, default: bool, query: dict[str, str]) -> bool:
    """pydantic's rule (true/false/1/0/yes/no/on/off/t/f/y/n, any case); 422 otherwise."""
    if raw is None:
        return default
    if raw.lower() in PYDANTIC_TRUE:
        return True
    if raw.lower() in PYDANTIC_FALSE:
        return False
    raise HmaError(
        422,
        [
            {
                "type": "bool_parsing",
                "loc": [name],
                "msg": "Input should be a valid boolean, unable to interpret input",
                "input": raw,
            }
        ],
    )


def true_ci(raw: str | None, default: bool) -> bool:
    """Case-insensitive ``true``; any other value is false (HMA's content GET)."""
    return default if raw is None else raw.lower() == "true"


# --- context --------------------------------------------------------------------------------


def banks_of(ctx: ServiceContext) -> HmaBanks:
    return ctx.shared("hma_banks", HmaBanks, lambda: HmaBanks(ctx.lists))


def engine(ctx: ServiceContext) -> LookupEngine:
    """The lookup engine (ctx.extensions["lookup"]) or the Matcher fallback."""
    fallback: Callable[[], LookupEngine] = lambda: MatcherLookup(  # noqa: E731
        ctx.lists, ctx.home, banks_of(ctx).stored_counts
    )
    return engine_of(ctx.extensions, fallback)


def visible_bank(ctx: ServiceContext, who: Principal, name: str) -> Bank | None:
    """The bank if it exists and the principal's list scope includes it (a bank out of
    scope is answered as a missing one: its existence is not revealed)."""
    if not who.can_use_list(name):
        return None
    return banks_of(ctx).bank(name)


def bank_or_404(ctx: ServiceContext, who: Principal, name: str) -> Bank:
    bank = visible_bank(ctx, who, name)
    if bank is None:
        raise HmaError.message(404, f"bank {name!r} not found")
    return bank


def query_dict(request: Request) -> dict[str, str]:
    return dict(request.query_params)


def query_params(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """``openapi_extra`` naming the query parameters a route reads itself (it parses them as
    HMA does, so FastAPI does not declare them)."""
    return {
        "parameters": [
            {"name": n, "in": "query", "required": n in required, "schema": {"type": "string"}}
            for n in names
        ]
    }


def index_figures(state: dict[str, dict[str, Any]], kind: str) -> tuple[int, int]:
    """(size, built_to) of one signal type in the engine's state; (0, -1) when absent."""
    found = state.get(kind) or {}
    return int(found.get("size", 0)), int(found.get("built_to", -1))
