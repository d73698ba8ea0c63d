"""HMA's hashing route, ``/h/hash``.

POST hashes one uploaded file exactly as HMA does (the form field's name is the content
type). GET hashes a remote URL in HMA; Safelight never fetches reported content by itself,
so GET (and every other ``?url=``) is refused with HMA's URL-refusal status and text unless
the operator allowed the URL's host (``hma_fetch_allowed_hosts``; docs/hma.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from safelight.hma.fetch import allowed_hosts, content_type_of, fetch
from safelight.hma.signals import HmaError, hash_upload, select_types
from safelight.service.access import requires
from safelight.service.context import Context, ServiceContext
from safelight.service.roles import Principal
from safelight.service.routes.hma_common import (
    HASHERS,
    Form,
    family_b,
    form_body,
    query_dict,
    query_params,
)

router = APIRouter(prefix="/h", tags=["hma"])

URL_REFUSED = (
    "Invalid or unsafe URL provided: Safelight does not fetch URLs unless the operator "
    "allows the host; upload the file instead (POST /h/hash, multipart, field named after "
    "the content type)"
)


class UrlQuery(BaseModel):
    url: str
    content_type: str | None = None
    types: str | None = None


def hash_url(ctx: ServiceContext, request: Request) -> dict[str, str]:
    """HMA's GET hashing: its 422 without ``url``, then the refusal, or (for an allowed
    host) the download hashed as HMA hashes it."""
    query = family_b(UrlQuery, query_dict(request))
    allowed = allowed_hosts(ctx.settings.hma_fetch_allowed_hosts)
    if not allowed:
        raise HmaError.message(400, URL_REFUSED)
    limit = ctx.settings.hma_max_upload_bytes
    with fetch(query.url, allowed, limit) as (body, mime):
        content_type = content_type_of(query.content_type, mime)
        chosen = select_types(content_type, query.types)
        return hash_upload(body, content_type, chosen)


def hash_form(form: Form, types: str | None) -> dict[str, str]:
    """HMA's POST rules: one file, its field name the content type, ``types`` honoured."""
    content_type, upload = form.one_file()
    chosen = select_types(content_type, types)
    return hash_upload(upload.file, content_type, chosen)


@router.get(
    "/hash",
    summary="HMA: hash a URL (only from hosts the operator allowed)",
    openapi_extra=query_params("url", "content_type", "types", required=("url",)),
)
def hash_get(
    who: Annotated[Principal, requires(*HASHERS)], request: Request, ctx: Context
) -> dict[str, str]:
    return hash_url(ctx, request)


@router.post("/hash", summary="HMA: hash one uploaded file (multipart; field = content type)")
def hash_post(
    who: Annotated[Principal, requires(*HASHERS)],
    form: Annotated[Form, Depends(form_body)],
    ctx: Context,
    types: str | None = None,
) -> dict[str, str]:
    return hash_form(form, types)
