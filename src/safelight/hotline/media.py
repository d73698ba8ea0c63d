"""Captures of reported items: opt-in, sealed at rest, hashed at ingest, deleted on time.

Safelight never fetches reported content. Media enter only when an analyst attaches a
capture (a screenshot, or a short screen recording) to an item, and only where the
organisation opted in (``MediaPolicy.enabled``); hashes come first either way. A capture is:

- held in memory only: never written to a temporary file, stored solely Fernet-sealed
  (``hotline.sealing``), the original and its poster alike; refused without a key;
- sniffed from its bytes (``signals.sniff``): PNG, JPEG or WebP screenshots, MP4 or WebM
  recordings; anything else, a decompression bomb, a truncated file or a recording over the
  length limit is refused with a MediaError naming what is wrong;
- hashed with the project's signals (SHA-256, MD5, and PDQ or vPDQ), recorded beside it, so
  the item's hashes can be fed from it (``Capture.hash_values``);
- deleted ``retention`` after it was attached (``purge_expired``; reads never return an
  expired capture even before the purge ran).

Every act is audited: attach (``hotline.capture.add``) and retention (``.purge``) here;
reveals in ``hotline.wellness``. Whether an item's material needs viewing at all is
``hotline.known.needs_viewing``'s to say (known material is never shown again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from safelight.constants import (
    HOTLINE_CAPTURE_IMAGE_FORMATS,
    HOTLINE_CAPTURE_MAX_PIXELS,
    HOTLINE_CAPTURE_VIDEO_FORMATS,
)
from safelight.errors import (
    ConflictError,
    InputError,
    MediaError,
    NotFoundError,
    PermissionDeniedError,
)
from safelight.hotline.media_render import Decoded, decode_image, decode_video
from safelight.hotline.sealing import Sealer
from safelight.signals.files import hash_bytes
from safelight.signals.options import HashOptions
from safelight.signals.records import HashRecord
from safelight.signals.sniff import SNIFF_BYTES, sniff_bytes
from safelight.signals.types import vpdq_feature, vpdq_value
from safelight.store import Database
from safelight.store.hotline_media_tables import hotline_captures, hotline_viewings
from safelight.store.hotline_tables import hotline_items

if TYPE_CHECKING:  # the service imports the hotline, never the reverse at run time
    from safelight.service.audit import AuditLog

CAPTURE_SIGNALS = frozenset({"sha256", "md5", "pdq", "vpdq"})
PURGE_EVERY = timedelta(hours=1)
ACCEPTED = "a PNG, JPEG or WebP screenshot or an MP4 or WebM screen recording"


@dataclass(frozen=True)
class MediaPolicy:
    """The organisation's choices about captures (from the service settings)."""

    enabled: bool
    keys: str | None
    max_bytes: int
    max_seconds: float
    retention: timedelta
    max_pixels: int = HOTLINE_CAPTURE_MAX_PIXELS


@dataclass(frozen=True)
class Capture:
    """A capture's record, without its bytes."""

    id: int
    item_id: int
    kind: str  # "image" or "video"
    format: str
    size: int
    width: int
    height: int
    seconds: float | None
    sha256: str
    md5: str
    pdq: str | None
    pdq_quality: int | None
    vpdq: str | None
    note: str
    created_at: datetime
    created_by: str
    delete_after: datetime

    @property
    def content_type(self) -> str:
        return {**HOTLINE_CAPTURE_IMAGE_FORMATS, **HOTLINE_CAPTURE_VIDEO_FORMATS}[self.format]

    def hash_values(self) -> dict[str, str]:
        """The capture's signals as list values (``sha256``, ``md5``, ``pdq`` or ``vpdq``)."""
        values = {"sha256": self.sha256, "md5": self.md5}
        if self.pdq is not None:
            values["pdq"] = self.pdq
        if self.vpdq is not None:
            values["vpdq"] = self.vpdq
        return values

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "item_id": self.item_id,
            "kind": self.kind,
            "format": self.format,
            "content_type": self.content_type,
            "size": self.size,
            "width": self.width,
            "height": self.height,
            "seconds": self.seconds,
            "hashes": self.hash_values(),
            "pdq_quality": self.pdq_quality,
            "note": self.note,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "delete_after": self.delete_after.isoformat(),
        }


CAPTURE_COLUMNS = [c for c in hotline_captures.c if c.name not in ("sealed", "poster")]


def _capture(row: Any) -> Capture:
    m = row._mapping
    return Capture(
        id=m["id"],
        item_id=m["item_id"],
        kind=m["kind"],
        format=m["format"],
        size=m["size"],
        width=m["width"],
        height=m["height"],
        seconds=m["duration_seconds"],
        sha256=m["sha256"],
        md5=m["md5"],
        pdq=m["pdq"],
        pdq_quality=m["pdq_quality"],
        vpdq=m["vpdq"],
        note=m["note"],
        created_at=m["created_at"],
        created_by=m["created_by"],
        delete_after=m["delete_after"],
    )


class CaptureStore:
    """Captures in the store."""

    def __init__(
        self,
        db: Database,
        policy: MediaPolicy,
        *,
        audit: AuditLog,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.policy = policy
        self.audit = audit
        self.clock = clock
        self._sealer = Sealer(policy.keys) if policy.keys else None
        self._purged_at: datetime | None = None

    # --- attach --------------------------------------------------------------------------

    def add(self, item_id: int, data: bytes, *, by: str, note: str = "") -> Capture:
        """Attach ``data`` to item ``item_id``: checked, hashed, sealed, audited."""
        sealer = self.check_writable()
        self._check_size(data)
        with self.db.connect() as conn:
            self._require_item(conn, item_id)
        kind, fmt = self._sniff(data)
        decoded = self._decode(kind, fmt, data)
        record = self._hash(data)
        self._check_length(decoded, record)
        now, sha256 = self.clock(), record.digests["sha256"]
        row: dict[str, Any] = {
            "item_id": item_id,
            "kind": kind,
            "format": fmt,
            "size": len(data),
            "width": decoded.width,
            "height": decoded.height,
            "duration_seconds": decoded.seconds,
            "sha256": sha256,
            "md5": record.digests["md5"],
            "pdq": record.pdq.hex if record.pdq else None,
            "pdq_quality": record.pdq.quality if record.pdq else None,
            "vpdq": _vpdq(record),
            "note": note.strip()[:2000],
            "sealed": sealer.seal(data),
            "poster": sealer.seal(decoded.poster_png),
            "created_at": now,
            "created_by": by,
            "delete_after": now + self.policy.retention,
        }
        try:
            with self.db.begin() as conn:
                self._refuse_duplicate(conn, item_id, sha256)
                capture_id = conn.execute(
                    insert(hotline_captures).returning(hotline_captures.c.id), row
                ).scalar_one()
                details = {"capture": capture_id, "kind": kind, "format": fmt}
                details.update(size=len(data), sha256=sha256)
                self.audit.record(by, "hotline.capture.add", f"item:{item_id}", details, conn=conn)
        except IntegrityError:  # a concurrent upload of the same bytes won the race
            raise self._duplicate(item_id, sha256) from None
        self.maybe_purge()
        return self.get(item_id, capture_id)

    def check_writable(self) -> Sealer:
        if not self.policy.enabled:
            raise PermissionDeniedError(
                "this organisation has not opted in to storing captures (setting "
                "hotline_media_enabled): record the item's hashes instead",
                code="media_disabled",
            )
        if self._sealer is None:
            raise PermissionDeniedError(
                "captures are stored only encrypted, and no hotline_media_key is set",
                code="media_key_missing",
            )
        return self._sealer

    def _check_size(self, data: bytes) -> None:
        if not data:
            raise InputError("the capture is empty (0 bytes)", code="empty_file", field="file")
        if len(data) > self.policy.max_bytes:
            raise InputError(
                f"the capture is {len(data):,} bytes, over the limit of "
                f"{self.policy.max_bytes:,} bytes (setting hotline_media_max_bytes)",
                code="too_large",
                field="file",
            )

    @staticmethod
    def _require_item(conn: Connection, item_id: int) -> None:
        found = conn.execute(select(hotline_items.c.id).where(hotline_items.c.id == item_id))
        if found.first() is None:
            raise NotFoundError(f"item {item_id} does not exist", code="unknown_item")

    @staticmethod
    def _sniff(data: bytes) -> tuple[str, str]:
        sniffed = sniff_bytes(data[:SNIFF_BYTES])
        if sniffed is not None and sniffed.format in HOTLINE_CAPTURE_IMAGE_FORMATS:
            return "image", sniffed.format
        if sniffed is not None and sniffed.format in HOTLINE_CAPTURE_VIDEO_FORMATS:
            return "video", sniffed.format
        what = f"a {sniffed.format} file" if sniffed and sniffed.format else "no known format"
        raise MediaError(
            f"file: a capture must be {ACCEPTED}; these bytes are {what}",
            code="not_media" if sniffed is None else "unsupported_format",
            path="file",
        )

    def _decode(self, kind: str, fmt: str, data: bytes) -> Decoded:
        if kind == "image":
            return decode_image(data, fmt, "file", self.policy.max_pixels)
        decoded = decode_video(data, "file", self.policy.max_pixels)
        self._check_seconds(decoded.seconds)
        return decoded

    def _hash(self, data: bytes) -> HashRecord:
        options = HashOptions(signals=CAPTURE_SIGNALS, max_pixels=self.policy.max_pixels)
        record = hash_bytes(data, "file", options)
        if record.error is not None:
            raise MediaError(record.error.message, code=record.error.code, path="file")
        return record

    def _check_length(self, decoded: Decoded, record: HashRecord) -> None:
        if record.vpdq:  # the container may not declare a duration: the frames tell
            self._check_seconds(max(feature.timestamp for feature in record.vpdq))

    def _check_seconds(self, seconds: float | None) -> None:
        if seconds is not None and seconds > self.policy.max_seconds:
            raise InputError(
                f"file: the recording lasts {seconds:.0f} s, over the limit of "
                f"{self.policy.max_seconds:.0f} s (setting hotline_media_max_seconds)",
                code="too_long",
                field="file",
            )

    def _refuse_duplicate(self, conn: Connection, item_id: int, sha256: str) -> None:
        found = conn.execute(
            select(hotline_captures.c.id).where(
                hotline_captures.c.item_id == item_id, hotline_captures.c.sha256 == sha256
            )
        ).first()
        if found is not None:
            raise self._duplicate(item_id, sha256)

    @staticmethod
    def _duplicate(item_id: int, sha256: str) -> ConflictError:
        return ConflictError(
            f"this capture (SHA-256 {sha256[:16]}...) is already attached to item {item_id}",
            code="duplicate_capture",
        )

    # --- read ----------------------------------------------------------------------------

    def list(self, item_id: int) -> list[Capture]:
        """The item's captures that are still kept, oldest first."""
        self.maybe_purge()
        with self.db.connect() as conn:
            self._require_item(conn, item_id)
            rows = conn.execute(
                select(*CAPTURE_COLUMNS)
                .where(
                    hotline_captures.c.item_id == item_id,
                    hotline_captures.c.delete_after > self.clock(),
                )
                .order_by(hotline_captures.c.id)
            )
            return [_capture(row) for row in rows]

    def get(self, item_id: int, capture_id: int) -> Capture:
        with self.db.connect() as conn:
            row = conn.execute(
                select(*CAPTURE_COLUMNS).where(
                    hotline_captures.c.id == capture_id,
                    hotline_captures.c.item_id == item_id,
                    hotline_captures.c.delete_after > self.clock(),
                )
            ).first()
        if row is None:
            raise NotFoundError(
                f"item {item_id} has no capture {capture_id} (or it has expired)",
                code="unknown_capture",
            )
        return _capture(row)

    def original(self, capture: Capture) -> bytes:
        """The capture's bytes, opened in memory (serve only within a reveal)."""
        return self._open(capture, hotline_captures.c.sealed, "original")

    def poster(self, capture: Capture) -> bytes:
        """The capture's poster (PNG), opened in memory: render previews from it."""
        return self._open(capture, hotline_captures.c.poster, "poster")

    def _open(self, capture: Capture, column: Any, what: str) -> bytes:
        if self._sealer is None:
            raise PermissionDeniedError(
                "captures cannot be opened: no hotline_media_key is set", code="media_key_missing"
            )
        with self.db.connect() as conn:
            sealed = conn.execute(
                select(column).where(hotline_captures.c.id == capture.id)
            ).scalar_one_or_none()
        if sealed is None:
            raise NotFoundError(f"capture {capture.id} has expired", code="unknown_capture")
        return self._sealer.open(bytes(sealed), f"the {what} of capture {capture.id}")

    # --- retention -----------------------------------------------------------------------

    def maybe_purge(self) -> None:
        """``purge_expired`` at most once per ``PURGE_EVERY`` in this process."""
        now = self.clock()
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            self.purge_expired()

    def purge_expired(self, *, by: str = "system:retention") -> int:
        """Delete every capture past its ``delete_after`` (bytes, poster and hashes); the
        viewing time spent on them stays. Audited when anything was deleted."""
        now = self.clock()
        with self.db.begin() as conn:
            expired = [
                row.id
                for row in conn.execute(
                    select(hotline_captures.c.id).where(hotline_captures.c.delete_after <= now)
                )
            ]
            if not expired:
                return 0
            conn.execute(
                update(hotline_viewings)
                .where(hotline_viewings.c.capture_id.in_(expired))
                .values(capture_id=None)
            )
            conn.execute(delete(hotline_captures).where(hotline_captures.c.id.in_(expired)))
            details = {"captures": expired, "before": now.isoformat()}
            self.audit.record(by, "hotline.capture.purge", "captures", details, conn=conn)
        return len(expired)


def _vpdq(record: HashRecord) -> str | None:
    if not record.vpdq:
        return None
    features = [vpdq_feature(f.pdq, f.quality, f.timestamp) for f in record.vpdq]
    return vpdq_value(features).value
