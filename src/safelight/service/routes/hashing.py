"""Hash an upload: ``POST /api/v1/hash`` with the file as multipart field ``file``.

The bytes decide what the file is (``safelight.signals.sniff``), never its name: the upload
is copied to a temporary file named by nothing the client sent, hashed, and deleted. The
answer is the hash record (docs/model.md), with ``path`` set to the name the client gave.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from safelight.service.access import requires
from safelight.service.context import Context
from safelight.service.roles import Principal, Role
from safelight.service.uploads import form_file, read_form, saved_upload
from safelight.signals.files import hash_file

router = APIRouter(prefix="/api/v1", tags=["hashing"])

HASHERS = (Role.ADMIN, Role.ANALYST, Role.INVESTIGATOR, Role.API_CLIENT)
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


@router.post(
    "/hash",
    summary="Hash an uploaded file: digests, PDQ or vPDQ (the hash record)",
    openapi_extra=UPLOAD_BODY,
    responses={413: {"description": "Larger than upload_max_bytes"}},
)
async def hash_upload(
    request: Request, _: Annotated[Principal, requires(*HASHERS)], ctx: Context
) -> dict[str, Any]:
    limit = ctx.settings.upload_max_bytes
    form = await read_form(request, limit)
    try:
        upload = form_file(form)
        name = upload.filename or "upload"

        def hash_it() -> dict[str, Any]:
            with saved_upload(upload, limit) as path:
                record = hash_file(path)
            return dataclasses.replace(record, path=name).to_dict()

        return await run_in_threadpool(hash_it)
    finally:
        await form.close()
