"""Uploads: size-limited, streamed to a private temporary file, deleted after use.

``saved_upload(upload, limit)`` copies the upload a block at a time into a fresh temporary
file (mode 0600, named by nothing the client sent, so no client name or suffix ever decides
how the bytes are read), stops with 413 as soon as the limit is passed, and deletes the file
when the block ends, whatever happens. A request that declares a body larger than the limit
is refused before any of it is read (``refuse_large_body``).

``read_form_in_memory`` is for bytes that must never touch a disk in clear (hotline
captures): the multipart parser keeps the file part in memory whatever its size, within the
limit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.types import Message

from safelight.errors import UsageError

BLOCK = 1 << 20
# Room for the multipart framing and small form fields around the file itself.
FORM_OVERHEAD = 64 * 1024


def too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the upload is larger than the limit of {limit} bytes")


def refuse_large_body(request: Request, limit: int) -> None:
    """413 at once when Content-Length already says the body is over the limit."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise too_large(limit)


async def read_form(request: Request, limit: int) -> FormData:
    """The multipart form, read only after the route's access check passed, and never past
    ``limit`` (plus the framing) even when no Content-Length was sent: 413 at that point.
    The caller closes it (``await form.close()``)."""
    refuse_large_body(request, limit)
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit + FORM_OVERHEAD:
                raise too_large(limit)
        return message

    limited = Request(request.scope, receive)
    return await limited.form(max_files=1, max_fields=20)


async def read_form_in_memory(request: Request, limit: int) -> FormData:
    """The multipart form with its file part held in memory only (never spooled to a
    temporary file), read no further than ``limit`` plus the framing: 413 beyond. The
    caller closes it."""
    refuse_large_body(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise UsageError("send the file as multipart/form-data, field 'file'", field="file")
    ceiling = limit + FORM_OVERHEAD

    async def bounded() -> AsyncGenerator[bytes, None]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > ceiling:
                raise too_large(limit)
            yield chunk

    parser = MultiPartParser(request.headers, bounded(), max_files=1, max_fields=20)
    parser.spool_max_size = ceiling + 1  # SpooledTemporaryFile: stays in memory below this
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise UsageError(f"malformed multipart form: {exc.message}", field="file") from None


def form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, str):
        return value.strip() or None if value else None
    raise UsageError(f"form field {name!r} must be text, not a file", field=name)


def form_file(form: FormData) -> UploadFile:
    value = form.get("file")
    if not isinstance(value, UploadFile):
        raise UsageError("send the file as a multipart form field named 'file'", field="file")
    return value


@contextmanager
def saved_upload(upload: UploadFile, limit: int) -> Iterator[Path]:
    """The upload's bytes in a temporary file, for the duration of the block."""
    handle, name = tempfile.mkstemp(prefix="safelight-upload-")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            written = 0
            upload.file.seek(0)
            while block := upload.file.read(BLOCK):
                written += len(block)
                if written > limit:
                    raise too_large(limit)
                out.write(block)
        yield path
    finally:
        path.unlink(missing_ok=True)
        upload.file.close()
