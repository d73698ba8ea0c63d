"""HMA's hashing route, ``/h/hash``.

POST hashes one uploaded file exactly as HMA does (the form field's name is the content
type). GET hashes a remote URL in HMA; Safelight never fetches reported content by itself,
so GET answers HMA's own URL refusal (400 ``Invalid or unsafe URL provided``) with the
reason, after HMA's parameter checks (docs/hma.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from safelight.hma.signals import HmaError, hash_upload, select_types
from safelight.service.access import requires
from safelight.service.context import Context
from safelight.service.roles import Principal
from safelight.service.routes.hma_common import HASHERS, Form, family_b, form_body, query_dict

router = APIRouter(prefix="/h", tags=["hma"])

URL_REFUSED = (
    "Invalid or unsafe URL provided: Safelight does not fetch URLs; "
    "upload the file instead (POST /h/hash, multipart, field named after the content type)"
)


class UrlQuery(BaseModel):
    url: str
    content_type: str | None = None
    types: str | None = None


def refuse_url(request: Request) -> None:
    """GET with ``url``: HMA's 422 when it is missing, else the documented refusal."""
    family_b(UrlQuery, query_dict(request))
    raise HmaError.message(400, URL_REFUSED)


def hash_form(form: Form, types: str | None) -> dict[str, str]:
    """HMA's POST rules: one file, its field name the content type, ``types`` honoured."""
    content_type, upload = form.one_file()
    chosen = select_types(content_type, types)
    return hash_upload(upload.file, content_type, chosen)


@router.get("/hash", summary="HMA: hash a URL (refused: Safelight does not fetch URLs)")
def hash_url(who: Annotated[Principal, requires(*HASHERS)], request: Request) -> dict[str, str]:
    refuse_url(request)
    raise AssertionError("unreachable")  # pragma: no cover


@router.post("/hash", summary="HMA: hash one uploaded file (multipart; field = content type)")
def hash_post(
    who: Annotated[Principal, requires(*HASHERS)],
    form: Annotated[Form, Depends(form_body)],
    ctx: Context,
    types: str | None = None,
) -> dict[str, str]:
    return hash_form(form, types)
