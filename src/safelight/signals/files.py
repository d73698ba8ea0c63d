"""Hash one file (or one blob of bytes) into a HashRecord: digests, media kind, PDQ or vPDQ.

A bad file becomes a record with ``error`` set, never an exception: batches go on. The bytes
read for the digests are the bytes the decoder sees (one read per file).
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
from types import ModuleType
from typing import Any

from safelight.errors import ItemError, MediaError
from safelight.signals.digests import FileRead, digest_bytes, read_file
from safelight.signals.options import HashOptions
from safelight.signals.photo import hash_photo
from safelight.signals.records import HashRecord
from safelight.signals.sniff import SNIFF_BYTES, Sniffed, media_from_name, sniff_bytes

log = logging.getLogger(__name__)

VIDEO_MODULE = "safelight.signals.video"


def hash_file(path: str | os.PathLike[str], options: HashOptions | None = None) -> HashRecord:
    """Hash the file at ``path``; every failure is recorded in the returned record."""
    path = os.fspath(path)
    options = options or HashOptions()
    try:
        read = read_file(
            path, options.digests, in_memory_limit=options.in_memory_limit, head_bytes=SNIFF_BYTES
        )
    except MediaError as exc:
        return HashRecord(path, media_from_name(path), error=ItemError.from_exception(exc))
    return _guarded(path, read, path, options)


def hash_bytes(data: bytes, name: str, options: HashOptions | None = None) -> HashRecord:
    """Hash bytes already in memory (an archive member, an upload); ``name`` labels it."""
    options = options or HashOptions()
    read = FileRead(len(data), digest_bytes(data, options.digests), data, data[:SNIFF_BYTES])
    return _guarded(name, read, None, options)


def _guarded(name: str, read: FileRead, path: str | None, options: HashOptions) -> HashRecord:
    sniffed = sniff_bytes(read.head) if read.size else None
    base = HashRecord(
        name,
        sniffed.media if sniffed else media_from_name(name),
        size=read.size,
        digests=read.digests,
        format=sniffed.format if sniffed else None,
    )
    try:
        return _hash_content(base, read, path, sniffed, options)
    except MediaError as exc:
        return _with(base, error=ItemError.from_exception(exc))
    except Exception as exc:  # noqa: BLE001 - one file's bug must not end a batch of millions
        log.error("unexpected failure hashing %s", name, exc_info=True)
        message = f"{name}: unexpected {type(exc).__name__} while hashing: {exc}"
        return _with(base, error=ItemError("internal", message))


def _with(record: HashRecord, **changes: Any) -> HashRecord:
    return dataclasses.replace(record, **changes)


def _hash_content(
    base: HashRecord,
    read: FileRead,
    path: str | None,
    sniffed: Sniffed | None,
    options: HashOptions,
) -> HashRecord:
    name = base.path
    if read.size == 0:
        if base.media == "other":
            return base
        raise MediaError(f"{name}: empty file (0 bytes)", code="empty_file", path=name)
    if sniffed is None:
        if base.media == "photo":
            raise MediaError(
                f"{name}: named like a photo but its bytes are not a known image format "
                f"(starts with {read.head[:8]!r})",
                code="not_media",
                path=name,
            )
        if base.media == "video":
            # FFmpeg probes more containers than we sniff: let the video decoder decide.
            return _hash_video(base, read, path, options)
        return base
    if sniffed.media == "video":
        return _hash_video(base, read, path, options)
    if not (options.wants_pdq or options.all_frames):
        return base
    source: bytes | str | None = read.data if read.data is not None else path
    if source is None:  # pragma: no cover - hash_bytes always has data
        raise MediaError(f"{name}: no bytes to decode", path=name)
    photo = hash_photo(source, sniffed.format or "", name, options)
    return _with(
        base,
        width=photo.width,
        height=photo.height,
        pdq=photo.pdq,
        pdq8=photo.pdq8,
        frames=photo.frames,
        frames_complete=photo.frames_complete,
    )


def _video_module() -> ModuleType | None:
    """The vPDQ module if this build has it (it lands from a parallel branch)."""
    try:
        return importlib.import_module(VIDEO_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != VIDEO_MODULE:
            raise
        return None


def _hash_video(
    base: HashRecord, read: FileRead, path: str | None, options: HashOptions
) -> HashRecord:
    name, fmt = base.path, base.format
    if not options.wants_vpdq:
        return base
    module = _video_module()
    if module is None:
        if fmt is None:
            raise MediaError(
                f"{name}: named like a video but its bytes are not a known video container "
                f"(starts with {read.head[:8]!r})",
                code="corrupt_video",
                path=name,
            )
        raise MediaError(
            f"{name}: {fmt} video, but this build has no vPDQ video hashing",
            code="unsupported_format",
            path=name,
        )
    source = path if path is not None else read.data
    features = module.hash_video(
        source,
        seconds_per_hash=options.seconds_per_hash,
        max_pixels=options.max_pixels,
        name=name,
    )
    return _with(base, vpdq=tuple(features))
