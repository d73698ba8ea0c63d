"""Output paths: one rule for every file or folder a command writes (``-o``, ``--out``,
``--problems``).

Missing parent folders are created. A path that cannot be created or written is a
``UsageError`` naming it (with ``field``, the library parameter it came from, when the caller
gives one, so a front can name its own flag), never a traceback. ``atomic_text`` writes
beside its target and renames into place when complete, so a failure never leaves a
half-written file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from safelight.errors import UsageError


def cannot_write(path: Path, exc: OSError, field: str | None = None) -> UsageError:
    """The error for an output path the system refused, with the system's reason."""
    return UsageError(f"cannot write {path}: {exc.strerror or exc}", field=field)


def prepare_parent(path: Path, field: str | None = None) -> None:
    """Create the folders above ``path`` that are missing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create folder {path.parent} for {path}: {exc.strerror or exc}", field=field
        ) from None


def prepare_file(path: Path, field: str | None = None) -> None:
    """The rule for an output file: not a folder; the missing folders above it created."""
    if path.is_dir():
        raise UsageError(f"{path} is a folder: name a file", field=field)
    prepare_parent(path, field)


@contextmanager
def open_text(path: Path) -> Iterator[TextIO]:
    """``path`` opened for writing (parents created); written as it goes, for logs that must
    survive a failure of the work they record (an import's problems file)."""
    prepare_parent(path)
    try:
        handle = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise cannot_write(path, exc) from None
    with handle:
        yield handle


@contextmanager
def atomic_text(path: Path) -> Iterator[TextIO]:
    """A text file written beside ``path`` (parents created) and renamed into place when
    the block completes; on any failure the earlier file, if any, is left as it was."""
    prepare_parent(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            yield out
        try:
            os.replace(temporary, path)
        except OSError as exc:
            raise cannot_write(path, exc) from None
    except BaseException:
        os.unlink(temporary)
        raise
