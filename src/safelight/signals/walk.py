"""The one folder walker of ``hash -r``, ``match -r`` and ``scan``, with one rule for links.

It lives in ``safelight.signals`` because that is the lower layer: turning files into records
is what signals owns, and scan is built on signals (scan imports signals, never the reverse),
so every front can share this walker without an import cycle.

The rule for links, the same everywhere:

* every file and every folder is visited at most once per walk, by (device, inode), however
  many links or hard links lead to it: links cannot multiply the work (15 folders each holding
  two links to the next made one file 32,768 items) and every loop ends;
* a path the caller names is followed even when it is a link: it is a root of the walk;
* inside a root, links are followed only with ``follow_links``. Without it a link whose target
  lies inside the root is skipped, because the target is visited under its own name anyway,
  and a link leaving the root is a ``link_outside_root`` item error, so the skip is visible
  and nothing outside what was named is read;
* a link back to a folder being walked (an ancestor) is a ``symlink_loop`` error, as is a link
  that resolves to itself; a link to nothing is ``unreadable``;
* a FIFO, socket or device is a ``not_regular_file`` error: it is never opened (a FIFO would
  block the walk).

Folders are listed in name order and walked depth first, each entry where its name sorts, so
the order is stable between runs. The walk keeps an explicit stack, so depth costs no recursion.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from safelight.errors import ItemError

FileKey = tuple[int, int]  # (st_dev, st_ino)


@dataclass(frozen=True, slots=True)
class Found:
    """A regular file (``info`` set) or a path that could not be walked (``error`` set)."""

    path: str
    info: os.stat_result | None = None
    error: ItemError | None = None

    @classmethod
    def failed(cls, path: str, code: str, message: str) -> Found:
        return cls(path, error=ItemError(code, message))


def _key(info: os.stat_result) -> FileKey:
    return (info.st_dev, info.st_ino)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(slots=True)
class _Folder:
    path: str
    key: FileKey
    entries: Iterator[str]


class Walker:
    """Walks roots with one memory of what was visited: share one per scan or hash run."""

    def __init__(self, *, follow_links: bool = False) -> None:
        self.follow_links = follow_links
        self._seen: set[FileKey] = set()

    def claim(self, info: os.stat_result) -> bool:
        """Record a visit of ``info``'s file; False if this walk has visited it already."""
        key = _key(info)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def walk(self, path: str) -> Iterator[Found]:
        """The regular files under ``path`` (or ``path`` itself), each at most once."""
        try:
            info = os.stat(path)
        except OSError as exc:
            yield _stat_failed(path, exc)
            return
        if stat.S_ISDIR(info.st_mode):
            yield from self.tree(path, info)
        else:
            # A file the caller named is always given back (the caller asked for it).
            self.claim(info)
            yield _regular(path, info)

    def tree(self, top: str, info: os.stat_result) -> Iterator[Found]:
        """The regular files inside folder ``top`` (stat ``info``), recursively."""
        if not self.claim(info):
            return  # named twice, or inside a root walked already
        root = os.path.realpath(top)
        stack = [_Folder(top, _key(info), iter(()))]
        ancestors = {_key(info): top}
        failure = _list_into(stack[0])
        if failure is not None:
            yield failure
        while stack:
            folder = stack[-1]
            name = next(folder.entries, None)
            if name is None:
                stack.pop()
                ancestors.pop(folder.key, None)
                continue
            path = os.path.join(folder.path, name)
            found, sub = self._entry(path, root, ancestors)
            if found is not None:
                yield found
            if sub is not None:
                stack.append(sub)
                ancestors[sub.key] = sub.path
                failure = _list_into(sub)
                if failure is not None:
                    yield failure

    def _entry(
        self, path: str, root: str, ancestors: dict[FileKey, str]
    ) -> tuple[Found | None, _Folder | None]:
        """What one folder entry gives: a file or an error to report, a folder to enter."""
        try:
            own = os.lstat(path)
            info = os.stat(path) if stat.S_ISLNK(own.st_mode) else own
        except OSError as exc:
            return _stat_failed(path, exc), None
        is_dir = stat.S_ISDIR(info.st_mode)
        if is_dir and _key(info) in ancestors:
            message = f"{path}: link back to {ancestors[_key(info)]}, which is being walked"
            return Found.failed(path, "symlink_loop", message), None
        if stat.S_ISLNK(own.st_mode) and not self.follow_links:
            target = os.path.realpath(path)
            if _inside(target, root):
                return None, None  # visited under its own name
            message = (
                f"{path}: link to {target}, outside the folder being walked; "
                "not followed (following links is off)"
            )
            return Found.failed(path, "link_outside_root", message), None
        if not self.claim(info):
            return None, None
        if is_dir:
            return None, _Folder(path, _key(info), iter(()))
        return _regular(path, info), None


def _regular(path: str, info: os.stat_result) -> Found:
    if stat.S_ISREG(info.st_mode):
        return Found(path, info)
    return Found.failed(path, "not_regular_file", f"{path}: not a regular file")


def _stat_failed(path: str, exc: OSError) -> Found:
    code = "symlink_loop" if exc.errno == errno.ELOOP else "unreadable"
    return Found.failed(path, code, f"{path}: cannot open: {exc.strerror or exc}")


def _list_into(folder: _Folder) -> Found | None:
    """Fill ``folder.entries`` with its sorted names; the error if it cannot be listed."""
    try:
        names = sorted(os.listdir(folder.path))
    except OSError as exc:
        return Found.failed(
            folder.path, "unreadable", f"{folder.path}: cannot list folder: {exc.strerror or exc}"
        )
    folder.entries = iter(names)
    return None
