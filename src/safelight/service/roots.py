"""Which server-side sources an API caller may name: those under the ``scan_roots`` setting.

Why: the service reads with its own rights (its files, its cloud credentials). Without a
fence, anyone allowed to start a scan or an ingest could make it read any file it can reach
(keys, other teams' evidence, ``/proc``), learn that a path exists, or pull data from a
bucket the caller has no right to. So a source must lie under a configured root: a folder
(the source's real path, links and ``..`` resolved, must be inside the root's real path) or a
URI prefix (``s3://evidence/incoming/``: the source must start with it, and ``..`` segments
are refused). No roots configured: no server-side sources at all (uploads still work).
Scans do not follow links that leave a folder (``follow_links`` stays off), so a link inside
a root cannot lead outside it either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from safelight.errors import PermissionDeniedError, UsageError


def is_uri(text: str) -> bool:
    return "://" in text


def allowed_source(source: str, roots: Sequence[str]) -> str:
    """``source`` as the scan should read it (a real path, or the URI), or 403 naming it."""
    if not source.strip():
        raise UsageError("a source cannot be empty", field="sources")
    if not roots:
        raise PermissionDeniedError(
            "this service reads no server-side paths (no scan_roots are configured)",
            code="source_not_allowed",
        )
    if is_uri(source):
        if ".." in source.split("/"):
            raise PermissionDeniedError(
                f"{source!r}: '..' is not allowed", code="source_not_allowed"
            )
        for root in roots:
            if is_uri(root) and (source == root or source.startswith(root.rstrip("/") + "/")):
                return source
    else:
        real = os.path.realpath(source)
        for root in roots:
            if is_uri(root):
                continue
            base = os.path.realpath(root)
            if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
                return real
    raise PermissionDeniedError(
        f"{source!r} is outside the folders this service may read (scan_roots)",
        code="source_not_allowed",
    )
