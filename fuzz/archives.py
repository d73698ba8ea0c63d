"""Zip and tar walking (plain, gz, bz2, xz, zst, nested): every problem is a failed item."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zipfile

import zstandard

from safelight.scan.archives import ArchiveLimits, ArchiveReader, sniff

from .common import NAME, check

# Small limits keep one input cheap and put the limits themselves within the fuzzer's reach.
LIMITS = ArchiveLimits(
    max_ratio=50, max_member_bytes=1 << 20, max_archive_bytes=4 << 20, max_depth=3, max_members=64
)


def TestOneInput(data: bytes) -> None:  # noqa: N802 - the name atheris calls
    fmt = sniff(data[:512])
    if fmt is None:
        return
    items = list(ArchiveReader(LIMITS).expand(NAME, fmt, lambda: io.BytesIO(data)))
    paths = [item.logical_path for item in items]
    check(len(paths) == len(set(paths)), f"two items share a path: {paths}")
    for item in items:
        check(item.logical_path.startswith(NAME), f"item outside: {item.logical_path!r}")
        if item.kind == "digested":  # over the member limit: its digests, never its bytes
            check(item.data is None and item.record is not None, "digested item holds bytes")
        elif item.error is None:
            check(item.data is not None and len(item.data) <= LIMITS.max_member_bytes, "big item")


def _tar(files: dict[str, bytes], mode: str = "w") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:  # type: ignore[call-overload]
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    # Drop the zero padding after the two end-of-archive blocks: a small seed is still valid.
    data = out.getvalue().rstrip(b"\0")
    return data + b"\0" * (-len(data) % 512 + 1024)


def _zip(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def seeds() -> dict[str, bytes]:
    files = {"a.txt": b"hello\n", "dir/b.bin": bytes(range(64))}
    tar = _tar(files)
    return {
        "zip": _zip(files),
        "zip-stored": _zip(files, zipfile.ZIP_STORED),
        "zip-nested": _zip({"inner.zip": _zip(files), "x.txt": b"x"}),
        "zip-unsafe": _zip({"../up.txt": b"x", "/abs.txt": b"y"}),
        "tar": tar,
        "tar-gz": gzip.compress(tar, mtime=0),
        "tar-bz2": bz2.compress(tar),
        "tar-xz": lzma.compress(tar),
        "tar-zst": zstandard.ZstdCompressor().compress(tar),
        "gz": gzip.compress(b"just one file\n", mtime=0),
    }
